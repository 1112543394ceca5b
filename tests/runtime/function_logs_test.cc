#include "runtime/function_logs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "runtime/runtime_service.h"
#include "runtime_fixture.h"

namespace cutover::runtime {
namespace {

TEST(FunctionLogsTest, FormatsLambdaLines) {
  EXPECT_EQ(FormatStartLine("abc", 3), "START RequestId: abc Version: 3\n");
  EXPECT_EQ(FormatEndLine("abc"), "END RequestId: abc\n");
  EXPECT_EQ(FormatReportLine({.request_id = "abc",
                              .duration_ms = 1.234,
                              .memory_size_mb = 128,
                              .max_memory_used_mb = 20}),
            "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 20 MB\n");
  EXPECT_EQ(FormatReportLine({.request_id = "abc",
                              .duration_ms = 2.0,
                              .memory_size_mb = 128,
                              .max_memory_used_mb = 20,
                              .init_duration_ms = 12.345}),
            "REPORT RequestId: abc\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 20 MB\tInit Duration: 12.35 ms\n");
  EXPECT_EQ(FormatReportLine({.request_id = "abc",
                              .duration_ms = 300.4,
                              .memory_size_mb = 128,
                              .max_memory_used_mb = 20,
                              .status = "error",
                              .error_type = "Runtime.ExitError"}),
            "REPORT RequestId: abc\tDuration: 300.40 ms\tBilled Duration: 301 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 20 MB\tStatus: error\tError Type: Runtime.ExitError\n");
  // Billing rounds up to the next millisecond and bills at least 1 ms.
  EXPECT_NE(
      FormatReportLine({.request_id = "x", .duration_ms = 0.01}).find("Billed Duration: 1 ms"),
      std::string::npos);
}

class FunctionLogFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FunctionLogFileTest, AppendsFlushesAndReadsBack) {
  auto log = FunctionLog::Open(dir_, "fn", 2);
  EXPECT_EQ(log->path(), dir_ / "logs" / "fn" / "2.log");
  log->Append("one\n");
  log->Append("two\n");
  log->Flush();
  auto text = ReadFunctionLogs(dir_, "fn", 2, 1000);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "one\ntwo\n");
  EXPECT_EQ(ReadFunctionLogs(dir_, "fn", 3, 1000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFunctionLogs(dir_, "other", 0, 1000).status().code(), StatusCode::kNotFound);
}

TEST_F(FunctionLogFileTest, AFullFileIsRotatedAndAFollowerStartsTheNewOne) {
  // 100-byte files: each flush of 40 bytes that would cross 100 rotates first.
  auto log = FunctionLog::Open(dir_, "fn", 1, 100);
  const std::string line(39, 'a');
  for (int i = 0; i < 2; ++i) {
    log->Append(line + "\n");
    log->Flush();
  }
  auto before = ReadFunctionLogChunk(dir_, "fn", 1, 0, 1000);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->end_offset, 80u);
  log->Append("b\n");  // 82 bytes: still fits
  log->Flush();
  log->Append(line + "\n");  // 122 would not: rotated first
  log->Flush();
  const std::filesystem::path dir = dir_ / "logs" / "fn";
  EXPECT_EQ(std::filesystem::file_size(dir / "1.log.1"), 82u);
  EXPECT_EQ(std::filesystem::file_size(dir / "1.log"), 40u);
  // A follower at offset 82 of the old file reads the new one from its start.
  auto after = ReadFunctionLogChunk(dir_, "fn", 1, 82, 1000);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->text, line + "\n");
  EXPECT_EQ(after->end_offset, 40u);
  // Rotating again replaces the previous .1: at most two files per version.
  for (int i = 0; i < 3; ++i) {
    log->Append(line + "\n");
    log->Flush();
  }
  EXPECT_EQ(std::filesystem::file_size(dir / "1.log.1"), 80u);
  EXPECT_EQ(std::filesystem::file_size(dir / "1.log"), 80u);
  // The rotated file is not taken for a version of its own.
  auto all = ReadFunctionLogs(dir_, "fn", 0, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 80u);
}

TEST_F(FunctionLogFileTest, TailStartsAtALineBoundary) {
  auto log = FunctionLog::Open(dir_, "fn", 1);
  log->Append("first line\nsecond line\nthird\n");
  log->Flush();
  auto text = ReadFunctionLogs(dir_, "fn", 1, 15);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "third\n");
}

TEST_F(FunctionLogFileTest, AllVersionsInVersionOrder) {
  for (uint32_t v : {10u, 2u, 1u}) {
    auto log = FunctionLog::Open(dir_, "fn", v);
    log->Append("v" + std::to_string(v) + "\n");
  }  // destruction flushes
  auto text = ReadFunctionLogs(dir_, "fn", 0, 1000);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "v1\nv2\nv10\n");
  text = ReadFunctionLogs(dir_, "fn", 0, 6);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "v10\n");
}

TEST_F(FunctionLogFileTest, FunctionNamesCannotLeaveTheLogDirectory) {
  auto log = FunctionLog::Open(dir_, "../../escape", 1);
  EXPECT_EQ(log->path().parent_path().parent_path(), dir_ / "logs");
  log->Append("x\n");
  log->Flush();
  EXPECT_TRUE(ReadFunctionLogs(dir_, "../../escape", 1, 100).ok());
}

// START lines name running request ids: a function under another user (--run-as) must not read them.
TEST_F(FunctionLogFileTest, LogsAreReadableByTheDaemonsUserOnly) {
  std::filesystem::create_directories(dir_ / "logs" / "fn");
  std::ofstream(dir_ / "logs" / "fn" / "1.log") << "old\n";  // as an older daemon left it
  std::filesystem::permissions(dir_ / "logs" / "fn" / "1.log", std::filesystem::perms(0644));
  auto log = FunctionLog::Open(dir_, "fn", 1);
  log->Append("x\n");
  log->Flush();
  auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(dir_ / "logs"), 0700u);
  EXPECT_EQ(mode(dir_ / "logs" / "fn"), 0700u);
  EXPECT_EQ(mode(log->path()), 0600u);
}

// A pool exists for every published version: a descriptor held per log would grow with every
// deploy (found by the soak test: one more open file per version, never closed).
TEST_F(FunctionLogFileTest, HoldsNoDescriptorBetweenWrites) {
  auto open_to = [](const std::filesystem::path& file) {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      if (std::filesystem::read_symlink(entry.path(), ec) == file) ++count;
    }
    return count;
  };
  std::vector<std::shared_ptr<FunctionLog>> logs;
  for (uint32_t v = 1; v <= 20; ++v) logs.push_back(FunctionLog::Open(dir_, "fn", v));
  for (auto& log : logs) {
    log->Append("line\n");
    log->Flush();
  }
  for (auto& log : logs) EXPECT_EQ(open_to(log->path()), 0) << log->path();
  auto text = ReadFunctionLogs(dir_, "fn", 20, 100);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "line\n");
}

TEST(FunctionLogsTest, ReadsMaxMemoryOfALiveProcess) {
  EXPECT_GT(ReadMaxMemoryUsedMb(::getpid()), 0);
  EXPECT_EQ(ReadMaxMemoryUsedMb(-1), 0);
}

}  // namespace
}  // namespace cutover::runtime
