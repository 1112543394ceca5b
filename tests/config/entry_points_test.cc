// CheckEntryPoints: bootstrap / handler files exist under the service directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "test_util.h"

namespace cutover::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class EntryPointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cutover-config-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& relative, bool executable = false) {
    fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "content\n";
    fs::permissions(path, executable ? fs::perms(0755) : fs::perms(0644));
  }

  // Parses `yaml` with file checks against the temporary directory.
  Result<ServiceSpec> Load(const std::string& yaml) {
    LoadOptions options = testing::Options();
    options.check_files = true;
    return ParseServiceSpec(yaml, "serverless.yml", dir_, options);
  }

  static std::string OneFunction(const std::string& runtime, const std::string& handler,
                                 const std::string& extra = "") {
    return "service: demo\nprovider:\n  name: aws\n  runtime: " + runtime +
           "\nfunctions:\n  fn:\n    handler: " + handler + "\n" + extra;
  }

  fs::path dir_;
};

TEST_F(EntryPointsTest, ProvidedNeedsAnExecutableBootstrap) {
  const std::string yaml = OneFunction("provided.al2", "function.handler");
  Result<ServiceSpec> missing = Load(yaml);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(
      missing.status().message(),
      StartsWith("serverless.yml:7:14: function 'fn': runtime provided.al2 runs ./bootstrap, "
                 "which is missing in "));

  Write("bootstrap", /*executable=*/false);
  Result<ServiceSpec> not_executable = Load(yaml);
  ASSERT_FALSE(not_executable.ok());
  EXPECT_THAT(not_executable.status().message(),
              StartsWith("serverless.yml:7:14: function 'fn': "));
  EXPECT_THAT(not_executable.status().message(),
              HasSubstr("is not executable (chmod +x bootstrap)"));

  Write("bootstrap", /*executable=*/true);
  EXPECT_TRUE(Load(yaml).ok());
}

TEST_F(EntryPointsTest, NodeLooksForJsMjsAndCjsModules) {
  Result<ServiceSpec> missing = Load(OneFunction("nodejs20.x", "src/handler.hello"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "serverless.yml:7:14: function 'fn': handler 'src/handler.hello' not found (looked for "
            "src/handler.js, src/handler.mjs, src/handler.cjs in " +
                dir_.string() + ")");
  Write("src/handler.mjs");
  EXPECT_TRUE(Load(OneFunction("nodejs20.x", "src/handler.hello")).ok());
  Write("index.cjs");
  EXPECT_TRUE(Load(OneFunction("nodejs22.x", "index.handlers.main")).ok());
}

TEST_F(EntryPointsTest, PythonLooksForTheModuleFile) {
  Result<ServiceSpec> missing = Load(OneFunction("python3.12", "handler.hello"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("looked for handler.py, handler/__init__.py"));
  Write("handler.py");
  EXPECT_TRUE(Load(OneFunction("python3.12", "handler.hello")).ok());
  Write("pkg/mod.py");
  EXPECT_TRUE(Load(OneFunction("python3.11", "pkg.mod.run")).ok());
}

TEST_F(EntryPointsTest, PhpNeedsTheHandlerFile) {
  const std::string yaml = OneFunction("provided.al2", "public/index.php",
                                       "    layers:\n      - ${bref:layer.php-74-fpm}\n");
  Result<ServiceSpec> missing = Load(yaml);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(
      missing.status().message(),
      StartsWith("serverless.yml:7:14: function 'fn': handler 'public/index.php' not found"));
  Write("public/index.php");
  EXPECT_TRUE(Load(yaml).ok());
}

TEST_F(EntryPointsTest, ChecksSpecsWithoutLocationsToo) {
  ServiceSpec spec;
  spec.service = "demo";
  FunctionSpec function;
  function.key = "fn";
  function.handler = "index.php";
  function.kind = RuntimeKind::kPhpFunction;
  spec.functions.push_back(function);
  Status status = CheckEntryPoints(spec, dir_);
  EXPECT_THAT(status.message(), StartsWith("function 'fn': handler 'index.php' not found"));
  Write("index.php");
  EXPECT_TRUE(CheckEntryPoints(spec, dir_).ok());
}

TEST_F(EntryPointsTest, RejectsHandlersOutsideTheRoot) {
  Write("index.php");
  ServiceSpec spec;
  FunctionSpec function;
  function.key = "fn";
  function.kind = RuntimeKind::kPhpFpm;
  function.where = SourceLocation{"serverless.yml", 3, 3};
  for (const char* handler : {"../index.php", "/etc/passwd", "a/../../index.php"}) {
    function.handler = handler;
    spec.functions = {function};
    Status status = CheckEntryPoints(spec, dir_);
    EXPECT_THAT(status.message(),
                StartsWith("serverless.yml:3:3: function 'fn': handler '" + std::string(handler) +
                           "' must be a relative path inside the service directory"));
  }
}

TEST_F(EntryPointsTest, SkipsFileChecksWhenAskedTo) {
  LoadOptions options = testing::Options();
  options.check_files = false;
  EXPECT_TRUE(
      ParseServiceSpec(OneFunction("provided.al2", "x"), "serverless.yml", dir_, options).ok());
}

}  // namespace
}  // namespace cutover::config
