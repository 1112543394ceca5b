// A real Prometheus (Debian's `prometheus`) for tests: started as a child process on a free
// loopback port with its own TSDB under `dir`, scraping the given admin ports' /metrics every
// second, and stopped (SIGTERM, reaped) by the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cutover::testing {

class PrometheusServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/prometheus";
  static bool Installed();

  // Starts it on `port` (0: a free one, and another when that was taken before Prometheus could
  // bind it) and waits (up to 30 s) until it answers /-/ready; started() says whether it did.
  PrometheusServer(const std::filesystem::path& dir, const std::vector<uint16_t>& target_ports,
                   uint16_t port = 0);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  bool started() const { return ready_; }
  uint16_t port() const { return port_; }
  // "prometheus://127.0.0.1:PORT", as `cutover serve --metrics-source` takes it.
  std::string url() const;
  std::string log() const;
  // True once every target has been scraped successfully (`up` is 1 for each), within `timeout`.
  bool WaitForTargetsUp(std::chrono::milliseconds timeout) const;

 private:
  // Starts the process on port_ and waits for it: sets pid_ (-1 when it exited) and ready_.
  void Launch();

  std::filesystem::path dir_;
  size_t targets_ = 0;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace cutover::testing
