#include "alarms/metric_math.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cutover::alarms {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) { return IsLower(c) || IsUpper(c) || IsDigit(c) || c == '_'; }

}  // namespace

bool IsValidQueryId(std::string_view id) {
  if (id.empty() || id.size() > 255 || !IsLower(id[0])) return false;
  return std::all_of(id.begin(), id.end(), IsWordChar);
}

// Recursive descent over the grammar
//   sum     := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary)*
//   unary   := ('-' | '+') unary | primary
//   primary := number | id | '(' sum ')' | 'FILL' '(' sum ',' ['-' | '+'] number ')'
// emitting postfix ops. `depth_` bounds the recursion.
class Expression::Parser {
 public:
  Parser(std::string_view text, Expression* out) : text_(text), out_(out) {}

  Status Run() {
    SkipSpace();
    if (pos_ == text_.size()) return Error(pos_, "the expression is empty");
    CUTOVER_RETURN_IF_ERROR(Sum());
    SkipSpace();
    if (pos_ != text_.size()) {
      return Error(pos_, fmt::format("expected an operator (+ - * /), got {}", Describe(pos_)));
    }
    return Status::Ok();
  }

 private:
  Status Sum() {
    CUTOVER_RETURN_IF_ERROR(Product());
    while (true) {
      SkipSpace();
      if (!Peek('+') && !Peek('-')) return Status::Ok();
      OpKind kind = text_[pos_] == '+' ? OpKind::kAdd : OpKind::kSub;
      ++pos_;
      CUTOVER_RETURN_IF_ERROR(Product());
      Emit(kind);
    }
  }

  Status Product() {
    CUTOVER_RETURN_IF_ERROR(Unary());
    while (true) {
      SkipSpace();
      if (!Peek('*') && !Peek('/')) return Status::Ok();
      OpKind kind = text_[pos_] == '*' ? OpKind::kMul : OpKind::kDiv;
      ++pos_;
      CUTOVER_RETURN_IF_ERROR(Unary());
      Emit(kind);
    }
  }

  Status Unary() {
    SkipSpace();
    if (Peek('-') || Peek('+')) {
      bool negate = text_[pos_] == '-';
      size_t at = pos_++;
      CUTOVER_RETURN_IF_ERROR(Enter(at));
      CUTOVER_RETURN_IF_ERROR(Unary());
      --depth_;
      if (negate) Emit(OpKind::kNegate);
      return Status::Ok();
    }
    return Primary();
  }

  Status Primary() {
    SkipSpace();
    const size_t at = pos_;
    if (pos_ == text_.size()) {
      return Error(at,
                   "expected a number, a query id, '(' or FILL(...), got the end of the "
                   "expression");
    }
    const char c = text_[pos_];
    if (IsDigit(c) || c == '.') {
      CUTOVER_ASSIGN_OR_RETURN(double value, Number());
      out_->program_.push_back(Op{OpKind::kNumber, value, 0});
      return Status::Ok();
    }
    if (c == '(') {
      ++pos_;
      CUTOVER_RETURN_IF_ERROR(Enter(at));
      CUTOVER_RETURN_IF_ERROR(Sum());
      --depth_;
      return Expect(')', fmt::format("to close the '(' at position {}", at + 1));
    }
    if (IsLower(c)) {
      std::string_view word = Word();
      if (word.size() > 255) return Error(at, "a query id is at most 255 characters");
      auto it = std::find(out_->ids_.begin(), out_->ids_.end(), word);
      size_t index = static_cast<size_t>(it - out_->ids_.begin());
      if (it == out_->ids_.end()) out_->ids_.emplace_back(word);
      out_->program_.push_back(Op{OpKind::kId, 0, index});
      return Status::Ok();
    }
    if (IsUpper(c)) {
      std::string_view word = Word();
      if (word == "FILL") return Fill(at);
      return Error(at, fmt::format("unsupported function or name '{}' (cutover's metric math has "
                                   "numbers, query ids, + - * /, parentheses and FILL(id, value); "
                                   "query ids start with a lowercase letter)",
                                   word));
    }
    return Error(
        at, fmt::format("expected a number, a query id, '(' or FILL(...), got {}", Describe(at)));
  }

  Status Fill(size_t at) {
    CUTOVER_RETURN_IF_ERROR(Enter(at));
    SkipSpace();
    CUTOVER_RETURN_IF_ERROR(Expect('(', "after FILL"));
    CUTOVER_RETURN_IF_ERROR(Sum());
    SkipSpace();
    CUTOVER_RETURN_IF_ERROR(Expect(',', "between FILL's arguments"));
    SkipSpace();
    const size_t value_at = pos_;
    bool negative = false;
    if (Peek('-') || Peek('+')) {
      negative = text_[pos_] == '-';
      ++pos_;
      SkipSpace();
    }
    if (pos_ < text_.size() && IsUpper(text_[pos_])) {
      std::string_view word = Word();
      return Error(value_at, fmt::format("FILL(..., {}) is not supported: the value must be a "
                                         "constant number",
                                         word));
    }
    if (pos_ == text_.size() || !(IsDigit(text_[pos_]) || text_[pos_] == '.')) {
      return Error(pos_, fmt::format("FILL's second argument must be a constant number, got {}",
                                     Describe(pos_)));
    }
    CUTOVER_ASSIGN_OR_RETURN(double value, Number());
    SkipSpace();
    CUTOVER_RETURN_IF_ERROR(Expect(')', fmt::format("to close the FILL at position {}", at + 1)));
    --depth_;
    out_->program_.push_back(Op{OpKind::kFill, negative ? -value : value, 0});
    return Status::Ok();
  }

  // digits [. digits] [(e|E) [+-] digits], or . digits ...
  Result<double> Number() {
    const size_t start = pos_;
    size_t digits = 0;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_, ++digits;
    if (Peek('.')) {
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_, ++digits;
    }
    if (digits == 0) return Error(start, "a number needs at least one digit");
    if (Peek('e') || Peek('E')) {
      size_t exponent_at = pos_++;
      if (Peek('+') || Peek('-')) ++pos_;
      size_t exponent_digits = 0;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_, ++exponent_digits;
      if (exponent_digits == 0) return Error(exponent_at, "an exponent needs digits");
    }
    if (pos_ < text_.size() && IsWordChar(text_[pos_])) {
      return Error(start, fmt::format("malformed number '{}'", WordFrom(start)));
    }
    std::string literal(text_.substr(start, pos_ - start));
    double value = std::strtod(literal.c_str(), nullptr);
    if (!std::isfinite(value))
      return Error(start, fmt::format("number '{}' is too large", literal));
    return value;
  }

  std::string_view Word() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsWordChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  std::string_view WordFrom(size_t start) const {
    size_t end = start;
    while (end < text_.size() && (IsWordChar(text_[end]) || text_[end] == '.')) ++end;
    return text_.substr(start, end - start);
  }

  Status Enter(size_t at) {
    if (++depth_ > kMaxNesting) {
      return Error(at, fmt::format("the expression nests more than {} levels deep", kMaxNesting));
    }
    return Status::Ok();
  }

  Status Expect(char c, std::string_view why) {
    SkipSpace();
    if (Peek(c)) {
      ++pos_;
      return Status::Ok();
    }
    return Error(pos_, fmt::format("expected '{}' {}, got {}", c, why, Describe(pos_)));
  }

  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string Describe(size_t at) const {
    if (at >= text_.size()) return "the end of the expression";
    unsigned char c = static_cast<unsigned char>(text_[at]);
    if (c < 0x20 || c >= 0x7f) return fmt::format("byte 0x{:02x}", c);
    return fmt::format("'{}'", text_[at]);
  }

  void Emit(OpKind kind) { out_->program_.push_back(Op{kind, 0, 0}); }

  Status Error(size_t at, std::string_view message) const {
    return InvalidArgument(fmt::format("position {}: {}", at + 1, message));
  }

  std::string_view text_;
  Expression* out_;
  size_t pos_ = 0;
  int depth_ = 0;
};

Result<Expression> Expression::Parse(std::string_view text) {
  if (text.size() > kMaxLength) {
    return InvalidArgument(fmt::format("position {}: the expression is longer than {} characters",
                                       kMaxLength + 1, kMaxLength));
  }
  Expression expression;
  expression.text_ = std::string(text);
  Parser parser(text, &expression);
  CUTOVER_RETURN_IF_ERROR(parser.Run());
  // Sort ids_ for callers and renumber the ops that refer to them.
  std::vector<std::string> sorted = expression.ids_;
  std::sort(sorted.begin(), sorted.end());
  for (Op& op : expression.program_) {
    if (op.kind != OpKind::kId) continue;
    const std::string& id = expression.ids_[op.id];
    op.id =
        static_cast<size_t>(std::lower_bound(sorted.begin(), sorted.end(), id) - sorted.begin());
  }
  expression.ids_ = std::move(sorted);
  return expression;
}

std::optional<double> Expression::Evaluate(const Values& values) const {
  std::vector<std::optional<double>> stack;
  stack.reserve(program_.size());
  auto pop = [&stack] {
    std::optional<double> top = stack.back();
    stack.pop_back();
    return top;
  };
  for (const Op& op : program_) {
    switch (op.kind) {
      case OpKind::kNumber:
        stack.push_back(op.number);
        break;
      case OpKind::kId: {
        auto it = values.find(ids_[op.id]);
        stack.push_back(it == values.end() ? std::nullopt : it->second);
        break;
      }
      case OpKind::kNegate: {
        std::optional<double> a = pop();
        stack.push_back(a ? std::optional<double>(-*a) : std::nullopt);
        break;
      }
      case OpKind::kFill: {
        std::optional<double> a = pop();
        stack.push_back(a ? a : std::optional<double>(op.number));
        break;
      }
      case OpKind::kAdd:
      case OpKind::kSub:
      case OpKind::kMul:
      case OpKind::kDiv: {
        std::optional<double> b = pop();
        std::optional<double> a = pop();
        if (!a || !b || (op.kind == OpKind::kDiv && *b == 0)) {
          stack.push_back(std::nullopt);
          break;
        }
        double r = op.kind == OpKind::kAdd   ? *a + *b
                   : op.kind == OpKind::kSub ? *a - *b
                   : op.kind == OpKind::kMul ? *a * *b
                                             : *a / *b;
        stack.push_back(std::isfinite(r) ? std::optional<double>(r) : std::nullopt);
        break;
      }
    }
  }
  CUTOVER_CHECK(stack.size() == 1);
  std::optional<double> result = stack.back();
  if (result && !std::isfinite(*result)) return std::nullopt;
  return result;
}

}  // namespace cutover::alarms
