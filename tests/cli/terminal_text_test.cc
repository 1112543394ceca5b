// EscapeForTerminal: what a function's log text may and may not carry to the operator's terminal.
#include "cli/terminal_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cutover::cli {
namespace {

struct Row {
  std::string name;
  std::string in;
  std::string out;
};

TEST(EscapeForTerminalTest, KeepsTextAndEscapesWhatATerminalWouldActOn) {
  const std::vector<Row> rows = {
      {"plain text and line structure", "START RequestId: a\n\thello world\n",
       "START RequestId: a\n\thello world\n"},
      {"empty", "", ""},
      // The forgery the issue names: a CR returns to column 0 and the rest overwrites the line.
      {"carriage return", "ok\rEND RequestId: forged\n", "ok\\x0dEND RequestId: forged\n"},
      {"CRLF line ending is harmless", "windows line\r\n", "windows line\r\n"},
      {"CR at the very end", "tail\r", "tail\\x0d"},
      {"CR CR LF keeps only the last CR", "a\r\r\n", "a\\x0d\r\n"},
      {"escape sequences", "\x1b[2J\x1b[1A\x1b]0;title\x07", "\\x1b[2J\\x1b[1A\\x1b]0;title\\x07"},
      {"backspace overstrike", "good\b\b\b\bevil", "good\\x08\\x08\\x08\\x08evil"},
      {"NUL, VT, FF, DEL", std::string("a\0b\x0b\x0c\x7f", 6), "a\\x00b\\x0b\\x0c\\x7f"},
      {"C1 CSI and NEL as UTF-8",
       "\xc2\x9b"
       "31m \xc2\x85",
       "\\u009b31m \\u0085"},
      {"Latin-1 and other non-control UTF-8 stay", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80",
       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"},
      {"U+00A0 is past C1 and stays", "\xc2\xa0", "\xc2\xa0"},
      {"bidi override and isolate",
       "abc\xe2\x80\xae"
       "cba\xe2\x81\xa6",
       "abc\\u202ecba\\u2066"},
      {"lone 8-bit CSI byte",
       "\x9b"
       "31mred",
       "\\x9b31mred"},
      {"truncated sequence", "\xe2\x82", "\\xe2\\x82"},
      {"overlong slash", "\xc0\xaf", "\\xc0\\xaf"},
      {"overlong three-byte", "\xe0\x80\xaf", "\\xe0\\x80\\xaf"},
      {"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
      {"past U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
      {"a bad byte does not swallow the next character", "\xc3(\n", "\\xc3(\n"},
      // A backslash is text: the literal "\x1b" a function prints cannot act on the terminal.
      {"backslashes are text", "C:\\path \\x1b", "C:\\path \\x1b"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(EscapeForTerminal(row.in), row.out) << row.name;
  }
}

// Whatever goes in, nothing a terminal acts on comes out: no C0 byte but '\n', '\t' and the CR of
// a CRLF, no DEL, no C1 code point, no byte outside well-formed UTF-8.
TEST(EscapeForTerminalTest, EveryByteValueInEveryPositionComesOutInert) {
  for (int first = 0; first < 256; ++first) {
    for (int second = 0; second < 256; ++second) {
      std::string in = "x";
      in += static_cast<char>(first);
      in += static_cast<char>(second);
      in += "\xa9y";  // a continuation byte after them, to tempt the decoder
      const std::string out = EscapeForTerminal(in);
      for (size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        const bool crlf = c == '\r' && i + 1 < out.size() && out[i + 1] == '\n';
        ASSERT_TRUE(c >= 0x20 || c == '\n' || c == '\t' || crlf)
            << first << " " << second << " at " << i;
        ASSERT_NE(c, 0x7f) << first << " " << second;
        if (c == 0xc2 && i + 1 < out.size()) {
          const auto next = static_cast<unsigned char>(out[i + 1]);
          ASSERT_FALSE(next >= 0x80 && next <= 0x9f) << first << " " << second;
        }
      }
      // Escaping twice changes nothing more: the output holds nothing left to escape.
      ASSERT_EQ(EscapeForTerminal(out), out) << first << " " << second;
    }
  }
}

TEST(ReplaceInvalidUtf8Test, KeepsUtf8AndControlsAndReplacesOtherBytes) {
  EXPECT_EQ(ReplaceInvalidUtf8("caf\xc3\xa9 \x1b[1m \xc2\x9b\n"), "caf\xc3\xa9 \x1b[1m \xc2\x9b\n");
  EXPECT_EQ(ReplaceInvalidUtf8("a\x9b"
                               "b\xe2\x82"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ReplaceInvalidUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace cutover::cli
