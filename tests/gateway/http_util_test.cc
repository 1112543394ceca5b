#include "gateway/http_util.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace cutover::gateway {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(HttpUtilTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%e2%82%ac", false), "\xE2\x82\xAC");
  // Broken escapes stay literal.
  EXPECT_EQ(PercentDecode("100%", false), "100%");
  EXPECT_EQ(PercentDecode("%zz%4", false), "%zz%4");
  EXPECT_EQ(PercentDecode("%41%", false), "A%");
}

TEST(HttpUtilTest, ParseQueryString) {
  EXPECT_EQ(ParseQueryString(""), Pairs{});
  EXPECT_EQ(ParseQueryString("a=1&b=x+y&a=2"), (Pairs{{"a", "1"}, {"b", "x y"}, {"a", "2"}}));
  EXPECT_EQ(ParseQueryString("flag&&=v&k="), (Pairs{{"flag", ""}, {"", "v"}, {"k", ""}}));
  EXPECT_EQ(ParseQueryString("k%3D=v%26w=z"), (Pairs{{"k=", "v&w=z"}}));
}

TEST(HttpUtilTest, Base64RoundTrip) {
  for (const std::string& bytes :
       {std::string(), std::string("f"), std::string("fo"), std::string("foo"), std::string("foob"),
        std::string("\xff\x00\x01\x80", 4)}) {
    std::string decoded;
    ASSERT_TRUE(Base64Decode(Base64Encode(bytes), &decoded)) << bytes;
    EXPECT_EQ(decoded, bytes);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
}

TEST(HttpUtilTest, Base64DecodeAcceptsWhitespaceAndMissingPadding) {
  std::string out;
  EXPECT_TRUE(Base64Decode("Zm9v\r\nYmFy", &out));
  EXPECT_EQ(out, "foobar");
  EXPECT_TRUE(Base64Decode("Zm8", &out));
  EXPECT_EQ(out, "fo");
}

TEST(HttpUtilTest, Base64DecodeRejectsGarbage) {
  std::string out;
  for (const char* bad :
       {"Zm9v!", "Z", "Zm9vY", "Zm=8", "Zm8=Zm8=", "Zg=", "Zg===", "====", "Zm9v-_"}) {
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
}

TEST(HttpUtilTest, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
}

TEST(HttpUtilTest, AppendJsonStringEscapesAndRepairs) {
  std::string out;
  AppendJsonString(&out, std::string("a\"b\\c\n\x01\xff\xC3\xA9", 10));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\xC3\xA9\"");
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(out, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(parsed, "a\"b\\c\n\x01\xEF\xBF\xBD\xC3\xA9");
}

TEST(HttpUtilTest, FormatClfTime) {
  EXPECT_EQ(FormatClfTime(1583349317135), "04/Mar/2020:19:15:17 +0000");
  EXPECT_EQ(FormatClfTime(0), "01/Jan/1970:00:00:00 +0000");
  EXPECT_EQ(FormatClfTime(1709251199999), "29/Feb/2024:23:59:59 +0000");
}

TEST(HttpUtilTest, CaseHelpers) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-TYPE"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Type", "Content-Typ"));
  EXPECT_EQ(AsciiLower("X-Amz-Trace"), "x-amz-trace");
}

}  // namespace
}  // namespace cutover::gateway
