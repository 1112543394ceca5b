#include "prometheus_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "etcd_server.h"
#include "harness.h"

namespace cutover::testing {

bool PrometheusServer::Installed() { return fs::exists(kBinary); }

PrometheusServer::PrometheusServer(const fs::path& dir, const std::vector<uint16_t>& target_ports,
                                   uint16_t port)
    : dir_(dir),
      targets_(target_ports.size()),
      port_(port != 0 ? port : test_support::FreeLoopbackPort()) {
  fs::create_directories(dir / "tsdb");
  {
    std::ofstream config(dir / "prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: cutover\n    metrics_path: /metrics\n"
           << "    static_configs:\n      - targets: [";
    for (size_t i = 0; i < target_ports.size(); ++i) {
      config << (i ? ", " : "") << "'127.0.0.1:" << target_ports[i] << "'";
    }
    config << "]\n";
  }
  // A free port may be taken before Prometheus binds it (ctest runs tests side by side): it then
  // exits at once saying so, and another is tried, unless the caller chose the port.
  for (int attempt = 0; attempt < 5 && !ready_; ++attempt) {
    if (attempt > 0) {
      if (port != 0 || log().find("address already in use") == std::string::npos) return;
      port_ = test_support::FreeLoopbackPort();
    }
    Launch();
  }
}

void PrometheusServer::Launch() {
  const std::string config = "--config.file=" + (dir_ / "prometheus.yml").string();
  const std::string storage = "--storage.tsdb.path=" + (dir_ / "tsdb").string();
  const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
  const std::string log = (dir_ / "prometheus.log").string();
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(kBinary, kBinary, config.c_str(), storage.c_str(), listen.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ < 0) return;
  ready_ = WaitFor(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited: the log says why
          pid_ = -1;
          return true;
        }
        return HttpClient("127.0.0.1", port_).Request("GET", "/-/ready").status == 200;
      },
      std::chrono::seconds(30));
  ready_ = ready_ && pid_ > 0;
}

PrometheusServer::~PrometheusServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status;
  ::waitpid(pid_, &status, 0);
}

std::string PrometheusServer::url() const {
  return "prometheus://127.0.0.1:" + std::to_string(port_);
}

std::string PrometheusServer::log() const {
  std::ifstream in(dir_ / "prometheus.log", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool PrometheusServer::WaitForTargetsUp(std::chrono::milliseconds timeout) const {
  return WaitFor(
      [&] {
        // count(up == 1): one sample whose value is the number of healthy targets.
        HttpResult r = HttpClient("127.0.0.1", port_)
                           .Request("GET", "/api/v1/query?query=count(up%20%3D%3D%201)");
        return r.status == 200 &&
               r.body.find(",\"" + std::to_string(targets_) + "\"]") != std::string::npos;
      },
      timeout);
}

}  // namespace cutover::testing
