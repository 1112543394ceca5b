#include "cli/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <ctime>

namespace cutover::cli {

std::string Style::Wrap(std::string_view sgr, std::string_view text) const {
  if (!enabled_ || text.empty()) return std::string(text);
  return fmt::format("\x1b[{}m{}\x1b[0m", sgr, text);
}

size_t DisplayWidth(std::string_view utf8) {
  // Count every byte that does not continue a multi-byte sequence (10xxxxxx).
  return static_cast<size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

namespace {

std::string Colorize(const Style& style, Table::Color color, std::string_view text) {
  switch (color) {
    case Table::Color::kNone:
      return std::string(text);
    case Table::Color::kBold:
      return style.Bold(text);
    case Table::Color::kDim:
      return style.Dim(text);
    case Table::Color::kRed:
      return style.Red(text);
    case Table::Color::kGreen:
      return style.Green(text);
    case Table::Color::kYellow:
      return style.Yellow(text);
    case Table::Color::kCyan:
      return style.Cyan(text);
  }
  return std::string(text);
}

}  // namespace

void Table::Print(std::ostream& out, const Style& style, std::string_view indent) const {
  std::vector<size_t> widths(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = DisplayWidth(header_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i].text));
    }
  }
  auto print_line = [&](const std::vector<Cell>& cells) {
    // Find the last non-empty cell so no trailing spaces are printed.
    size_t last = 0;
    for (size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      if (!cells[i].text.empty()) last = i + 1;
    }
    std::string line(indent);
    for (size_t i = 0; i < last; ++i) {
      line += Colorize(style, cells[i].color, cells[i].text);
      if (i + 1 < last) line.append(widths[i] - DisplayWidth(cells[i].text) + 2, ' ');
    }
    out << line << '\n';
  };
  std::vector<Cell> header_cells;
  for (const auto& h : header_) header_cells.emplace_back(h, Color::kBold);
  print_line(header_cells);
  for (const auto& row : rows_) print_line(row);
}

std::string FormatPercent(double fraction) {
  const double tenths = std::round(fraction * 1000.0);  // percent with one decimal, as an integer
  if (std::fmod(tenths, 10.0) == 0.0) return fmt::format("{:.0f}%", tenths / 10.0);
  return fmt::format("{:.1f}%", tenths / 10.0);
}

std::string FormatAliasTarget(std::string_view name, int64_t primary, int64_t additional,
                              double additional_weight) {
  if (additional <= 0) return fmt::format("{} → {}", name, primary);
  return fmt::format("{} → {} ({}) + {} ({})", name, primary,
                     FormatPercent(1.0 - additional_weight), additional,
                     FormatPercent(additional_weight));
}

namespace {

std::tm UtcTime(int64_t epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::string FormatDateTime(int64_t epoch_ms, std::string_view none) {
  if (epoch_ms <= 0) return std::string(none);
  const std::tm tm = UtcTime(epoch_ms);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string FormatTimeOfDay(int64_t epoch_ms, bool millis) {
  if (epoch_ms <= 0) return "-";
  const std::tm tm = UtcTime(epoch_ms);
  if (!millis) return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, epoch_ms % 1000);
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const double kib = static_cast<double>(bytes) / 1024.0;
  if (kib < 1024.0) return fmt::format("{:.1f} KiB", kib);
  const double mib = kib / 1024.0;
  if (mib < 1024.0) return fmt::format("{:.1f} MiB", mib);
  return fmt::format("{:.1f} GiB", mib / 1024.0);
}

void WriteJson(std::ostream& out, const boost::json::value& value) {
  out << boost::json::serialize(value) << '\n';
  out.flush();
}

}  // namespace cutover::cli
