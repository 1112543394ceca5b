// Text written by someone else (a function's log output) made safe to print on a terminal.
//
// A function controls every byte of its log lines. Printed raw, a carriage return or backspace
// lets one line overwrite what came before it on screen ("ok\rEND RequestId: ..." shows as a
// platform line), and escape sequences can clear the screen, move the cursor over earlier lines,
// change the window title, or — on some terminals — write to the clipboard or answer back into
// the input. `cutover logs` therefore prints function text through EscapeForTerminal (always:
// a log is read by people, also later from a file or through `less -R`), and `cutover invoke`
// prints a payload through it when stdout is a terminal (a payload is data a pipe may want
// exact). It keeps the printable text byte for byte and shows everything a terminal would act
// on as a visible escape instead:
//
//   - C0 controls (U+0000–U+001F) except '\n' and '\t', and DEL (U+007F): `\xNN` (ESC is `\x1b`).
//     A CR directly before LF (a CRLF line ending) is kept: nothing can follow it on the line.
//   - C1 controls (U+0080–U+009F, UTF-8 C2 80..C2 9F; 8-bit terminals take U+009B as CSI):
//     `\u009b`.
//   - Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what a
//     line shows: `\u202e`.
//   - Bytes that are not valid UTF-8 (a lone 0x9B is CSI to a terminal in an 8-bit locale):
//     `\xNN`, one per byte.
//
// A backslash is not escaped, so a function can print the text "\x1b" itself; that is visible
// text, not a control, so it cannot act on the terminal.
//
// What escaping cannot do: a function that writes a whole line of its own such as
// "END RequestId: <id>" produces a line that reads like the platform's, as in Lambda's text log
// format. Telling those apart needs the daemon to mark its own lines when it writes the log
// (runtime/function_logs, output_pump); the text this CLI receives cannot tell.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace cutover::cli {

std::string EscapeForTerminal(std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD, for `--json`
// output: Boost.JSON copies such bytes into a string as they are, and the document would then be
// no JSON a parser accepts. Controls stay (JSON escapes C0 itself).
std::string ReplaceInvalidUtf8(std::string_view text);

}  // namespace cutover::cli
