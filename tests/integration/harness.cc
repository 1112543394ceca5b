#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace cutover::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

fs::path CutoverBinary() { return fs::path(CUTOVER_BINARY_DIR) / "cutover"; }
fs::path SourceDir() { return fs::path(CUTOVER_SOURCE_DIR); }

fs::path MakeTempDir(const std::string& prefix) {
  std::string templ = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  char* made = mkdtemp(templ.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  return fs::path(made);
}

fs::path CopyAliasesService(const fs::path& root, const fs::path& bootstrap) {
  fs::path dir = root / "service";
  fs::create_directories(dir);
  fs::copy_file(SourceDir() / "tests/integration/testdata/aliases/serverless.yml",
                dir / "serverless.yml");
  fs::copy_file(bootstrap, dir / "bootstrap");
  fs::permissions(dir / "bootstrap", fs::perms::owner_all | fs::perms::group_read |
                                         fs::perms::group_exec | fs::perms::others_read |
                                         fs::perms::others_exec);
  return dir;
}

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits for a child with a deadline; returns its exit code, or -1 after killing it at the deadline.
int WaitWithDeadline(pid_t pid, std::chrono::steady_clock::duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// `err_fd` >= 0: the child's stderr is that descriptor (closed in the parent by the caller)
// instead of the file `err`.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
            const std::vector<std::string>& env = {}, int err_fd = -1) {
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = err_fd >= 0 ? err_fd : open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    setpgid(0, 0);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::string host, uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Request(const std::string& method, const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  HttpResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    beast::error_code ec;
    bool fresh = false;
    if (!impl_->stream) {
      impl_->stream = std::make_unique<beast::tcp_stream>(impl_->ioc);
      impl_->stream->expires_after(std::chrono::seconds(60));
      impl_->stream->connect(tcp::endpoint(asio::ip::make_address(impl_->host), impl_->port), ec);
      if (ec) {
        impl_->stream.reset();
        result.error = ec.message();
        return result;
      }
      impl_->buffer.clear();
      fresh = true;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, impl_->host + ":" + std::to_string(impl_->port));
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();
    impl_->stream->expires_after(std::chrono::seconds(60));
    http::write(*impl_->stream, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == "HEAD") parser.skip(true);
    if (!ec) http::read(*impl_->stream, impl_->buffer, parser, ec);
    if (ec) {
      impl_->stream.reset();
      result.error = ec.message();
      // A kept-alive connection the server closed: retry once on a fresh one.
      if (!fresh) continue;
      return result;
    }
    auto res = parser.release();
    result.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      result.headers[name] = std::string(f.value());
      result.header_list.emplace_back(name, std::string(f.value()));
    }
    result.body = std::move(res.body());
    if (!res.keep_alive()) impl_->stream.reset();
    return result;
  }
  return result;
}

CommandResult RunCutover(const std::vector<std::string>& args, std::chrono::seconds timeout,
                         const std::vector<std::string>& env) {
  std::vector<std::string> argv = {CutoverBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, timeout, env);
}

CommandResult RunProgram(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                         const std::vector<std::string>& env) {
  fs::path dir = MakeTempDir("cutover-cmd");
  pid_t pid = Spawn(argv, dir / "out", dir / "err", env);
  CommandResult r;
  r.exit_code = WaitWithDeadline(pid, timeout);
  r.out = ReadFile(dir / "out");
  r.err = ReadFile(dir / "err");
  fs::remove_all(dir);
  return r;
}

// Copies the daemon's stderr from a pipe into its log file, on its own thread, until the pipe
// ends or Finish() is called after the daemon was reaped (a process it started might still hold
// the pipe).
struct Daemon::LogCopier {
  LogCopier(int read_fd, const fs::path& path) : fd(read_fd) {
    out = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    thread = std::thread([this] { Run(); });
  }
  ~LogCopier() { Finish(); }
  void Finish() {
    done = true;
    if (thread.joinable()) thread.join();
    if (fd >= 0) close(fd);
    if (out >= 0) close(out);
    fd = out = -1;
  }
  void Run() {
    char buf[65536];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      int ready = poll(&p, 1, 50);  // wakes up to notice `done`
      if (ready == 0) {
        if (done) return;
        continue;
      }
      if (ready < 0 && errno == EINTR) continue;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) return;
        off += w;
      }
    }
  }
  int fd;
  int out = -1;
  std::atomic<bool> done{false};
  std::thread thread;
};

std::unique_ptr<Daemon> Daemon::Start(const fs::path& data_dir,
                                      const std::vector<std::string>& extra_args,
                                      const std::vector<std::string>& env) {
  DaemonOptions options;
  options.extra_args = extra_args;
  options.env = env;
  return Start(data_dir, options);
}

std::unique_ptr<Daemon> Daemon::Start(const fs::path& data_dir, const DaemonOptions& options) {
  const std::vector<std::string>& extra_args = options.extra_args;
  const std::vector<std::string>& env = options.env;
  auto d = std::unique_ptr<Daemon>(new Daemon());
  fs::create_directories(data_dir);
  fs::path ready = data_dir / "ready.json";
  fs::remove(ready);
  d->log_path_ = data_dir / "daemon.log";
  for (const std::string& kv : env) {
    if (kv.starts_with("CUTOVER_TOKEN=")) d->token_ = kv.substr(kv.find('=') + 1);
  }
  std::vector<std::string> argv = {CutoverBinary().string(),
                                   "serve",
                                   "--port",
                                   "0",
                                   "--admin-port",
                                   "0",
                                   "--data",
                                   data_dir.string(),
                                   "--ready-file",
                                   ready.string(),
                                   "--log-level",
                                   "info"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (options.log_through_pipe) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    // The child's end loses O_CLOEXEC when Spawn dup2s it onto stderr.
    d->pid_ = Spawn(argv, data_dir / "daemon.out", d->log_path_, env, fds[1]);
    close(fds[1]);
    d->log_copier_ = std::make_unique<LogCopier>(fds[0], d->log_path_);
  } else {
    d->pid_ = Spawn(argv, data_dir / "daemon.out", d->log_path_, env);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(ready)) {
    int status;
    if (waitpid(d->pid_, &status, WNOHANG) == d->pid_) {
      d->pid_ = -1;
      if (d->log_copier_) d->log_copier_->Finish();
      throw std::runtime_error("daemon exited at start: " + ReadFile(d->log_path_));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("daemon did not become ready: " + ReadFile(d->log_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
  }
  auto info = boost::json::parse(ReadFile(ready)).as_object();
  auto port_of = [](std::string_view url) {
    return static_cast<uint16_t>(std::stoi(std::string(url.substr(url.rfind(':') + 1))));
  };
  d->gateway_port_ = port_of(info["gateway"].as_string());
  d->admin_port_ = port_of(info["admin"].as_string());
  return d;
}

Daemon::~Daemon() {
  if (pid_ > 0) Stop();
}

int Daemon::Reap(std::chrono::seconds timeout) {
  int code = WaitWithDeadline(pid_, timeout);
  pid_ = -1;
  if (log_copier_) log_copier_->Finish();
  return code;
}

bool Daemon::Stop() {
  if (pid_ <= 0) return false;
  kill(pid_, SIGTERM);
  return Reap(std::chrono::seconds(20)) == 0;
}

void Daemon::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  Reap(std::chrono::seconds(20));
}

std::string Daemon::Log() const { return ReadFile(log_path_); }

std::string Daemon::admin_url() const { return "http://127.0.0.1:" + std::to_string(admin_port_); }
std::string Daemon::gateway_url() const {
  return "http://127.0.0.1:" + std::to_string(gateway_port_);
}

HttpResult Daemon::Gateway(const std::string& method, const std::string& target,
                           const std::string& body,
                           const std::map<std::string, std::string>& headers) {
  return HttpClient("127.0.0.1", gateway_port_).Request(method, target, body, headers);
}

HttpResult Daemon::Admin(const std::string& method, const std::string& target,
                         const std::string& body,
                         const std::map<std::string, std::string>& headers) {
  std::map<std::string, std::string> with_token = headers;
  if (!token_.empty()) with_token.emplace("Authorization", "Bearer " + token_);
  return HttpClient("127.0.0.1", admin_port_).Request(method, target, body, with_token);
}

CommandResult Daemon::Deploy(const fs::path& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"deploy",  "--dir",     dir.string(),
                                   "--admin", admin_url(), "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<std::string> env;
  if (!token_.empty()) env.push_back("CUTOVER_TOKEN=" + token_);
  return RunCutover(args, std::chrono::seconds(120), env);
}

std::string DeploymentIdOf(const CommandResult& deploy) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(deploy.out, ec);
  if (ec || !v.is_object()) return "";
  const boost::json::value* fns = v.as_object().if_contains("functions");
  if (fns == nullptr || !fns->is_array()) return "";
  for (const boost::json::value& f : fns->as_array()) {
    const boost::json::value* id = f.is_object() ? f.as_object().if_contains("deployment_id") : nullptr;
    if (id != nullptr && id->is_string() && !id->get_string().empty()) {
      return std::string(id->get_string());
    }
  }
  return "";
}

}  // namespace cutover::testing
