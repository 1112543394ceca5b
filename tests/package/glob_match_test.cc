// GlobMatch as a table: pattern, path, expected.
#include <gtest/gtest.h>

#include "package/package.h"

namespace cutover::package {
namespace {

struct GlobCase {
  const char* pattern;
  const char* path;
  bool match;
};

class GlobMatchTest : public ::testing::TestWithParam<GlobCase> {};

TEST_P(GlobMatchTest, MatchesLikeServerlessPatterns) {
  const GlobCase& c = GetParam();
  EXPECT_EQ(GlobMatch(c.pattern, c.path), c.match)
      << "pattern '" << c.pattern << "' path '" << c.path << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Table, GlobMatchTest,
    ::testing::Values(
        // Literals.
        GlobCase{"handler.js", "handler.js", true}, GlobCase{"handler.js", "handler.jsx", false},
        GlobCase{"handler.js", "src/handler.js", false},
        GlobCase{"src/handler.js", "src/handler.js", true},
        // "*" stays inside one segment and matches dot files too.
        GlobCase{"*.js", "a.js", true}, GlobCase{"*.js", "src/a.js", false},
        GlobCase{"*.js", ".eslintrc.js", true}, GlobCase{"*", "anything", true},
        GlobCase{"*", "a/b", false}, GlobCase{"src/*", "src/a.js", true},
        GlobCase{"src/*", "src/a/b.js", false}, GlobCase{"a*b*c", "aXXbYYc", true},
        GlobCase{"a*b*c", "abcX", false}, GlobCase{"*a", "aaaa", true}, GlobCase{"*", "", true},
        // "**" spans zero or more whole segments.
        GlobCase{"**", "a", true}, GlobCase{"**", "a/b/c", true}, GlobCase{"**/*.js", "a.js", true},
        GlobCase{"**/*.js", "x/y/a.js", true}, GlobCase{"**/*.js", "x/y/a.jsx", false},
        GlobCase{"node_modules/**", "node_modules/a/b", true},
        GlobCase{"node_modules/**", "node_modules", true},
        GlobCase{"node_modules/**", "node_modulesX/a", false},
        GlobCase{"node_modules/**", "src/node_modules/a", false},
        GlobCase{"**/node_modules/**", "src/node_modules/a", true}, GlobCase{"a/**/b", "a/b", true},
        GlobCase{"a/**/b", "a/x/y/b", true}, GlobCase{"a/**/b", "a/x/y/c", false},
        GlobCase{"a/**/**/b", "a/x/b", true}, GlobCase{".git/**", ".git/config", true},
        // "**" that is not a whole segment acts like "*".
        GlobCase{"a**.js", "abc.js", true}, GlobCase{"a**.js", "a/b.js", false},
        // "?" is one character, never '/'.
        GlobCase{"?.js", "a.js", true}, GlobCase{"?.js", "ab.js", false},
        GlobCase{"a?b", "a/b", false},
        // Classes.
        GlobCase{"[abc].txt", "b.txt", true}, GlobCase{"[abc].txt", "d.txt", false},
        GlobCase{"[a-c]x", "bx", true}, GlobCase{"[a-c]x", "dx", false},
        GlobCase{"[!a-c]x", "dx", true}, GlobCase{"[^a-c]x", "ax", false},
        GlobCase{"[]]", "]", true}, GlobCase{"[!]]", "a", true}, GlobCase{"[", "[", true},
        GlobCase{"[ab", "[ab", true}, GlobCase{"[ab", "a", false}, GlobCase{"a[/]b", "a/b", false},
        // Braces.
        GlobCase{"*.{js,ts}", "a.ts", true}, GlobCase{"*.{js,ts}", "a.py", false},
        GlobCase{"{src,lib}/**", "lib/x/y", true}, GlobCase{"a{b,c{d,e}}", "ace", true},
        GlobCase{"a{b,c{d,e}}", "ac", false}, GlobCase{"{x}", "{x}", true},
        GlobCase{"{proxy+}", "{proxy+}", true}, GlobCase{"a{,b}", "a", true},
        // Escapes.
        GlobCase{"\\*.js", "*.js", true}, GlobCase{"\\*.js", "a.js", false},
        GlobCase{"a\\[b]", "a[b]", true},
        // Leading "./" and trailing "/".
        GlobCase{"./handler.js", "handler.js", true}, GlobCase{"build/", "build/a/b.o", true},
        GlobCase{"build/", "builds/a", false},
        // Edge cases.
        GlobCase{"", "", false}, GlobCase{"", "a", false}, GlobCase{"a/", "a", true},
        GlobCase{"!a", "a", false}, GlobCase{"!a", "!a", true}));

}  // namespace
}  // namespace cutover::package
