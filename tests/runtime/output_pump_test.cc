#include "runtime/output_pump.h"

#include <gtest/gtest.h>

namespace cutover::runtime {
namespace {

TEST(LineSplitterTest, EmitsWholeLinesAndKeepsThePartialOne) {
  LineSplitter s(100);
  std::string out;
  s.Feed("one\ntwo\nthr", out);
  EXPECT_EQ(out, "one\ntwo\n");
  s.Feed("ee\n", out);
  EXPECT_EQ(out, "one\ntwo\nthree\n");
  s.Feed("tail", out);
  s.Finish(out);
  EXPECT_EQ(out, "one\ntwo\nthree\ntail\n");
  s.Finish(out);  // nothing left
  EXPECT_EQ(out, "one\ntwo\nthree\ntail\n");
}

TEST(LineSplitterTest, SplitsLinesLongerThanTheCap) {
  LineSplitter s(4);
  std::string out;
  s.Feed("abcdefghij\nxy\n", out);
  EXPECT_EQ(out, "abcd\nefgh\nij\nxy\n");
}

TEST(LineSplitterTest, ALineOfExactlyTheCapIsOneLine) {
  LineSplitter s(4);
  std::string out;
  s.Feed("abcd\nefgh", out);
  EXPECT_EQ(out, "abcd\nefgh\n");  // the unterminated piece reached the cap: emitted
  s.Feed("\nij\n", out);
  EXPECT_EQ(out, "abcd\nefgh\n\nij\n");
}

TEST(LineSplitterTest, CapAppliesAcrossFeeds) {
  LineSplitter s(5);
  std::string out;
  s.Feed("abc", out);
  s.Feed("defg", out);
  EXPECT_EQ(out, "abcde\n");
  s.Feed("\n", out);
  EXPECT_EQ(out, "abcde\nfg\n");
}

TEST(LineSplitterTest, EmptyLinesSurvive) {
  LineSplitter s;
  std::string out;
  s.Feed("\n\nx\n", out);
  EXPECT_EQ(out, "\n\nx\n");
}

}  // namespace
}  // namespace cutover::runtime
