// ExtractPackage: round trips, and hostile archives that must be refused without leaving anything.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <set>

#include "package/package.h"
#include "test_tree.h"

namespace cutover::package {
namespace {

using ::cutover::package::testing::ListFiles;
using ::cutover::package::testing::Mode;
using ::cutover::package::testing::ReadFile;
using ::cutover::package::testing::TempDir;
using ::cutover::package::testing::WriteFile;
namespace fs = std::filesystem;

// One entry of an archive crafted by a test, including things CreatePackage never writes.
struct RawEntry {
  std::string path = {};
  unsigned type = AE_IFREG;
  unsigned perm = 0644;
  std::string content = {};
  std::string symlink = {};   // for AE_IFLNK
  std::string hardlink = {};  // non-empty: a hard link to this path
};

la_ssize_t Append(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

std::string MakeArchive(const std::vector<RawEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  archive_write_open2(a, &out, nullptr, Append, nullptr, nullptr);
  for (const RawEntry& raw : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, raw.path.c_str());
    archive_entry_set_filetype(e, raw.type);
    archive_entry_set_perm(e, raw.perm);
    if (!raw.symlink.empty()) archive_entry_set_symlink(e, raw.symlink.c_str());
    if (!raw.hardlink.empty()) archive_entry_set_hardlink(e, raw.hardlink.c_str());
    archive_entry_set_size(e,
                           raw.type == AE_IFREG ? static_cast<la_int64_t>(raw.content.size()) : 0);
    EXPECT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
    if (!raw.content.empty()) archive_write_data(a, raw.content.data(), raw.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// A bare ustar header (no data follows) declaring a regular file of `size` bytes: the archive
// claims more than the limit without the test having to produce it.
std::string UstarHeaderOnly(const std::string& name, uint64_t size) {
  std::string h(512, '\0');
  auto put = [&](size_t offset, const std::string& s) { h.replace(offset, s.size(), s); };
  put(0, name);
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  char octal[16];
  std::snprintf(octal, sizeof octal, "%011llo", static_cast<unsigned long long>(size));
  put(124, octal);
  put(136, "00000000000");
  h[156] = '0';
  put(257, std::string("ustar\0", 6));
  put(263, "00");
  put(148, "        ");  // checksum is computed with its own field as spaces
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  char checksum[8];
  std::snprintf(checksum, sizeof checksum, "%06o", sum);
  put(148, std::string(checksum, 6) + std::string("\0 ", 2));
  return h;
}

// The names in a directory, to check that a failed extraction left no temporary sibling behind.
std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

class ExtractPackageTest : public ::testing::Test {
 protected:
  // Expects `archive` to be refused with `code` and a message containing `reason`, leaving `dest`
  // absent and its parent as it was.
  void ExpectRefused(const std::string& archive, StatusCode code, const std::string& reason) {
    SCOPED_TRACE(reason);
    const fs::path dest = parent_.path() / "out";
    const auto before = Names(parent_.path());
    Status st = ExtractPackage(archive, dest);
    EXPECT_EQ(st.code(), code) << st.ToString();
    EXPECT_NE(st.message().find(reason), std::string::npos) << st.ToString();
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest)));
    EXPECT_EQ(Names(parent_.path()), before);
  }

  TempDir parent_;
};

TEST_F(ExtractPackageTest, RoundTripReproducesTheSelectedTree) {
  TempDir src;
  WriteFile(src.path() / "bootstrap", "#!/bin/sh\n", fs::perms(0755));
  WriteFile(src.path() / "a" / "b" / "c.txt", std::string(200000, 'x'));  // several data blocks
  WriteFile(src.path() / "empty.txt", "");
  WriteFile(src.path() / "caf\xc3\xa9.txt", "utf-8 name");
  auto pkg = CreatePackage(src.path(), {});
  ASSERT_TRUE(pkg.ok()) << pkg.status().ToString();
  const fs::path dest = parent_.path() / "v1";
  Status st = ExtractPackage(pkg->bytes, dest);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ListFiles(dest), ListFiles(src.path()));
  EXPECT_EQ(Mode(dest), 0755u);
  EXPECT_EQ(Mode(dest / "a"), 0755u);
  EXPECT_EQ(Names(parent_.path()), (std::set<std::string>{"v1"}));
}

TEST_F(ExtractPackageTest, ExecutableBitSurvivesTheRoundTripWhateverTheUmask) {
  TempDir src;
  WriteFile(src.path() / "bootstrap", "#!/bin/sh\n", fs::perms(0700));
  WriteFile(src.path() / "data.txt", "d", fs::perms(0600));
  auto pkg = CreatePackage(src.path(), {});
  ASSERT_TRUE(pkg.ok());
  const mode_t old_umask = ::umask(077);
  const fs::path dest = parent_.path() / "v1";
  Status st = ExtractPackage(pkg->bytes, dest);
  ::umask(old_umask);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Mode(dest / "bootstrap"), 0755u);
  EXPECT_EQ(Mode(dest / "data.txt"), 0644u);
  EXPECT_EQ(ReadFile(dest / "bootstrap"), "#!/bin/sh\n");
}

TEST_F(ExtractPackageTest, AcceptsDotSlashNamesAndMissingDirectoryEntries) {
  const std::string archive = MakeArchive({
      {.path = "./", .type = AE_IFDIR, .perm = 0755},
      {.path = "./x/y/z.txt", .content = "z"},
      {.path = "x//w.txt", .content = "w"},
      {.path = "x/y", .type = AE_IFDIR, .perm = 0700},  // a repeated directory is fine
  });
  const fs::path dest = parent_.path() / "v1";
  Status st = ExtractPackage(archive, dest);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ListFiles(dest),
            (std::map<std::string, std::string>{{"x/w.txt", "w"}, {"x/y/z.txt", "z"}}));
  EXPECT_EQ(Mode(dest / "x" / "y"), 0755u);
}

TEST_F(ExtractPackageTest, ExistingDestinationIsLeftAlone) {
  const fs::path dest = parent_.path() / "out";
  WriteFile(dest / "keep.txt", "mine");
  Status st = ExtractPackage(MakeArchive({{.path = "keep.txt", .content = "theirs"}}), dest);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_EQ(ReadFile(dest / "keep.txt"), "mine");
  EXPECT_EQ(Names(parent_.path()), (std::set<std::string>{"out"}));
}

TEST_F(ExtractPackageTest, RefusesParentDirectoryEscapes) {
  ExpectRefused(
      MakeArchive({{.path = "ok.txt", .content = "fine"}, {.path = "../evil", .content = "x"}}),
      StatusCode::kInvalidArgument, "'../evil'");
  ExpectRefused(MakeArchive({{.path = "a/../../evil", .content = "x"}}),
                StatusCode::kInvalidArgument, "contains '..'");
  ExpectRefused(MakeArchive({{.path = "a/..", .type = AE_IFDIR, .perm = 0755}}),
                StatusCode::kInvalidArgument, "'a/..");
  EXPECT_FALSE(fs::exists(parent_.path() / "evil"));
  EXPECT_FALSE(fs::exists(parent_.path().parent_path() / "evil"));
}

TEST_F(ExtractPackageTest, RefusesAbsolutePaths) {
  TempDir elsewhere;
  const std::string target = (elsewhere.path() / "abs").string();
  ExpectRefused(MakeArchive({{.path = target, .content = "x"}}), StatusCode::kInvalidArgument,
                "absolute path");
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(ExtractPackageTest, RefusesLinksAndSpecialFiles) {
  ExpectRefused(MakeArchive({{.path = "link", .type = AE_IFLNK, .perm = 0777, .symlink = "/etc"},
                             {.path = "link/passwd", .content = "x"}}),
                StatusCode::kInvalidArgument, "symlink 'link'");
  ExpectRefused(
      MakeArchive({{.path = "a.txt", .content = "a"}, {.path = "b.txt", .hardlink = "a.txt"}}),
      StatusCode::kInvalidArgument, "hard link 'b.txt'");
  ExpectRefused(MakeArchive({{.path = "fifo", .type = AE_IFIFO}}), StatusCode::kInvalidArgument,
                "special file 'fifo'");
  ExpectRefused(MakeArchive({{.path = "dev", .type = AE_IFCHR}}), StatusCode::kInvalidArgument,
                "special file 'dev'");
}

TEST_F(ExtractPackageTest, RefusesDuplicatesAndFileDirectoryClashes) {
  ExpectRefused(MakeArchive({{.path = "a.txt", .content = "1"}, {.path = "a.txt", .content = "2"}}),
                StatusCode::kInvalidArgument, "duplicate entry 'a.txt'");
  ExpectRefused(MakeArchive({{.path = "a", .content = "file"}, {.path = "a/b", .content = "x"}}),
                StatusCode::kInvalidArgument, "'a' is a file");
  ExpectRefused(MakeArchive({{.path = "a/b", .content = "x"}, {.path = "a", .content = "file"}}),
                StatusCode::kInvalidArgument, "duplicate entry 'a'");
  ExpectRefused(MakeArchive({{.path = "a", .content = "file"},
                             {.path = "a", .type = AE_IFDIR, .perm = 0755}}),
                StatusCode::kInvalidArgument, "duplicate entry 'a'");
}

TEST_F(ExtractPackageTest, RefusesTooManyEntriesBeforeWritingAnything) {
  std::vector<RawEntry> entries;
  entries.reserve(kMaxPackageEntries + 1);
  for (size_t i = 0; i <= kMaxPackageEntries; ++i) entries.push_back({.path = std::to_string(i)});
  ExpectRefused(MakeArchive(entries), StatusCode::kTooLarge, "more than 100000 entries");
}

TEST_F(ExtractPackageTest, RefusesAnEntryLargerThanTheLimit) {
  std::string archive =
      UstarHeaderOnly("small.txt", 0) + UstarHeaderOnly("huge.bin", kMaxPackageBytes + 1);
  archive += std::string(1024, '\0');
  ExpectRefused(archive, StatusCode::kTooLarge, "huge.bin");
}

TEST_F(ExtractPackageTest, RefusesGarbageAndTruncatedArchives) {
  ExpectRefused("this is not a tar.gz", StatusCode::kInvalidArgument, "corrupt package");
  TempDir src;
  WriteFile(src.path() / "big.txt", std::string(300000, 'q'));
  auto pkg = CreatePackage(src.path(), {});
  ASSERT_TRUE(pkg.ok());
  ExpectRefused(pkg->bytes.substr(0, pkg->bytes.size() / 2), StatusCode::kInvalidArgument,
                "corrupt package");
}

}  // namespace
}  // namespace cutover::package
