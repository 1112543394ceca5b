#include "cli/json_fields.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace cutover::cli {
namespace {

const boost::json::value* Find(const boost::json::object& object,
                               std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    if (const boost::json::value* v = object.if_contains(key); v != nullptr && !v->is_null()) {
      return v;
    }
  }
  return nullptr;
}

}  // namespace

std::string GetString(const boost::json::object& object,
                      std::initializer_list<std::string_view> keys, std::string_view fallback) {
  for (std::string_view key : keys) {
    const boost::json::value* v = object.if_contains(key);
    if (v == nullptr) continue;
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    if (v->is_double()) return fmt::format("{}", v->get_double());
  }
  return std::string(fallback);
}

int64_t GetInt(const boost::json::object& object, std::initializer_list<std::string_view> keys,
               int64_t fallback) {
  for (std::string_view key : keys) {
    const boost::json::value* v = object.if_contains(key);
    if (v == nullptr) continue;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
    if (v->is_double() && std::floor(v->get_double()) == v->get_double()) {
      return static_cast<int64_t>(v->get_double());
    }
    if (v->is_string()) {
      const boost::json::string& s = v->get_string();
      int64_t parsed = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
      if (ec == std::errc() && end == s.data() + s.size()) return parsed;
    }
  }
  return fallback;
}

double GetDouble(const boost::json::object& object, std::initializer_list<std::string_view> keys,
                 double fallback) {
  for (std::string_view key : keys) {
    const boost::json::value* v = object.if_contains(key);
    if (v != nullptr && v->is_number()) return v->to_number<double>();
  }
  return fallback;
}

bool GetBool(const boost::json::object& object, std::string_view key) {
  const boost::json::value* v = object.if_contains(key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

const boost::json::array& GetArray(const boost::json::object& object,
                                   std::initializer_list<std::string_view> keys) {
  static const boost::json::array kEmpty;
  for (std::string_view key : keys) {
    const boost::json::value* v = object.if_contains(key);
    if (v != nullptr && v->is_array()) return v->get_array();
  }
  return kEmpty;
}

const boost::json::object& GetObject(const boost::json::object& object,
                                     std::initializer_list<std::string_view> keys) {
  static const boost::json::object kEmpty;
  const boost::json::value* v = Find(object, keys);
  return v != nullptr && v->is_object() ? v->get_object() : kEmpty;
}

const boost::json::object& AsObject(const boost::json::value& value) {
  static const boost::json::object kEmpty;
  return value.is_object() ? value.get_object() : kEmpty;
}

}  // namespace cutover::cli
