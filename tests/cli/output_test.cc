// Output helpers: percentages, alias targets, sizes, tables, colour.

#include "cli/output.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/json_fields.h"

namespace cutover::cli {
namespace {

TEST(OutputTest, FormatsPercentagesWithAtMostOneDecimal) {
  EXPECT_EQ(FormatPercent(0.3), "30%");
  EXPECT_EQ(FormatPercent(0.7), "70%");
  EXPECT_EQ(FormatPercent(0.125), "12.5%");
  EXPECT_EQ(FormatPercent(1.0 / 3.0), "33.3%");
  EXPECT_EQ(FormatPercent(0), "0%");
  EXPECT_EQ(FormatPercent(1), "100%");
}

TEST(OutputTest, FormatsAliasTargets) {
  EXPECT_EQ(FormatAliasTarget("Live", 2, 0, 0), "Live → 2");
  EXPECT_EQ(FormatAliasTarget("Live", 2, 3, 0.3), "Live → 2 (70%) + 3 (30%)");
  EXPECT_EQ(FormatAliasTarget("Live", 1, 2, 0.1), "Live → 1 (90%) + 2 (10%)");
}

TEST(OutputTest, FormatsBytes) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(2048), "2.0 KiB");
  EXPECT_EQ(FormatBytes(3'500'000), "3.3 MiB");
}

TEST(OutputTest, DisplayWidthCountsCodePoints) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("Live → 2"), 8u);
}

TEST(OutputTest, TableAlignsColumnsAndDropsTrailingSpaces) {
  Table table({"NAME", "ALIAS", "X"});
  table.AddRow({"a", "Live → 2", ""});
  table.AddRow({"longer", "-", "1"});
  std::ostringstream out;
  table.Print(out, Style(false), "  ");
  EXPECT_EQ(out.str(),
            "  NAME    ALIAS     X\n"
            "  a       Live → 2\n"
            "  longer  -         1\n");
}

TEST(OutputTest, ColourIsAppliedAfterPadding) {
  Table table({"A", "B"});
  table.AddRow({Table::Cell("x", Table::Color::kRed), "y"});
  std::ostringstream out;
  table.Print(out, Style(true));
  EXPECT_EQ(out.str(), "\x1b[1mA\x1b[0m  \x1b[1mB\x1b[0m\n\x1b[31mx\x1b[0m  y\n");
}

TEST(OutputTest, DisabledStyleReturnsTextUnchanged) {
  Style plain(false);
  EXPECT_EQ(plain.Bold("x"), "x");
  EXPECT_EQ(plain.Red("x"), "x");
  EXPECT_EQ(Style(true).Green("ok"), "\x1b[32mok\x1b[0m");
}

TEST(OutputTest, WriteJsonPrintsOneLine) {
  std::ostringstream out;
  WriteJson(out, boost::json::value{{"a", 1}, {"b", "→"}});
  EXPECT_EQ(out.str(), "{\"a\":1,\"b\":\"→\"}\n");
}

TEST(JsonFieldsTest, ReadsLenientlyWithFallbacks) {
  boost::json::object o{{"n", 3},      {"d", 2.0},  {"s", "7"},
                        {"name", "x"}, {"t", true}, {"nil", nullptr}};
  EXPECT_EQ(GetInt(o, {"n"}), 3);
  EXPECT_EQ(GetInt(o, {"d"}), 2);
  EXPECT_EQ(GetInt(o, {"s"}), 7);
  EXPECT_EQ(GetInt(o, {"missing"}, -1), -1);
  EXPECT_EQ(GetString(o, {"function_name", "name"}), "x");
  EXPECT_EQ(GetString(o, {"n"}), "3");
  EXPECT_EQ(GetString(o, {"nil"}, "-"), "-");
  EXPECT_DOUBLE_EQ(GetDouble(o, {"n"}), 3.0);
  EXPECT_TRUE(GetBool(o, "t"));
  EXPECT_FALSE(GetBool(o, "n"));
  EXPECT_TRUE(GetArray(o, {"n"}).empty());
  EXPECT_TRUE(GetObject(o, {"nil"}).empty());
}

}  // namespace
}  // namespace cutover::cli
