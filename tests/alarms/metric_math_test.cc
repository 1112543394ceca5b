#include "alarms/metric_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>

namespace cutover::alarms {
namespace {

constexpr std::optional<double> kMissing = std::nullopt;

struct EvalRow {
  const char* expression;
  std::optional<double> expected;
};

// Values: errors = 5, invocations = 200, zero = 0, gap = missing, a = 2, b = 3, c = 4.
const Expression::Values kValues = {{"errors", 5.0}, {"invocations", 200.0},
                                    {"zero", 0.0},   {"gap", std::nullopt},
                                    {"a", 2.0},      {"b", 3.0},
                                    {"c", 4.0}};

const EvalRow kEvalRows[] = {
    {"1 + 2 * 3", 7},
    {"(1 + 2) * 3", 9},
    {"a - b - c", -5},  // left-associative
    {"c / a / a", 1},   // left-associative
    {"-a", -2},
    {"--a", 2},
    {"a - -b", 5},
    {"2 * -b", -6},
    {"+a", 2},
    {"100 * errors / invocations", 2.5},
    {"1e3", 1000},
    {".5 + 0.25", 0.75},
    {"2.5E-1", 0.25},
    {"  a\t*\n b ", 6},
    {"errors / zero", kMissing},  // division by zero -> missing
    {"a + gap", kMissing},        // missing operand -> missing
    {"nosuchid", kMissing},       // unknown id -> missing
    {"-gap", kMissing},
    {"FILL(gap, 0) + a", 2},
    {"FILL(gap, -1.5)", -1.5},
    {"FILL(a, 7)", 2},              // not missing: unchanged
    {"FILL(errors / zero, 0)", 0},  // FILL of a whole expression
    {"100 * FILL(errors, 0) / FILL(invocations, 1)", 2.5},
    {"FILL(gap, 1) / FILL(gap, 0)", kMissing},
    {"1e308 * 10", kMissing},  // non-finite -> missing
    {"((((a))))", 2},
};

class MetricMathEvalTest : public ::testing::TestWithParam<EvalRow> {};

TEST_P(MetricMathEvalTest, Evaluates) {
  const EvalRow& row = GetParam();
  Result<Expression> parsed = Expression::Parse(row.expression);
  ASSERT_TRUE(parsed.ok()) << row.expression << ": " << parsed.status().ToString();
  std::optional<double> value = parsed->Evaluate(kValues);
  if (!row.expected.has_value()) {
    EXPECT_FALSE(value.has_value()) << row.expression << " = " << *value;
  } else {
    ASSERT_TRUE(value.has_value()) << row.expression;
    EXPECT_DOUBLE_EQ(*value, *row.expected) << row.expression;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MetricMathEvalTest, ::testing::ValuesIn(kEvalRows));

TEST(MetricMathTest, IdsAreSortedAndUnique) {
  Result<Expression> parsed = Expression::Parse("m2 / FILL(m1, 0) + m2 * e_1");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ids(), (std::vector<std::string>{"e_1", "m1", "m2"}));
  EXPECT_EQ(parsed->text(), "m2 / FILL(m1, 0) + m2 * e_1");
  // Renumbering after sorting keeps each op on its own id.
  EXPECT_DOUBLE_EQ(*parsed->Evaluate({{"m1", 4.0}, {"m2", 8.0}, {"e_1", 0.5}}), 8.0 / 4.0 + 4.0);
}

struct ErrorRow {
  std::string expression;
  std::string message;  // the exact Status message
};

const ErrorRow kErrorRows[] = {
    {"", "position 1: the expression is empty"},
    {"   ", "position 4: the expression is empty"},
    {"a +",
     "position 4: expected a number, a query id, '(' or FILL(...), got the end of the "
     "expression"},
    {"a + * b", "position 5: expected a number, a query id, '(' or FILL(...), got '*'"},
    {"(a",
     "position 3: expected ')' to close the '(' at position 1, got the end of the expression"},
    {"a)", "position 2: expected an operator (+ - * /), got ')'"},
    {"a b", "position 3: expected an operator (+ - * /), got 'b'"},
    {"1.2.3", "position 4: expected an operator (+ - * /), got '.'"},
    {"12abc", "position 1: malformed number '12abc'"},
    {"1e", "position 2: an exponent needs digits"},
    {".", "position 1: a number needs at least one digit"},
    {"a # b", "position 3: expected an operator (+ - * /), got '#'"},
    {"a\x01", "position 2: expected an operator (+ - * /), got byte 0x01"},
    {"SUM(METRICS())",
     "position 1: unsupported function or name 'SUM' (cutover's metric math has numbers, query "
     "ids, "
     "+ - * /, parentheses and FILL(id, value); query ids start with a lowercase letter)"},
    {"a + Errors",
     "position 5: unsupported function or name 'Errors' (cutover's metric math has "
     "numbers, query ids, + - * /, parentheses and FILL(id, value); query ids start "
     "with a lowercase letter)"},
    {"FILL(a, REPEAT)",
     "position 9: FILL(..., REPEAT) is not supported: the value must be a constant number"},
    {"FILL(a, b)", "position 9: FILL's second argument must be a constant number, got 'b'"},
    {"FILL(a)", "position 7: expected ',' between FILL's arguments, got ')'"},
    {"FILL a", "position 6: expected '(' after FILL, got 'a'"},
    {"FILL(a, 0",
     "position 10: expected ')' to close the FILL at position 1, got the end of the "
     "expression"},
    {"1e999", "position 1: number '1e999' is too large"},
};

class MetricMathErrorTest : public ::testing::TestWithParam<ErrorRow> {};

TEST_P(MetricMathErrorTest, NamesThePosition) {
  const ErrorRow& row = GetParam();
  Result<Expression> parsed = Expression::Parse(row.expression);
  ASSERT_FALSE(parsed.ok()) << row.expression;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), row.message);
}

INSTANTIATE_TEST_SUITE_P(Table, MetricMathErrorTest, ::testing::ValuesIn(kErrorRows));

TEST(MetricMathTest, NestingIsCapped) {
  std::string ok = std::string(64, '(') + "a" + std::string(64, ')');
  EXPECT_TRUE(Expression::Parse(ok).ok());
  std::string deep = std::string(65, '(') + "a" + std::string(65, ')');
  Result<Expression> parsed = Expression::Parse(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "position 65: the expression nests more than 64 levels deep");
  // Unary signs and FILLs count too; none of this recurses past the cap.
  EXPECT_FALSE(Expression::Parse(std::string(65, '-') + "a").ok());
  EXPECT_TRUE(Expression::Parse(std::string(64, '-') + "a").ok());
  std::string fills;
  for (int i = 0; i < 65; ++i) fills += "FILL(";
  fills += "a";
  for (int i = 0; i < 65; ++i) fills += ", 0)";
  EXPECT_FALSE(Expression::Parse(fills).ok());
}

TEST(MetricMathTest, LengthIsCapped) {
  std::string at_limit = "a" + std::string(Expression::kMaxLength - 1, ' ');
  EXPECT_TRUE(Expression::Parse(at_limit).ok());
  Result<Expression> parsed = Expression::Parse(at_limit + " ");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "position 2049: the expression is longer than 2048 characters");
}

TEST(MetricMathTest, QueryIds) {
  EXPECT_TRUE(IsValidQueryId("m1"));
  EXPECT_TRUE(IsValidQueryId("error_rate"));
  EXPECT_TRUE(IsValidQueryId("eRate"));
  EXPECT_FALSE(IsValidQueryId(""));
  EXPECT_FALSE(IsValidQueryId("M1"));
  EXPECT_FALSE(IsValidQueryId("1m"));
  EXPECT_FALSE(IsValidQueryId("_m"));
  EXPECT_FALSE(IsValidQueryId("m-1"));
  EXPECT_FALSE(IsValidQueryId(std::string(256, 'a')));
}

// Random inputs from the grammar's alphabet: parsing never crashes, and a parsed expression
// evaluates to a finite value or to missing. Seeded, so a failure reproduces.
TEST(MetricMathTest, RandomInputsNeverCrash) {
  const std::string alphabet = "ab01.e+-*/() ,FILL\t#";
  std::mt19937 rng(20261127);
  int parsed_count = 0;
  for (int i = 0; i < 20000; ++i) {
    std::uniform_int_distribution<size_t> length(0, 40);
    std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
    std::string text;
    for (size_t n = length(rng); n > 0; --n) text += alphabet[pick(rng)];
    Result<Expression> parsed = Expression::Parse(text);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().message().rfind("position ", 0), 0u) << text;
      continue;
    }
    ++parsed_count;
    std::optional<double> value = parsed->Evaluate({{"a", 1.5}, {"b", std::nullopt}});
    if (value.has_value()) {
      EXPECT_TRUE(std::isfinite(*value)) << text;
    }
  }
  EXPECT_GT(parsed_count, 100);  // the generator does reach valid expressions
}

}  // namespace
}  // namespace cutover::alarms
