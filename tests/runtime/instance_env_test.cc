#include "runtime/instance_env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "runtime_fixture.h"

namespace cutover::runtime {
namespace {

std::map<std::string, std::string> AsMap(const std::vector<std::string>& env) {
  std::map<std::string, std::string> m;
  for (const std::string& e : env) {
    size_t eq = e.find('=');
    EXPECT_NE(eq, std::string::npos) << e;
    EXPECT_EQ(m.count(e.substr(0, eq)), 0u) << "duplicate " << e;
    m[e.substr(0, eq)] = e.substr(eq + 1);
  }
  return m;
}

InstanceConfig Config(RuntimeFamily family, const std::string& runtime) {
  InstanceConfig c;
  c.key = {"orders", 12};
  c.family = family;
  c.runtime_name = runtime;
  c.handler = "src/app.handler";
  c.task_root = "/srv/task";
  c.memory_mb = 256;
  c.region = "eu-central-1";
  return c;
}

RuntimePaths Paths() {
  RuntimePaths paths;
  paths.node_ric_dir = "/opt/ric";
  paths.python_bootstrap = "/var/cutover/runtime/python_bootstrap.py";
  paths.runtime_dir = "/var/cutover/runtime";
  paths.php_function_bootstrap = "/var/cutover/runtime/php_function_bootstrap.php";
  return paths;
}

TEST(InstanceEnvTest, ReservedVariables) {
  InstanceConfig c = Config(RuntimeFamily::kNode, "nodejs20.x");
  c.environment = {{"STAGE", "dev"},       {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
                   {"TZ", "Europe/Paris"}, {"PATH", "/custom/bin"},
                   {"BAD=NAME", "x"},      {"", "empty"}};
  auto env = AsMap(BuildEnvironment(c, Paths(), {.api_port = 4242, .log_stream_name = "S"},
                                    "/usr/bin:/bin", ""));
  EXPECT_EQ(env["_HANDLER"], "src/app.handler");
  EXPECT_EQ(env["AWS_REGION"], "eu-central-1");
  EXPECT_EQ(env["AWS_DEFAULT_REGION"], "eu-central-1");
  EXPECT_EQ(env["AWS_EXECUTION_ENV"], "AWS_Lambda_nodejs20.x");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "orders");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "12");  // the executed version, never overridden
  EXPECT_EQ(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/orders");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_STREAM_NAME"], "S");
  EXPECT_EQ(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:4242");
  EXPECT_EQ(env["LAMBDA_TASK_ROOT"], "/srv/task");
  EXPECT_EQ(env["LAMBDA_RUNTIME_DIR"], "/opt/ric");
  EXPECT_EQ(env["TZ"], ":UTC");
  EXPECT_FALSE(env["AWS_ACCESS_KEY_ID"].empty());
  EXPECT_FALSE(env["AWS_SECRET_ACCESS_KEY"].empty());
  EXPECT_FALSE(env["AWS_SESSION_TOKEN"].empty());
  EXPECT_EQ(env["STAGE"], "dev");
  EXPECT_EQ(env["PATH"], "/custom/bin");  // unreserved: the function's value wins
  EXPECT_EQ(env["LANG"], "en_US.UTF-8");
  EXPECT_EQ(env.count("BAD=NAME"), 0u);
  EXPECT_EQ(env.count("BAD"), 0u);
  EXPECT_EQ(env.count(""), 0u);
}

TEST(InstanceEnvTest, DefaultsPerFamily) {
  auto provided = AsMap(BuildEnvironment(Config(RuntimeFamily::kProvided, "provided.al2"), Paths(),
                                         {.api_port = 1, .log_stream_name = "S"}, "/usr/bin", ""));
  EXPECT_EQ(provided.count("AWS_EXECUTION_ENV"), 0u);
  EXPECT_EQ(provided["LAMBDA_RUNTIME_DIR"], "/var/cutover/runtime");
  EXPECT_EQ(provided["PATH"], "/usr/bin:/opt/bin");
  EXPECT_EQ(provided["LD_LIBRARY_PATH"], "/srv/task/lib:/opt/lib");
  auto python = AsMap(BuildEnvironment(Config(RuntimeFamily::kPython, "python3.11"), Paths(),
                                       {.api_port = 1, .log_stream_name = "S"}, "/usr/bin", "/x"));
  EXPECT_EQ(python["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.11");
  EXPECT_EQ(python["PYTHONUNBUFFERED"], "1");
  EXPECT_EQ(python["LAMBDA_RUNTIME_DIR"], "/var/cutover/runtime");
  EXPECT_EQ(python["LD_LIBRARY_PATH"], "/x:/srv/task/lib:/opt/lib");
}

TEST(InstanceEnvTest, ReservedNames) {
  EXPECT_TRUE(IsReservedVariable("AWS_LAMBDA_RUNTIME_API"));
  EXPECT_TRUE(IsReservedVariable("_HANDLER"));
  EXPECT_TRUE(IsReservedVariable("TZ"));
  EXPECT_FALSE(IsReservedVariable("PATH"));
  EXPECT_FALSE(IsReservedVariable("LANG"));
  EXPECT_FALSE(IsReservedVariable("MY_VAR"));
}

TEST(InstanceEnvTest, LogStreamName) {
  SystemTime t = FromEpochMillis(1'795'780'800'000);  // 2026-11-27T12:00:00Z
  EXPECT_EQ(LogStreamName(t, 7, 0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "2026/11/27/[7]0123456789abcdeffedcba9876543210");
}

TEST(InstanceEnvTest, CommandLines) {
  std::filesystem::path dir = testing::MakeTempDir();
  InstanceConfig provided = Config(RuntimeFamily::kProvided, "provided.al2");
  provided.task_root = dir;
  auto missing = BuildArgv(provided, Paths());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("Couldn't find valid bootstrap"), std::string::npos);

  std::ofstream(dir / "bootstrap") << "#!/bin/sh\n";
  std::filesystem::permissions(dir / "bootstrap", std::filesystem::perms::owner_read);
  auto not_executable = BuildArgv(provided, Paths());
  ASSERT_FALSE(not_executable.ok());
  EXPECT_NE(not_executable.status().message().find("permission denied"), std::string::npos);

  std::filesystem::permissions(dir / "bootstrap", std::filesystem::perms::owner_all);
  auto argv = BuildArgv(provided, Paths());
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, std::vector<std::string>{(dir / "bootstrap").string()});

  RuntimePaths paths = Paths();
  paths.node_ric_dir = std::filesystem::path(CUTOVER_SOURCE_DIR) / "third_party" / "node";
  std::filesystem::path entry = paths.node_ric_dir / "node_modules/aws-lambda-ric/bin/index.mjs";
  if (std::filesystem::exists(entry)) {  // installed by `make deps`
    auto node = BuildArgv(Config(RuntimeFamily::kNode, "nodejs20.x"), paths);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    // Lambda's flags, the heap sized from memorySize 256: 25 MB young, 231 MB old.
    EXPECT_EQ(*node, (std::vector<std::string>{"node", "--expose-gc", "--max-http-header-size",
                                               "81920", "--max-semi-space-size=12",
                                               "--max-old-space-size=231", entry.string(),
                                               "src/app.handler"}));
  }
  EXPECT_FALSE(BuildArgv(Config(RuntimeFamily::kNode, "nodejs20.x"), Paths()).ok());

  paths.python_bootstrap = dir / "bootstrap";  // any existing file
  auto python = BuildArgv(Config(RuntimeFamily::kPython, "python3.11"), paths);
  ASSERT_TRUE(python.ok());
  EXPECT_EQ(*python, (std::vector<std::string>{"python3", (dir / "bootstrap").string()}));

  EXPECT_FALSE(BuildArgv(Config(RuntimeFamily::kPhpFpm, "php-82-fpm"), paths).ok());
  std::filesystem::remove_all(dir);
}

TEST(InstanceEnvTest, LimitsComeFromMemorySizeAndTheServiceSettings) {
  InstanceConfig c = Config(RuntimeFamily::kPython, "python3.11");  // memory_mb = 256
  LaunchSpec spec;
  ApplyLimits(c,
              ProcessLimits{.memory = true, .max_processes = 1024, .run_as = RunAs{65534, 65533}},
              &spec);
  EXPECT_EQ(spec.data_limit_bytes, 256ull << 20);
  EXPECT_EQ(spec.max_processes, 1024u);
  ASSERT_TRUE(spec.run_as.has_value());
  EXPECT_EQ(spec.run_as->uid, 65534u);
  EXPECT_EQ(spec.run_as->gid, 65533u);

  LaunchSpec unlimited;
  ApplyLimits(c, ProcessLimits{.memory = false, .max_processes = 0, .run_as = std::nullopt},
              &unlimited);
  EXPECT_EQ(unlimited.data_limit_bytes, 0u);
  EXPECT_EQ(unlimited.max_processes, 0u);
  EXPECT_FALSE(unlimited.run_as.has_value());
}

// Bref's function and console layers: a shell loop starting a fresh PHP process each time.
TEST(InstanceEnvTest, PhpFunctionCommandLine) {
  std::filesystem::path dir = testing::MakeTempDir();
  std::ofstream(dir / "php") << "#!/bin/sh\n";
  std::filesystem::permissions(dir / "php", std::filesystem::perms::owner_all);
  std::ofstream(dir / "php_function_bootstrap.php") << "<?php\n";
  RuntimePaths paths = Paths();
  paths.php_cli = dir / "php";
  paths.php_function_bootstrap = dir / "php_function_bootstrap.php";

  auto function = BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-82"), paths);
  ASSERT_TRUE(function.ok()) << function.status().ToString();
  const std::string loop =
      R"(while :; do "$0" "$1" "$2"; s=$?; case $s in 69|126|127) exit $s;; esac; done)";
  EXPECT_EQ(*function,
            (std::vector<std::string>{"/bin/sh", "-c", loop, (dir / "php").string(),
                                      (dir / "php_function_bootstrap.php").string(), "function"}));
  auto console = BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-82-console"), paths);
  ASSERT_TRUE(console.ok()) << console.status().ToString();
  EXPECT_EQ(console->back(), "console");

  // A bare name is looked up on the daemon's PATH (the function may set its own).
  paths.php_cli = "sh";
  auto on_path = BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-74"), paths);
  ASSERT_TRUE(on_path.ok()) << on_path.status().ToString();
  EXPECT_EQ((*on_path)[3].front(), '/') << (*on_path)[3];
  EXPECT_EQ(std::filesystem::path((*on_path)[3]).filename(), "sh");

  paths.php_cli = "cutover-no-such-php";
  auto no_php = BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-82"), paths);
  ASSERT_FALSE(no_php.ok());
  EXPECT_NE(no_php.status().message().find("cutover-no-such-php"), std::string::npos);
  paths.php_cli = dir / "missing-php";
  EXPECT_FALSE(BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-82"), paths).ok());

  paths.php_cli = dir / "php";
  paths.php_function_bootstrap = dir / "missing.php";
  auto no_bootstrap = BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-82"), paths);
  ASSERT_FALSE(no_bootstrap.ok());
  EXPECT_NE(no_bootstrap.status().message().find("missing.php"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// The loop itself, with a stand-in for PHP that records each start and exits as told: a fresh
// process per round, and the statuses that end it.
TEST(InstanceEnvTest, PhpFunctionLoopRestartsAndStops) {
  std::filesystem::path dir = testing::MakeTempDir();
  // Exits 0, then 1, then 255, then 69: four processes, and the loop's status is 69.
  std::ofstream(dir / "php")
      << "#!/bin/sh\n"
         "echo \"$$ $1 $2\" >> \"$(dirname \"$0\")/starts\"\n"
         "n=$(wc -l < \"$(dirname \"$0\")/starts\")\n"
         "case $n in 1) exit 0;; 2) exit 1;; 3) exit 255;; *) exit 69;; esac\n";
  std::filesystem::permissions(dir / "php", std::filesystem::perms::owner_all);
  std::ofstream(dir / "bootstrap.php") << "<?php\n";
  RuntimePaths paths = Paths();
  paths.php_cli = dir / "php";
  paths.php_function_bootstrap = dir / "bootstrap.php";
  auto argv = BuildArgv(Config(RuntimeFamily::kPhpFunction, "php-82"), paths);
  ASSERT_TRUE(argv.ok()) << argv.status().ToString();
  std::string command;
  for (const std::string& arg : *argv) {
    std::string quoted = "'";
    for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += quoted + "' ";
  }
  int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 69);
  std::ifstream in(dir / "starts");
  std::vector<std::string> starts;
  for (std::string line; std::getline(in, line);) starts.push_back(line);
  ASSERT_EQ(starts.size(), 4u);
  std::set<std::string> pids;
  for (const std::string& line : starts) {
    EXPECT_NE(line.find((dir / "bootstrap.php").string() + " function"), std::string::npos) << line;
    pids.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(pids.size(), 4u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cutover::runtime
