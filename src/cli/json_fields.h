// Lenient readers for the fields of admin API responses.
//
// Human output reads the daemon's JSON field by field and must not crash or abort a command because
// a field is missing or has an unexpected type (an older or newer daemon); each reader returns a
// default instead. `--json` output passes documents through untouched and never goes through these.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace cutover::cli {

// The first of `keys` present as a string (numbers are printed), else `fallback`.
std::string GetString(const boost::json::object& object,
                      std::initializer_list<std::string_view> keys, std::string_view fallback = "");

// The first of `keys` present as an integer (a whole double or a numeric string counts), else
// `fallback`.
int64_t GetInt(const boost::json::object& object, std::initializer_list<std::string_view> keys,
               int64_t fallback = 0);

// The first of `keys` present as a number, else `fallback`.
double GetDouble(const boost::json::object& object, std::initializer_list<std::string_view> keys,
                 double fallback = 0.0);

// True when `key` is present and is `true`.
bool GetBool(const boost::json::object& object, std::string_view key);

// The first of `keys` present as an array / object; an empty one otherwise.
const boost::json::array& GetArray(const boost::json::object& object,
                                   std::initializer_list<std::string_view> keys);
const boost::json::object& GetObject(const boost::json::object& object,
                                     std::initializer_list<std::string_view> keys);

// `value` as an object, or an empty one.
const boost::json::object& AsObject(const boost::json::value& value);

}  // namespace cutover::cli
