#include "runtime/run_as.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime_fixture.h"

namespace cutover::runtime {
namespace {

namespace fs = std::filesystem;

TEST(RunAsTest, LooksUpUsersByName) {
  auto root = LookUpUser("root");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->ids.uid, 0u);
  EXPECT_EQ(root->name, "root");
  auto missing = LookUpUser("no-such-user-cutover");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no-such-user-cutover"), std::string::npos);
}

// Judged by the permission bits of the path and every directory above it.
TEST(RunAsTest, CanReadNeedsEveryDirectoryAboveSearchable) {
  fs::path dir = testing::MakeTempDir();
  fs::create_directories(dir / "a");
  std::ofstream(dir / "a/file") << "x";
  // A user that owns nothing here and is in no group that does: only the "other" bits count.
  UserAccount stranger{.name = "stranger", .ids = {.uid = 4000000, .gid = 4000000, .groups = {}}};
  fs::permissions(dir, fs::perms(0755));
  fs::permissions(dir / "a", fs::perms(0755));
  fs::permissions(dir / "a/file", fs::perms(0644));
  EXPECT_TRUE(CanRead(stranger, dir / "a/file"));
  EXPECT_TRUE(CanRead(stranger, dir / "a"));

  fs::permissions(dir / "a/file", fs::perms(0600));
  EXPECT_FALSE(CanRead(stranger, dir / "a/file"));
  fs::permissions(dir / "a/file", fs::perms(0644));
  fs::permissions(dir, fs::perms(0700));  // the parent is not searchable
  EXPECT_FALSE(CanRead(stranger, dir / "a/file"));
  EXPECT_FALSE(CanRead(stranger, dir / "a"));
  fs::permissions(dir, fs::perms(0711));  // searchable is enough for what lies below
  EXPECT_TRUE(CanRead(stranger, dir / "a/file"));
  EXPECT_FALSE(CanRead(stranger, dir / "missing"));

  // The owner's bits apply to the owner.
  UserAccount owner = stranger;
  owner.ids.uid = ::geteuid();
  fs::permissions(dir, fs::perms(0700));
  EXPECT_TRUE(CanRead(owner, dir / "a/file"));
  fs::permissions(dir, fs::perms(0700));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cutover::runtime
