// Argument parsing: serve's options, usage errors (exit 2), --version and --help.

#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "fake_admin_server.h"

namespace cutover::cli {
namespace {

using testing::CliRunOptions;
using testing::RunCutover;

// Runs `cutover serve ARGS` with a ServeFn that records what it was given.
struct ServeCapture {
  std::optional<ServeOptions> options;
  testing::CliRun run;
};

ServeCapture RunServe(std::vector<std::string> args) {
  ServeCapture capture;
  CliRunOptions options;
  options.serve = [&capture](const ServeOptions& o) {
    capture.options = o;
    return 0;
  };
  args.insert(args.begin(), "serve");
  capture.run = RunCutover(args, options);
  return capture;
}

TEST(CliArgsTest, ServeUsesDocumentedDefaults) {
  ServeCapture c = RunServe({});
  ASSERT_EQ(c.run.exit_code, 0) << c.run.err;
  ASSERT_TRUE(c.options.has_value());
  EXPECT_EQ(c.options->dir, std::filesystem::path("."));
  EXPECT_EQ(c.options->host, "127.0.0.1");
  EXPECT_EQ(c.options->port, 3000);
  EXPECT_EQ(c.options->admin_host, "127.0.0.1");
  EXPECT_EQ(c.options->admin_port, 3001);
  EXPECT_EQ(c.options->data_dir, std::filesystem::path(".") / ".cutover");
  EXPECT_EQ(c.options->time_scale, 1.0);
  EXPECT_TRUE(c.options->version_header);
  EXPECT_EQ(c.options->workers, 0);
  EXPECT_EQ(c.options->log_level, "info");
  EXPECT_TRUE(c.options->ready_file.empty());
}

TEST(CliArgsTest, ServeParsesEveryOption) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  ServeCapture c = RunServe({"--dir",
                             dir,
                             "--host",
                             "0.0.0.0",
                             "--port",
                             "0",
                             "--admin-host",
                             "127.0.0.2",
                             "--admin-port",
                             "0",
                             "--data",
                             "/var/lib/cutover",
                             "--time-scale",
                             "60",
                             "--no-version-header",
                             "--workers",
                             "4",
                             "--log-level",
                             "debug",
                             "--ready-file",
                             "/tmp/ready.json"});
  ASSERT_EQ(c.run.exit_code, 0) << c.run.err;
  ASSERT_TRUE(c.options.has_value());
  EXPECT_EQ(c.options->dir, std::filesystem::path(dir));
  EXPECT_EQ(c.options->host, "0.0.0.0");
  EXPECT_EQ(c.options->port, 0);
  EXPECT_EQ(c.options->admin_host, "127.0.0.2");
  EXPECT_EQ(c.options->admin_port, 0);
  EXPECT_EQ(c.options->data_dir, std::filesystem::path("/var/lib/cutover"));
  EXPECT_EQ(c.options->time_scale, 60.0);
  EXPECT_FALSE(c.options->version_header);
  EXPECT_EQ(c.options->workers, 4);
  EXPECT_EQ(c.options->log_level, "debug");
  EXPECT_EQ(c.options->ready_file, std::filesystem::path("/tmp/ready.json"));
}

TEST(CliArgsTest, ServeDataDefaultsUnderDir) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path();
  ServeCapture c = RunServe({"--dir", dir.string()});
  ASSERT_EQ(c.run.exit_code, 0) << c.run.err;
  EXPECT_EQ(c.options->data_dir, dir / ".cutover");
}

TEST(CliArgsTest, ServeReturnsTheServeFunctionsExitCode) {
  CliRunOptions options;
  options.serve = [](const ServeOptions&) { return 1; };
  EXPECT_EQ(RunCutover({"serve"}, options).exit_code, 1);
}

TEST(CliArgsTest, ServeRejectsZeroTimeScale) {
  ServeCapture c = RunServe({"--time-scale", "0"});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_FALSE(c.options.has_value());
  EXPECT_NE(c.run.err.find("--time-scale must be a number greater than 0"), std::string::npos)
      << c.run.err;
}

TEST(CliArgsTest, ServeRejectsNegativeTimeScale) {
  ServeCapture c = RunServe({"--time-scale=-2"});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_FALSE(c.options.has_value());
}

TEST(CliArgsTest, ServeRejectsNonNumericTimeScale) {
  ServeCapture c = RunServe({"--time-scale", "fast"});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_FALSE(c.options.has_value());
}

TEST(CliArgsTest, ServeRejectsPortsOutOfRange) {
  EXPECT_EQ(RunServe({"--port", "65536"}).run.exit_code, 2);
  EXPECT_EQ(RunServe({"--admin-port", "-1"}).run.exit_code, 2);
  EXPECT_EQ(RunServe({"--port", "65535"}).run.exit_code, 0);
}

TEST(CliArgsTest, ServeRejectsTheSamePortTwice) {
  ServeCapture c = RunServe({"--port", "4000", "--admin-port", "4000"});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_FALSE(c.options.has_value());
}

TEST(CliArgsTest, ServeRejectsMissingDirectory) {
  ServeCapture c = RunServe({"--dir", "/nonexistent/cutover/service"});
  EXPECT_EQ(c.run.exit_code, 2);
  EXPECT_NE(c.run.err.find("not a directory"), std::string::npos) << c.run.err;
}

TEST(CliArgsTest, ServeRejectsUnknownLogLevel) {
  EXPECT_EQ(RunServe({"--log-level", "loud"}).run.exit_code, 2);
}

TEST(CliArgsTest, InvokeWithoutFunctionIsAUsageError) {
  testing::CliRun run = RunCutover({"invoke"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("FUNCTION"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(CliArgsTest, LogsWithoutFunctionIsAUsageError) {
  EXPECT_EQ(RunCutover({"logs"}).exit_code, 2);
}

TEST(CliArgsTest, DataAndDataFileExcludeEachOther) {
  EXPECT_EQ(RunCutover({"invoke", "f", "--data", "{}", "--data-file", "x.json"}).exit_code, 2);
}

TEST(CliArgsTest, UnknownCommandIsAUsageError) {
  EXPECT_EQ(RunCutover({"frobnicate"}).exit_code, 2);
}

TEST(CliArgsTest, NoCommandIsAUsageError) {
  testing::CliRun run = RunCutover({});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("serve"), std::string::npos) << run.err;
}

TEST(CliArgsTest, UnknownFlagIsAUsageError) {
  EXPECT_EQ(RunCutover({"status", "--colour"}).exit_code, 2);
}

TEST(CliArgsTest, VersionFlagPrintsTheVersion) {
  testing::CliRun run = RunCutover({"--version"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.rfind("cutover ", 0), 0u) << run.out;
}

TEST(CliArgsTest, HelpGoesToStdoutAndSucceeds) {
  testing::CliRun run = RunCutover({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("deploy"), std::string::npos);
  EXPECT_NE(run.out.find("invoke"), std::string::npos);
  testing::CliRun sub = RunCutover({"deploy", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.out.find("--stage"), std::string::npos) << sub.out;
}

TEST(CliArgsTest, MalformedAdminUrlIsAUsageError) {
  testing::CliRun run = RunCutover({"status", "--admin", "https://127.0.0.1:3001"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("only http://"), std::string::npos) << run.err;
  EXPECT_EQ(RunCutover({"status", "--admin", "http://127.0.0.1:99999"}).exit_code, 2);
}

TEST(CliArgsTest, LogsRefusesJsonWithFollow) {
  EXPECT_EQ(RunCutover({"logs", "f", "--follow", "--json"}).exit_code, 2);
}

TEST(CliArgsTest, LogsVersionIsTheSubcommandsOption) {
  // `--version` after `logs` selects a function version, not the program's version.
  const uint16_t port = testing::FreePort();
  testing::CliRun run = RunCutover(
      {"logs", "f", "--version", "2", "--admin", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
}

}  // namespace
}  // namespace cutover::cli
