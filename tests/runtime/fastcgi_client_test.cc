// FastCgiPool (src/runtime/fastcgi_client.h) against a real php-fpm 8.2 started per test from a
// generated config (testdata/fastcgi/app.php is the script), and against small fake FastCGI
// servers for the failures php-fpm does not produce on demand. Every test runs in both connection
// modes. Speed is printed by the DISABLED_ throughput test at the end, run by hand; nothing here
// asserts a timing.
#include "runtime/fastcgi_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "runtime/fastcgi_params.h"
#include "runtime/process_launcher.h"
#include "support/procfs.h"

namespace cutover::runtime::fastcgi {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kPhpFpm[] = "/usr/sbin/php-fpm8.2";
constexpr auto kWait = std::chrono::seconds(30);  // generous: the box may be busy

fs::path ScriptDir() {
  return fs::path(CUTOVER_SOURCE_DIR) / "tests" / "runtime" / "testdata" / "fastcgi";
}

fs::path MakeTempDir() {
  // Short: a unix socket path must fit in 108 bytes.
  std::string tmpl = "/tmp/cutover-fcgi-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool CanConnect(const fs::path& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// A php-fpm master (pm = static) with its config, socket, pid file and log in `dir`.
class PhpFpm {
 public:
  struct Options {
    int children = 2;
    int max_requests = 0;  // pm.max_requests: 0 = children live forever
    std::string script_env = "from-master";
  };

  // Starts php-fpm and waits until its socket accepts connections. Fails the test (and returns
  // null) when it does not come up.
  static std::unique_ptr<PhpFpm> Start(const fs::path& dir, Options options) {
    auto fpm = std::unique_ptr<PhpFpm>(new PhpFpm(dir));
    std::ofstream conf(fpm->conf_);
    conf << "[global]\n"
         << "pid = " << (dir / "php-fpm.pid").string() << "\n"
         << "error_log = " << fpm->log_.string() << "\n"
         << "daemonize = no\n"
         << "[cutover]\n"
         << "listen = " << fpm->socket_.string() << "\n"
         << "listen.mode = 0600\n"
         << "pm = static\n"
         << "pm.max_children = " << options.children << "\n"
         << "pm.max_requests = " << options.max_requests << "\n"
         << "clear_env = no\n"
         << "catch_workers_output = yes\n"
         << "decorate_workers_output = no\n"
         << "php_admin_value[display_errors] = Off\n"
         << "php_admin_value[log_errors] = On\n"
         << "php_admin_value[post_max_size] = 16M\n";
    conf.close();
    LaunchSpec spec;
    spec.argv = {kPhpFpm, "-F", "-y", fpm->conf_.string()};
    // As root, php-fpm wants either -R or user/group lines; -R keeps the socket ours.
    if (::geteuid() == 0) spec.argv.push_back("-R");
    spec.env = {"PATH=/usr/sbin:/usr/bin:/bin", "CUTOVER_FCGI_TEST=" + options.script_env};
    spec.cwd = dir;
    Result<LaunchedProcess> launched = fpm->launcher_->Launch(spec);
    if (!launched.ok()) {
      ADD_FAILURE() << "php-fpm: " << launched.status().ToString();
      return nullptr;
    }
    fpm->process_ = std::move(launched).value();
    // Poll the condition (the socket accepts), with a deadline; check that php-fpm still runs.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!CanConnect(fpm->socket_)) {
      if (auto exited = fpm->launcher_->TryReap(fpm->process_.pid)) {
        fpm->process_.pid = -1;
        ADD_FAILURE() << "php-fpm exited (" << exited->Describe() << "): " << fpm->Log();
        return nullptr;
      }
      if (Clock::now() > deadline) {
        ADD_FAILURE() << "php-fpm socket not ready after 10 s: " << fpm->Log();
        return nullptr;
      }
      ::poll(nullptr, 0, 2);
    }
    return fpm;
  }

  ~PhpFpm() { Stop(SIGTERM); }

  const fs::path& socket() const { return socket_; }
  pid_t pid() const { return process_.pid; }
  std::string Log() const { return ReadFile(log_); }

  // Signals the process group, waits for the master's exit (the pidfd says when), SIGKILLs what
  // is left after 10 s.
  void Stop(int signal) {
    if (process_.pid < 0) return;
    launcher_->SignalGroup(process_.pid, signal);
    if (process_.exit_fd.valid()) {
      pollfd fd{process_.exit_fd.get(), POLLIN, 0};
      if (::poll(&fd, 1, 10000) <= 0) launcher_->SignalGroup(process_.pid, SIGKILL);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!launcher_->TryReap(process_.pid)) {
      if (Clock::now() > deadline) launcher_->SignalGroup(process_.pid, SIGKILL);
      ::poll(nullptr, 0, 5);
    }
    process_.pid = -1;
  }

 private:
  explicit PhpFpm(const fs::path& dir)
      : conf_(dir / "php-fpm.conf"),
        socket_(dir / "php-fpm.sock"),
        log_(dir / "php-fpm.log"),
        launcher_(NewPosixProcessLauncher()) {}

  fs::path conf_;
  fs::path socket_;
  fs::path log_;
  std::unique_ptr<ProcessLauncher> launcher_;
  LaunchedProcess process_;
};

// What a FakeFastCgiServer does after reading a request.
struct FakeReply {
  std::string bytes;  // written back
  bool close = true;  // then close the connection (else read the next request on it)
  bool hold = false;  // write nothing; keep the connection until the client closes it
};

// Reads requests (each up to its empty STDIN record) and answers each with `reply(n)`, n counting
// requests across all connections from 0.
class FakeFastCgiServer {
 public:
  FakeFastCgiServer(fs::path path, std::function<FakeReply(int)> reply)
      : path_(std::move(path)), reply_(std::move(reply)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeFastCgiServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

 private:
  void Serve() {
    int requests = 0;
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      const std::string end_of_stdin("\x01\x05\x00\x01\x00\x00\x00\x00", 8);
      char buf[4096];
      for (;;) {
        std::string request;
        while (request.size() < 8 || request.compare(request.size() - 8, 8, end_of_stdin) != 0) {
          ssize_t n = ::read(fd, buf, sizeof(buf));
          if (n <= 0) break;
          request.append(buf, static_cast<size_t>(n));
        }
        if (request.empty()) break;
        FakeReply reply = reply_(requests++);
        if (reply.hold) {
          while (::read(fd, buf, sizeof(buf)) > 0) {
          }
          break;
        }
        (void)::write(fd, reply.bytes.data(), reply.bytes.size());
        if (reply.close) break;
      }
      ::close(fd);
    }
  }

  fs::path path_;
  std::function<FakeReply(int)> reply_;
  int listen_fd_ = -1;
  std::thread thread_;
};

std::string StdoutRecord(std::string_view s) {
  std::string out;
  AppendRecord(out, RecordType::kStdout, 1, s);
  return out;
}
std::string EndRecord(uint8_t protocol_status = 0) {
  std::string out;
  AppendRecord(
      out, RecordType::kEndRequest, 1,
      std::string("\0\0\0\0", 4) + static_cast<char>(protocol_status) + std::string("\0\0\0", 3));
  return out;
}

class FastCgiClientTest : public ::testing::TestWithParam<ConnectionMode> {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    for (int i = 0; i < 2; ++i) {
      auto& context = contexts_.emplace_back(std::make_unique<asio::io_context>(1));
      work_.push_back(asio::make_work_guard(*context));
      threads_.emplace_back([c = context.get()] { c->run(); });
    }
  }

  void TearDown() override {
    if (pool_) pool_->Shutdown();
    pool_.reset();
    work_.clear();
    for (auto& c : contexts_) c->stop();
    for (auto& t : threads_) t.join();
    if (fpm_ && HasFailure()) std::fprintf(stderr, "php-fpm log:\n%s\n", fpm_->Log().c_str());
    fpm_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts php-fpm; skips the test when it is not installed.
  bool StartFpm(PhpFpm::Options options = {}) {
    if (!fs::exists(kPhpFpm)) {
      ADD_FAILURE() << kPhpFpm << " is not installed (scripts/install-deps installs php8.2-fpm)";
      return false;
    }
    fpm_ = PhpFpm::Start(dir_, options);
    return fpm_ != nullptr;
  }

  FastCgiPool& MakePool(fs::path socket, int max_connections = 2, size_t max_queue = 1024,
                        ResponseLimits limits = {}) {
    FastCgiPoolOptions options;
    options.socket_path = std::move(socket);
    options.max_connections = max_connections;
    options.max_queue = max_queue;
    options.mode = GetParam();
    options.limits = limits;
    for (auto& c : contexts_) options.contexts.push_back(c.get());
    auto pool = FastCgiPool::Create(std::move(options));
    EXPECT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = std::move(pool).value();
    return *pool_;
  }
  FastCgiPool& FpmPool(int max_connections = 2, size_t max_queue = 1024,
                       ResponseLimits limits = {}) {
    return MakePool(fpm_->socket(), max_connections, max_queue, limits);
  }

  static FastCgiRequest Request(std::string method, std::string path, std::string query = "",
                                std::vector<std::pair<std::string, std::string>> headers = {},
                                std::string body = "") {
    FastCgiHttpRequest http;
    http.method = std::move(method);
    http.path = std::move(path);
    http.raw_query = std::move(query);
    http.headers = std::move(headers);
    http.body_size = body.size();
    http.task_root = ScriptDir().string();
    http.handler = "app.php";
    http.request_context_json = R"({"stage":"test"})";
    FastCgiRequest r;
    r.params = BuildBrefParams(http);
    r.body = std::move(body);
    return r;
  }

  std::future<Result<FastCgiResponse>> Send(FastCgiRequest request,
                                            milliseconds timeout = milliseconds(20000)) {
    auto promise = std::make_shared<std::promise<Result<FastCgiResponse>>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto future = promise->get_future();
    pool_->Execute(std::move(request), Clock::now() + timeout,
                   [promise, calls](Result<FastCgiResponse> r) {
                     int n = ++*calls;
                     EXPECT_EQ(n, 1) << "callback called more than once";
                     if (n == 1) promise->set_value(std::move(r));
                   });
    return future;
  }

  static Result<FastCgiResponse> Await(std::future<Result<FastCgiResponse>>& f) {
    if (f.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within " << kWait.count() << " s";
      return Internal("no answer");
    }
    return f.get();
  }

  Result<FastCgiResponse> Call(FastCgiRequest request, milliseconds timeout = milliseconds(20000)) {
    auto f = Send(std::move(request), timeout);
    return Await(f);
  }

  static std::vector<std::string> HeaderValues(const CgiResponse& r, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : r.headers) {
      if (n == name) out.push_back(v);
    }
    return out;
  }

  static boost::json::object Json(const FastCgiResponse& r) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.http.body, ec);
    EXPECT_FALSE(ec) << r.http.body;
    return v.is_object() ? v.as_object() : boost::json::object{};
  }

  static std::string Str(const boost::json::object& o, std::string_view key) {
    const boost::json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "<missing>";
  }

  fs::path dir_;
  std::unique_ptr<PhpFpm> fpm_;
  std::shared_ptr<FastCgiPool> pool_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

INSTANTIATE_TEST_SUITE_P(Modes, FastCgiClientTest,
                         ::testing::Values(ConnectionMode::kNewConnection,
                                           ConnectionMode::kKeepConnections),
                         [](const auto& info) {
                           return info.param == ConnectionMode::kNewConnection ? "NewConnection"
                                                                               : "KeepConnections";
                         });

// ---- Against php-fpm -----------------------------------------------------------------------

TEST_P(FastCgiClientTest, GetWithAQueryString) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto r = Call(Request("GET", "/echo", "a=1&b=two%20words",
                        {{"Host", "example.test"}, {"X-Custom", "v1"}, {"x-custom", "v2"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http.status, 200);
  EXPECT_EQ(HeaderValues(r->http, "Content-Type"), std::vector<std::string>{"application/json"});
  auto body = Json(*r);
  EXPECT_EQ(Str(body, "method"), "GET");
  EXPECT_EQ(Str(body.at("get").as_object(), "a"), "1");
  EXPECT_EQ(Str(body.at("get").as_object(), "b"), "two words");
  const auto& server = body.at("server").as_object();
  EXPECT_EQ(Str(server, "REQUEST_URI"), "/echo?a=1&b=two%20words");
  EXPECT_EQ(Str(server, "QUERY_STRING"), "a=1&b=two%20words");
  EXPECT_EQ(Str(server, "PATH_INFO"), "/echo");
  EXPECT_EQ(Str(server, "SCRIPT_FILENAME"), (ScriptDir() / "app.php").string());
  EXPECT_EQ(Str(server, "SERVER_SOFTWARE"), "bref");
  EXPECT_EQ(Str(server, "SERVER_NAME"), "example.test");
  EXPECT_EQ(Str(server, "REMOTE_ADDR"), "127.0.0.1");
  EXPECT_EQ(Str(server, "HTTP_X_CUSTOM"), "v2");
  EXPECT_EQ(Str(server, "LAMBDA_REQUEST_CONTEXT"), R"({"stage":"test"})");
  // clear_env = no: the master's environment reaches the script.
  EXPECT_EQ(Str(body, "env"), "from-master");
}

TEST_P(FastCgiClientTest, PostFormAndJsonBodies) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto form = Call(Request("POST", "/echo", "", {}, "name=cutover&n=2"));
  ASSERT_TRUE(form.ok()) << form.status().ToString();
  auto body = Json(*form);
  EXPECT_EQ(Str(body.at("post").as_object(), "name"), "cutover");
  EXPECT_EQ(Str(body.at("server").as_object(), "CONTENT_TYPE"),
            "application/x-www-form-urlencoded");

  auto json = Call(Request("POST", "/echo", "", {{"Content-Type", "application/json"}},
                           R"({"k":[1,2],"s":"x"})"));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  body = Json(*json);
  EXPECT_EQ(Str(body.at("json").as_object(), "s"), "x");
  EXPECT_EQ(body.at("json").as_object().at("k").as_array().size(), 2u);
  EXPECT_EQ(Str(body.at("server").as_object(), "CONTENT_LENGTH"), "19");
}

TEST_P(FastCgiClientTest, FiveMegabyteUpload) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  std::string upload(5 * 1024 * 1024, '\0');
  uint64_t x = 88172645463325252ULL;
  for (char& c : upload) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  const std::string sha = Sha256Hex(upload);
  auto r = Call(Request("POST", "/upload", "", {{"Content-Type", "application/octet-stream"}},
                        std::move(upload)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto body = Json(*r);
  EXPECT_EQ(body.at("length").as_int64(), 5 * 1024 * 1024);
  EXPECT_EQ(Str(body, "sha256"), sha);
}

TEST_P(FastCgiClientTest, RepeatedHeadersAndSetCookieKeepTheirOrder) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto r = Call(Request("GET", "/cookies"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(HeaderValues(r->http, "Set-Cookie"), (std::vector<std::string>{"first=1", "second=2"}));
  EXPECT_EQ(HeaderValues(r->http, "X-Repeated"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(r->http.body, "cookies");
}

TEST_P(FastCgiClientTest, BinaryBody) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto r = Call(Request("GET", "/binary"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(r->http.body, bytes + "\r\n\r\n" + bytes);
}

TEST_P(FastCgiClientTest, StatusAndLocation) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto missing = Call(Request("GET", "/status"));
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->http.status, 404);
  EXPECT_EQ(missing->http.body, "not here");
  auto redirect = Call(Request("GET", "/redirect"));
  ASSERT_TRUE(redirect.ok()) << redirect.status().ToString();
  EXPECT_EQ(redirect->http.status, 302);
  EXPECT_EQ(HeaderValues(redirect->http, "Location"), std::vector<std::string>{"/elsewhere"});
}

TEST_P(FastCgiClientTest, FatalErrorIsA500Response) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto r = Call(Request("GET", "/fatal"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http.status, 500);
  EXPECT_NE(r->stderr_output.find("cutover_no_such_function"), std::string::npos)
      << r->stderr_output;
  // The pool is fine afterwards.
  auto next = Call(Request("GET", "/echo"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->http.status, 200);
}

TEST_P(FastCgiClientTest, StderrIsSeparatedFromTheBody) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  auto r = Call(Request("GET", "/stderr"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http.body, "logged");
  EXPECT_NE(r->stderr_output.find("cutover-stderr-line"), std::string::npos) << r->stderr_output;
}

TEST_P(FastCgiClientTest, InfiniteLoopHitsTheDeadlineAndFreesTheSlot) {
  ASSERT_TRUE(StartFpm());
  FastCgiPool& pool = FpmPool();
  auto r = Call(Request("GET", "/loop"), milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_EQ(pool.Stats().open, 0);
  // The other child still answers (the runtime would kill the looping one).
  auto next = Call(Request("GET", "/echo"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
}

TEST_P(FastCgiClientTest, LargeResponseAndTheOutputLimit) {
  ASSERT_TRUE(StartFpm());
  FpmPool(2, 1024, ResponseLimits{.max_stdout = 3 * 1024 * 1024 + 1024});
  auto big = Call(Request("GET", "/big", "n=3145728"));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->http.body.size(), 3145728u);
  auto over = Call(Request("GET", "/big", "n=3200000"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kTooLarge) << over.status().ToString();
  auto after = Call(Request("GET", "/echo"));
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST_P(FastCgiClientTest, TwentyConcurrentRequestsOnTwoConnectionsAllComplete) {
  ASSERT_TRUE(StartFpm());
  FastCgiPool& pool = FpmPool(2);
  std::vector<std::future<Result<FastCgiResponse>>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(Send(Request("GET", "/slow", "ms=20")));
  for (auto& f : futures) {
    auto r = Await(f);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->http.body, "slow");
  }
  FastCgiPoolStats s = pool.Stats();
  EXPECT_LE(s.peak_open, 2);
  EXPECT_EQ(s.waiting, 0u);
  if (GetParam() == ConnectionMode::kKeepConnections) {
    EXPECT_LE(s.connects, 2u);
    EXPECT_EQ(s.reuses, 18u);
    EXPECT_EQ(s.idle, s.open);
  } else {
    EXPECT_EQ(s.connects, 20u);
    EXPECT_EQ(s.open, 0);
  }
}

TEST_P(FastCgiClientTest, AFullQueueIsResourceExhausted) {
  ASSERT_TRUE(StartFpm());
  FpmPool(1, 1);
  auto first = Send(Request("GET", "/slow", "ms=300"));
  auto second = Send(Request("GET", "/slow", "ms=1"));
  auto third = Send(Request("GET", "/slow", "ms=1"));
  auto r3 = Await(third);
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.status().code(), StatusCode::kResourceExhausted) << r3.status().ToString();
  EXPECT_TRUE(Await(first).ok());
  EXPECT_TRUE(Await(second).ok());
}

TEST_P(FastCgiClientTest, WaitingPastTheDeadlineIsDeadlineExceeded) {
  ASSERT_TRUE(StartFpm());
  FastCgiPool& pool = FpmPool(1);
  auto slow = Send(Request("GET", "/slow", "ms=1000"));
  auto waiting = Send(Request("GET", "/echo"), milliseconds(100));
  auto r = Await(waiting);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("no php-fpm connection became free"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(pool.Stats().waiting, 0u);
  EXPECT_TRUE(Await(slow).ok());
}

// pm.max_requests = 3: every child exits after three requests and closes its kept connection.
// The pool notices the closed idle connection (or retries once) and nothing fails.
TEST_P(FastCgiClientTest, SurvivesChildrenRecycledUnderKeptConnections) {
  ASSERT_TRUE(StartFpm({.children = 2, .max_requests = 3}));
  FastCgiPool& pool = FpmPool(2);
  for (int i = 0; i < 30; ++i) {
    auto r = Call(Request("GET", "/echo", "i=" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
  }
  FastCgiPoolStats s = pool.Stats();
  if (GetParam() == ConnectionMode::kKeepConnections) {
    EXPECT_GT(s.stale_dropped + s.retries, 0u);
    EXPECT_GE(s.connects, 9u);
  }
}

TEST_P(FastCgiClientTest, AStoppedPhpFpmIsUnavailable) {
  ASSERT_TRUE(StartFpm());
  FpmPool();
  ASSERT_TRUE(Call(Request("GET", "/echo")).ok());
  fpm_->Stop(SIGKILL);
  auto r = Call(Request("GET", "/echo"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

// ---- Failures php-fpm does not produce on demand -------------------------------------------

TEST_P(FastCgiClientTest, NoSocketIsUnavailable) {
  MakePool(dir_ / "missing.sock");
  auto r = Call(Request("GET", "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("connect to php-fpm"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(pool_->Stats().open, 0);
}

TEST_P(FastCgiClientTest, MalformedAnswersAreUnavailable) {
  struct Case {
    std::string name;
    std::string answer;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"bad version", std::string("\x02\x06\x00\x01\x00\x01\x07\x00x\0\0\0\0\0\0\0", 16),
       "malformed FastCGI response"},
      {"truncated", StdoutRecord("Status: 200\r\n\r\nhalf"), "truncated"},
      {"no CGI headers", StdoutRecord("just a body") + EndRecord(), "malformed CGI response"},
      {"overloaded", EndRecord(static_cast<uint8_t>(ProtocolStatus::kOverloaded)),
       "refused the request: OVERLOADED"},
  };
  for (const auto& c : cases) {
    fs::path socket = dir_ / "fake.sock";
    fs::remove(socket);
    FakeFastCgiServer server(socket, [&](int) { return FakeReply{c.answer}; });
    MakePool(socket);
    auto r = Call(Request("POST", "/", "", {}, std::string(100000, 'b')));
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << c.name;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.name << ": " << r.status().ToString();
    EXPECT_EQ(pool_->Stats().open, 0) << c.name;
  }
}

// A kept connection that the server closes after reading the next request, without answering
// (what a recycled php-fpm child does): a GET is retried once on a new connection, a POST is not.
TEST_P(FastCgiClientTest, AReusedConnectionClosedUnansweredRetriesOnlyIdempotentRequests) {
  if (GetParam() != ConnectionMode::kKeepConnections) GTEST_SKIP() << "nothing is reused";
  fs::path socket = dir_ / "recycling.sock";
  const std::string ok = StdoutRecord("Status: 200\r\n\r\nok") + StdoutRecord("") + EndRecord();
  // 0: answered, kept; 1: closed unanswered; 2 (the retry): answered, kept; 3: closed unanswered.
  FakeFastCgiServer server(socket, [&](int n) {
    return n % 2 == 0 ? FakeReply{ok, /*close=*/false} : FakeReply{"", /*close=*/true};
  });
  FastCgiPool& pool = MakePool(socket, 1);
  auto first = Call(Request("GET", "/"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto retried = Call(Request("GET", "/"));
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(retried->http.body, "ok");
  EXPECT_EQ(pool.Stats().retries, 1u);
  auto post = Call(Request("POST", "/", "", {}, "a=1"));
  ASSERT_FALSE(post.ok());
  EXPECT_EQ(post.status().code(), StatusCode::kUnavailable) << post.status().ToString();
  EXPECT_EQ(pool.Stats().retries, 1u);
  EXPECT_EQ(pool.Stats().open, 0);
}

TEST_P(FastCgiClientTest, ASilentServerHitsTheDeadline) {
  fs::path socket = dir_ / "silent.sock";
  FakeFastCgiServer server(socket, [](int) {
    FakeReply reply;
    reply.hold = true;
    return reply;
  });
  MakePool(socket);
  auto r = Call(Request("GET", "/"), milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_EQ(pool_->Stats().open, 0);
}

TEST_P(FastCgiClientTest, BadOptionsAndOversizedParamsAreRejected) {
  FastCgiPoolOptions options;
  options.socket_path = "/tmp/x.sock";
  EXPECT_FALSE(FastCgiPool::Create(options).ok());  // no contexts
  options.contexts.push_back(contexts_[0].get());
  options.max_connections = 0;
  EXPECT_FALSE(FastCgiPool::Create(options).ok());
  options.max_connections = 1;
  options.socket_path = "/tmp/" + std::string(200, 's');
  EXPECT_FALSE(FastCgiPool::Create(options).ok());

  MakePool(dir_ / "unused.sock");
  FastCgiRequest request = Request("GET", "/", "", {{"X-Huge", std::string(70000, 'h')}});
  auto r = Call(std::move(request));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
}

TEST_P(FastCgiClientTest, ShutdownFailsWaitersAndLaterRequests) {
  ASSERT_TRUE(StartFpm());
  FastCgiPool& pool = FpmPool(1);
  auto running = Send(Request("GET", "/slow", "ms=200"));
  auto waiting = Send(Request("GET", "/echo"));
  pool.Shutdown();
  auto w = Await(waiting);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Await(running).ok());
  auto later = Call(Request("GET", "/echo"));
  EXPECT_EQ(later.status().code(), StatusCode::kUnavailable);
}

// ---- Throughput, by hand -------------------------------------------------------------------
//
//   build-fcgi/tests/runtime/runtime_test --gtest_also_run_disabled_tests
//       --gtest_filter='*DISABLED_PrintsRequestsPerSecond*'
// Environment: CUTOVER_FCGI_BENCH_CHILDREN (4, also the pool's max_connections),
// CUTOVER_FCGI_BENCH_SECONDS (5, after a 1 s warm-up), CUTOVER_FCGI_BENCH_IN_FLIGHT ("8,64").
// Run it with --gtest_repeat=N to interleave the two modes, and compare medians.

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

// CPU seconds (user + system) used so far by the live processes of process group `pgid`.
double GroupCpuSeconds(pid_t pgid) {
  double seconds = 0;
  for (pid_t pid : procfs::AllPids()) {
    const std::optional<procfs::Stat> s = procfs::ReadStat(procfs::Dir(pid));
    if (s && s->pgrp == pgid) seconds += s->cpu_seconds;
  }
  return seconds;
}

double SelfCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

struct Driver {
  FastCgiPool* pool;
  std::function<FastCgiRequest()> make;
  Clock::time_point measure_from;
  Clock::time_point stop_at;
  std::atomic<int> in_flight{0};
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> all_completed{0};  // warm-up and drain included
  std::mutex mu;
  std::vector<double> latencies_ms;  // guarded by mu
  std::promise<void> done;

  void IssueOne() {
    in_flight.fetch_add(1);
    Clock::time_point start = Clock::now();
    pool->Execute(make(), start + std::chrono::seconds(10), [this, start](auto r) {
      Clock::time_point end = Clock::now();
      if (!r.ok() || r->http.status != 200) failed.fetch_add(1);
      all_completed.fetch_add(1);
      if (start >= measure_from && end <= stop_at) {
        completed.fetch_add(1);
        std::lock_guard lock(mu);
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
      }
      if (end < stop_at) {
        IssueOne();
      }
      if (in_flight.fetch_sub(1) == 1) done.set_value();
    });
  }
};

TEST_P(FastCgiClientTest, DISABLED_PrintsRequestsPerSecond) {
  const int children = EnvInt("CUTOVER_FCGI_BENCH_CHILDREN", 4);
  const int seconds = EnvInt("CUTOVER_FCGI_BENCH_SECONDS", 5);
  ASSERT_TRUE(StartFpm({.children = children}));
  std::vector<int> windows;
  std::stringstream list(std::getenv("CUTOVER_FCGI_BENCH_IN_FLIGHT") != nullptr
                             ? std::getenv("CUTOVER_FCGI_BENCH_IN_FLIGHT")
                             : "8,64");
  for (std::string item; std::getline(list, item, ',');) windows.push_back(std::atoi(item.c_str()));
  for (int window : windows) {
    FastCgiPool& pool = FpmPool(children, 100000);
    FastCgiHttpRequest http;
    http.method = "GET";
    http.path = "/";
    http.raw_query = "a=1&b=2";
    http.headers = {{"Host", "127.0.0.1"}, {"User-Agent", "bench"}, {"Accept", "*/*"}};
    http.task_root = ScriptDir().string();
    http.handler = "bench.php";
    const Params params = BuildBrefParams(http);
    Driver driver;
    driver.pool = &pool;
    driver.make = [&params] { return FastCgiRequest{params, ""}; };
    driver.measure_from = Clock::now() + std::chrono::seconds(1);  // warm-up
    driver.stop_at = driver.measure_from + std::chrono::seconds(seconds);
    auto finished = driver.done.get_future();
    const double client_cpu_before = SelfCpuSeconds();
    const double fpm_cpu_before = GroupCpuSeconds(fpm_->pid());
    for (int i = 0; i < window; ++i) driver.IssueOne();
    ASSERT_EQ(finished.wait_for(std::chrono::seconds(seconds + 30)), std::future_status::ready);
    // CPU per request holds up better than req/s on a box shared with other work.
    const double n = static_cast<double>(std::max<int64_t>(1, driver.all_completed.load()));
    const double client_us = (SelfCpuSeconds() - client_cpu_before) * 1e6 / n;
    const double fpm_us = (GroupCpuSeconds(fpm_->pid()) - fpm_cpu_before) * 1e6 / n;
    std::vector<double>& l = driver.latencies_ms;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) {
      return l.empty() ? 0.0 : l[static_cast<size_t>(p * (l.size() - 1))];
    };
    FastCgiPoolStats s = pool.Stats();
    std::printf(
        "[fastcgi-bench] mode=%s children=%d in_flight=%d: %.0f req/s  p50 %.3f ms  p99 %.3f ms  "
        "max %.3f ms  cpu/req client %.1f us php-fpm %.1f us  (%lld ok, %lld failed, %llu "
        "connects, %llu reuses)\n",
        GetParam() == ConnectionMode::kNewConnection ? "new-connection" : "keep-connections",
        children, window, static_cast<double>(driver.completed.load()) / seconds, pct(0.5),
        pct(0.99), l.empty() ? 0.0 : l.back(), client_us, fpm_us,
        static_cast<long long>(driver.completed.load()),
        static_cast<long long>(driver.failed.load()), static_cast<unsigned long long>(s.connects),
        static_cast<unsigned long long>(s.reuses));
    std::fflush(stdout);
    EXPECT_EQ(driver.failed.load(), 0);
    pool_->Shutdown();
    pool_.reset();
  }
}

}  // namespace
}  // namespace cutover::runtime::fastcgi
