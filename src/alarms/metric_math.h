// Metric math: the arithmetic subset of CloudWatch's expression language that an alarm's `Metrics`
// array uses to combine queries ("100 * errors / FILL(invocations, 1)").
//
// Supported: numbers (1, 0.5, 1e3), query ids (^[a-z][A-Za-z0-9_]*$), + - * /, unary minus,
// parentheses, and FILL(expr, constant), which replaces a missing value of `expr` by the constant.
// Anything else (SUM, METRICS(), IF, FILL(m, REPEAT), ...) is a parse error naming its position.
// Evaluation is per timestamp: a missing operand makes the result missing (unless FILLed), and so
// do division by zero and any non-finite result, as CloudWatch drops such datapoints.
//
// Parsing is bounded: at most kMaxLength characters and kMaxNesting levels of parentheses, unary
// signs and FILLs, so any input is safe to parse (the parser recurses at most kMaxNesting deep).
// Evaluation runs a postfix program with an explicit stack, no recursion.
//
// Thread-safety: an Expression is immutable after Parse(); share it freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::alarms {

class Expression final {
 public:
  static constexpr size_t kMaxLength = 2048;  // CloudWatch's limit for Expression
  static constexpr int kMaxNesting = 64;

  // Errors are InvalidArgument "position P: message" with P the 1-based character position.
  static Result<Expression> Parse(std::string_view text);

  const std::string& text() const { return text_; }
  // The query ids the expression reads, sorted, each once.
  const std::vector<std::string>& ids() const { return ids_; }

  // Value at one timestamp; `values` maps a query id to its value (nullopt or absent = missing).
  using Values = std::map<std::string, std::optional<double>, std::less<>>;
  std::optional<double> Evaluate(const Values& values) const;

 private:
  enum class OpKind : uint8_t { kNumber, kId, kAdd, kSub, kMul, kDiv, kNegate, kFill };
  struct Op {
    OpKind kind;
    double number = 0;  // kNumber: the constant; kFill: the fill value
    size_t id = 0;      // kId: index into ids_
  };
  class Parser;

  Expression() = default;

  std::string text_;
  std::vector<std::string> ids_;
  std::vector<Op> program_;  // postfix
};

// True when `id` is a valid query id: ^[a-z][A-Za-z0-9_]*$ (at most 255 characters).
bool IsValidQueryId(std::string_view id);

}  // namespace cutover::alarms
