// Human output helpers for the CLI: colour, aligned tables, and the small formats every command
// shares (alias weights, byte sizes, percentages). Machine output (`--json`) does not come through
// here except WriteJson.
//
// Colour is decided once per run (stdout is a terminal and NO_COLOR is not set) and carried in a
// Style; a disabled Style returns text unchanged, so commands never branch on colour themselves.
//
// Thread-safety: values and pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::cli {

class Style final {
 public:
  explicit Style(bool enabled) : enabled_(enabled) {}

  bool enabled() const { return enabled_; }
  std::string Bold(std::string_view text) const { return Wrap("1", text); }
  std::string Dim(std::string_view text) const { return Wrap("2", text); }
  std::string Red(std::string_view text) const { return Wrap("31", text); }
  std::string Green(std::string_view text) const { return Wrap("32", text); }
  std::string Yellow(std::string_view text) const { return Wrap("33", text); }
  std::string Cyan(std::string_view text) const { return Wrap("36", text); }

 private:
  std::string Wrap(std::string_view sgr, std::string_view text) const;

  bool enabled_;
};

// Terminal columns taken by UTF-8 text: one per code point (the CLI prints no wide characters).
size_t DisplayWidth(std::string_view utf8);

// A left-aligned text table with a bold header row, columns separated by two spaces. Cells are
// plain text; a colour function may be given per cell and is applied after padding so widths stay
// right.
class Table final {
 public:
  enum class Color { kNone, kBold, kDim, kRed, kGreen, kYellow, kCyan };
  struct Cell {
    Cell(std::string text, Color color = Color::kNone)  // NOLINT: implicit from text by design
        : text(std::move(text)), color(color) {}
    Cell(const char* text) : text(text) {}  // NOLINT
    std::string text;
    Color color = Color::kNone;
  };

  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}

  // REQUIRES: cells.size() <= number of header columns (missing cells print empty).
  void AddRow(std::vector<Cell> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }

  // Each line starts with `indent`; trailing spaces are not printed.
  void Print(std::ostream& out, const Style& style, std::string_view indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<Cell>> rows_;
};

// 0.3 -> "30%", 0.125 -> "12.5%", 1 -> "100%" (one decimal at most).
std::string FormatPercent(double fraction);

// "Live → 2", or "Live → 2 (70%) + 3 (30%)" when an additional version carries weight > 0 or is
// set.
std::string FormatAliasTarget(std::string_view name, int64_t primary, int64_t additional,
                              double additional_weight);

// Epoch milliseconds in UTC: "2024-05-01 10:00:00", and the time of day "10:00:00" (with `millis`
// "10:00:00.042"). 0 and below mean "no time recorded" and print `none` / "-".
std::string FormatDateTime(int64_t epoch_ms, std::string_view none = "-");
std::string FormatTimeOfDay(int64_t epoch_ms, bool millis = false);

// 512 -> "512 B", 2048 -> "2.0 KiB", 3'500'000 -> "3.3 MiB".
std::string FormatBytes(uint64_t bytes);

// The `--json` document: `value` serialised compactly on one line, then "\n".
void WriteJson(std::ostream& out, const boost::json::value& value);

}  // namespace cutover::cli
