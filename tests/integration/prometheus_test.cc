// A real Prometheus server (Debian's `prometheus`, started here on a free loopback port) scrapes the
// daemon's /metrics, and the per-version request counter is read back through Prometheus' query API:
// proof that the exposition is valid OpenMetrics to the consumer that matters.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

constexpr char kPrometheus[] = "/usr/bin/prometheus";

std::string ReadFileForTest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Prometheus as a child process; SIGTERM and reaped on destruction.
class PrometheusServer {
 public:
  PrometheusServer(const fs::path& dir, uint16_t port, uint16_t target_port) : port_(port) {
    fs::create_directories(dir / "tsdb");
    std::ofstream(dir / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: cutover\n    metrics_path: /metrics\n"
        << "    static_configs:\n      - targets: ['127.0.0.1:" << target_port << "']\n";
    const std::string config = "--config.file=" + (dir / "prometheus.yml").string();
    const std::string storage = "--storage.tsdb.path=" + (dir / "tsdb").string();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
    const std::string log = (dir / "prometheus.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(kPrometheus, kPrometheus, config.c_str(), storage.c_str(), listen.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~PrometheusServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_;
};

TEST(PrometheusTest, RealPrometheusScrapesThePerVersionCounter) {
  if (!fs::exists(kPrometheus)) GTEST_SKIP() << "prometheus is not installed";
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-prometheus");
  {
    auto daemon = Daemon::Start(root / "data");
    CommandResult r = daemon->Deploy(SourceDir() / "examples/seed");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    for (int i = 0; i < 7; ++i) ASSERT_EQ(daemon->Gateway("GET", "/health").status, 200);

    PrometheusServer prometheus(root / "prometheus", FreePort(), daemon->admin_port());
    HttpClient client("127.0.0.1", prometheus.port());
    const std::string query =
        "/api/v1/query?query=cutover_requests_total%7Bfunction%3D%22bref-canary-deployments-demo-"
        "dev-website%22%2Cversion%3D%221%22%2Cstatus_class%3D%222xx%22%7D";
    // Poll the condition (Prometheus up, one scrape done, the sample queryable), with a deadline.
    std::string value, last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (value.empty() && std::chrono::steady_clock::now() < deadline) {
      HttpResult res = client.Request("GET", query);
      last = res.body + res.error;
      boost::system::error_code ec;
      json::value v = json::parse(res.body, ec);
      if (!ec && v.is_object()) {
        const auto& result = v.as_object().at("data").as_object().at("result").as_array();
        if (!result.empty()) {
          value = std::string(result[0].as_object().at("value").as_array()[1].as_string());
        }
      }
      if (value.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(value, "7") << last << "\n" << ReadFileForTest(root / "prometheus/prometheus.log");
    // And the scrape itself was healthy: `up` is 1.
    HttpResult up = client.Request("GET", "/api/v1/query?query=up");
    EXPECT_NE(up.body.find(R"("value":[)"), std::string::npos) << up.body;
    EXPECT_NE(up.body.find(R"(,"1"])"), std::string::npos) << up.body;
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace cutover::testing
