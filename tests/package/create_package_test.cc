// CreatePackage: determinism, pattern selection, symlink policy.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "common/sha256.h"
#include "package/package.h"
#include "test_tree.h"

namespace cutover::package {
namespace {

using ::cutover::package::testing::FilePaths;
using ::cutover::package::testing::ReadEntries;
using ::cutover::package::testing::TempDir;
using ::cutover::package::testing::WriteFile;
namespace fs = std::filesystem;

PackageInfo MustPackage(const fs::path& dir, const std::vector<std::string>& patterns = {}) {
  auto result = CreatePackage(dir, patterns);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

// A small service: an executable bootstrap, a handler, a nested library.
void MakeService(const fs::path& dir) {
  WriteFile(dir / "bootstrap", "#!/bin/sh\necho hi\n", fs::perms(0755));
  WriteFile(dir / "handler.js", "exports.hello = () => 1;\n");
  WriteFile(dir / "lib" / "util.js", "module.exports = {};\n");
  WriteFile(dir / "lib" / "deep" / "data.json", "{}\n");
}

TEST(CreatePackageTest, SameTreeGivesSameBytesAndHashTwice) {
  TempDir dir;
  MakeService(dir.path());
  const PackageInfo a = MustPackage(dir.path());
  const PackageInfo b = MustPackage(dir.path());
  ASSERT_FALSE(a.bytes.empty());
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(a.sha256, Sha256Hex(a.bytes));
  EXPECT_EQ(a.sha256.size(), 64u);
  EXPECT_EQ(a.file_count, 4u);
  EXPECT_EQ(a.uncompressed_bytes, std::string("#!/bin/sh\necho hi\n").size() +
                                      std::string("exports.hello = () => 1;\n").size() +
                                      std::string("module.exports = {};\n").size() + 3);
  EXPECT_TRUE(a.skipped.empty());
}

TEST(CreatePackageTest, SameContentElsewhereCreatedInAnotherOrderGivesSameBytes) {
  TempDir one;
  TempDir two;
  MakeService(one.path());
  // Reverse creation order: directory listing order differs, the archive must not.
  WriteFile(two.path() / "lib" / "deep" / "data.json", "{}\n");
  WriteFile(two.path() / "lib" / "util.js", "module.exports = {};\n");
  WriteFile(two.path() / "handler.js", "exports.hello = () => 1;\n");
  WriteFile(two.path() / "bootstrap", "#!/bin/sh\necho hi\n", fs::perms(0700));  // still "exec"
  EXPECT_EQ(MustPackage(one.path()).sha256, MustPackage(two.path()).sha256);
}

TEST(CreatePackageTest, MtimeAndNonExecModeBitsDoNotChangeTheHash) {
  TempDir dir;
  MakeService(dir.path());
  const std::string before = MustPackage(dir.path()).sha256;
  const auto long_ago = fs::file_time_type::clock::now() - std::chrono::hours(24 * 365);
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    fs::last_write_time(e.path(), long_ago);
  }
  fs::last_write_time(dir.path(), long_ago);
  fs::permissions(dir.path() / "handler.js", fs::perms(0600));
  EXPECT_EQ(MustPackage(dir.path()).sha256, before);
}

TEST(CreatePackageTest, ContentAndExecBitDoChangeTheHash) {
  TempDir dir;
  MakeService(dir.path());
  const std::string original = MustPackage(dir.path()).sha256;
  fs::permissions(dir.path() / "handler.js", fs::perms(0755));
  const std::string exec = MustPackage(dir.path()).sha256;
  EXPECT_NE(exec, original);
  fs::permissions(dir.path() / "handler.js", fs::perms(0644));
  EXPECT_EQ(MustPackage(dir.path()).sha256, original);
  WriteFile(dir.path() / "handler.js", "exports.hello = () => 2;\n");
  EXPECT_NE(MustPackage(dir.path()).sha256, original);
}

TEST(CreatePackageTest, EntriesAreSortedWithPinnedMetadata) {
  TempDir dir;
  MakeService(dir.path());
  WriteFile(dir.path() / "lib-b.js",
            "b\n");  // '-' sorts before '/': "lib" < "lib-b.js" < "lib/..."
  const PackageInfo info = MustPackage(dir.path());
  const auto entries = ReadEntries(info.bytes);
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"bootstrap", "handler.js", "lib/", "lib-b.js",
                                             "lib/deep/", "lib/deep/data.json", "lib/util.js"}))
      << "libarchive appends '/' to directory names";
  for (const auto& e : entries) {
    SCOPED_TRACE(e.path);
    EXPECT_EQ(e.mtime, 0);
    EXPECT_EQ(e.uid, 0);
    EXPECT_EQ(e.gid, 0);
    EXPECT_EQ(e.uname, "");
    EXPECT_EQ(e.gname, "");
    if (e.type == AE_IFDIR) {
      EXPECT_EQ(e.perm, 0755u);
    } else if (e.path == "bootstrap") {
      EXPECT_EQ(e.perm, 0755u);
      EXPECT_EQ(e.content, "#!/bin/sh\necho hi\n");
    } else {
      EXPECT_EQ(e.perm, 0644u);
    }
  }
}

TEST(CreatePackageTest, GzipHeaderCarriesNoTimestampOrName) {
  TempDir dir;
  MakeService(dir.path());
  const std::string bytes = MustPackage(dir.path()).bytes;
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  EXPECT_EQ(bytes[3] & 0x08, 0) << "FNAME flag set";
  EXPECT_EQ(bytes.substr(4, 4), std::string(4, '\0')) << "MTIME must be zero";
}

TEST(CreatePackageTest, PatternsExcludeAndReIncludeInOrder) {
  TempDir dir;
  const fs::path d = dir.path();
  WriteFile(d / "handler.js", "h");
  WriteFile(d / "README.md", "r");
  WriteFile(d / "docs" / "guide.md", "g");
  WriteFile(d / "src" / "x.js", "x");
  WriteFile(d / "src" / "x.test.js", "t");
  WriteFile(d / "node_modules" / "a" / "index.js", "a");
  WriteFile(d / "node_modules" / "b" / "index.js", "b");
  WriteFile(d / "node_modules" / "b" / "b.test.js", "bt");
  const PackageInfo info =
      MustPackage(d, {"!node_modules/**", "node_modules/b/**", "!**/*.test.js", "!*.md"});
  // "*.md" has no '/', so it matches README.md at the root only; the later "!**/*.test.js" wins
  // over the earlier re-include of node_modules/b.
  EXPECT_EQ(FilePaths(info.bytes),
            (std::vector<std::string>{"docs/guide.md", "handler.js", "node_modules/b/index.js",
                                      "src/x.js"}));
  EXPECT_EQ(info.file_count, 4u);
}

TEST(CreatePackageTest, ExcludeEverythingThenKeepOneFile) {
  TempDir dir;
  WriteFile(dir.path() / "bootstrap", "bin", fs::perms(0755));
  WriteFile(dir.path() / "echo_bootstrap.cc", "src");
  WriteFile(dir.path() / "build" / "obj.o", "obj");
  EXPECT_EQ(FilePaths(MustPackage(dir.path(), {"!**", "bootstrap"}).bytes),
            (std::vector<std::string>{"bootstrap"}));
  // The same with a leading "./" and a directory pattern with a trailing slash.
  EXPECT_EQ(FilePaths(MustPackage(dir.path(), {"!./**", "./build/"}).bytes),
            (std::vector<std::string>{"build/obj.o"}));
}

TEST(CreatePackageTest, DefaultExcludesCanBeReIncludedButVcsAndDataDirsCannot) {
  TempDir dir;
  const fs::path d = dir.path();
  WriteFile(d / "handler.py", "h");
  WriteFile(d / "serverless.yml", "service: x\n");
  WriteFile(d / ".gitignore", "x");
  WriteFile(d / ".DS_Store", "x");
  WriteFile(d / "yarn-error.log", "x");
  WriteFile(d / ".env", "SECRET=1");  // an ordinary dot file: packaged like serverless does
  WriteFile(d / ".git" / "config", "x");
  WriteFile(d / ".cutover" / "state.db", "x");
  WriteFile(d / ".serverless" / "out.zip", "x");
  WriteFile(d / "vendor" / "lib" / ".git" / "HEAD", "x");
  WriteFile(d / "vendor" / "lib" / "lib.py", "l");
  EXPECT_EQ(FilePaths(MustPackage(d).bytes),
            (std::vector<std::string>{".env", "handler.py", "vendor/lib/lib.py"}));
  EXPECT_EQ(FilePaths(MustPackage(d, {"serverless.yml", ".git/**", ".cutover/**", "**"}).bytes),
            (std::vector<std::string>{".DS_Store", ".env", ".gitignore", "handler.py",
                                      "serverless.yml", "vendor/lib/lib.py", "yarn-error.log"}));
}

TEST(CreatePackageTest, SymlinkLeavingTheServiceDirIsNotFollowedAndIsReported) {
  TempDir outside;
  WriteFile(outside.path() / "secret.txt", "top secret");
  TempDir dir;
  const fs::path d = dir.path();
  WriteFile(d / "handler.js", "h");
  fs::create_symlink(outside.path() / "secret.txt", d / "abs-link");
  fs::create_directories(d / "sub");
  fs::create_symlink("../../" + outside.path().filename().string() + "/secret.txt",
                     d / "sub" / "rel-link");
  fs::create_directory_symlink(outside.path(), d / "dir-link");
  fs::create_symlink("does-not-exist", d / "dangling");
  fs::create_directory_symlink(".", d / "self");
  fs::create_symlink(outside.path() / "secret.txt", d / "excluded-link");

  const PackageInfo info = MustPackage(d, {"!excluded-link"});
  EXPECT_EQ(FilePaths(info.bytes), (std::vector<std::string>{"handler.js"}));
  for (const auto& e : ReadEntries(info.bytes)) EXPECT_NE(e.content, "top secret") << e.path;
  // Sorted; the link the patterns excluded is not worth a warning.
  EXPECT_EQ(info.skipped,
            (std::vector<std::string>{"abs-link", "dangling", "dir-link", "self", "sub/rel-link"}));
}

TEST(CreatePackageTest, SymlinkInsideTheServiceDirIsArchivedAsItsTarget) {
  TempDir dir;
  const fs::path d = dir.path();
  WriteFile(d / "real" / "run.sh", "#!/bin/sh\n", fs::perms(0755));
  WriteFile(d / "real" / "data.txt", "data");
  fs::create_symlink("real/run.sh", d / "bootstrap");
  fs::create_directory_symlink("real", d / "alias");
  // A link into an always-excluded directory is not a way around the exclusion.
  WriteFile(d / ".git" / "config", "[core]");
  fs::create_symlink(".git/config", d / "gitconfig");

  const PackageInfo info = MustPackage(d);
  const auto entries = ReadEntries(info.bytes);
  std::map<std::string, testing::EntryView> by_path;
  for (const auto& e : entries) by_path[e.path] = e;
  ASSERT_TRUE(by_path.contains("bootstrap"));
  EXPECT_EQ(by_path["bootstrap"].type, static_cast<unsigned>(AE_IFREG));
  EXPECT_EQ(by_path["bootstrap"].perm, 0755u);
  EXPECT_EQ(by_path["bootstrap"].content, "#!/bin/sh\n");
  ASSERT_TRUE(by_path.contains("alias/data.txt"));
  EXPECT_EQ(by_path["alias/data.txt"].content, "data");
  EXPECT_FALSE(by_path.contains("gitconfig"));
  EXPECT_EQ(info.skipped, (std::vector<std::string>{"gitconfig"}));
  for (const auto& e : entries) EXPECT_NE(e.type, static_cast<unsigned>(AE_IFLNK)) << e.path;
}

TEST(CreatePackageTest, SpecialFilesAreSkippedAndReported) {
  TempDir dir;
  WriteFile(dir.path() / "handler.js", "h");
  ASSERT_EQ(mkfifo((dir.path() / "pipe").c_str(), 0644), 0);
  const PackageInfo info = MustPackage(dir.path());
  EXPECT_EQ(FilePaths(info.bytes), (std::vector<std::string>{"handler.js"}));
  EXPECT_EQ(info.skipped, (std::vector<std::string>{"pipe"}));
}

TEST(CreatePackageTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  auto result = CreatePackage(dir.path() / "nope", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
}

TEST(CreatePackageTest, EmptySelectionGivesAValidEmptyArchive) {
  TempDir dir;
  WriteFile(dir.path() / "a.txt", "a");
  const PackageInfo info = MustPackage(dir.path(), {"!**"});
  EXPECT_EQ(info.file_count, 0u);
  EXPECT_FALSE(info.bytes.empty());
  EXPECT_TRUE(ReadEntries(info.bytes).empty());
}

}  // namespace
}  // namespace cutover::package
