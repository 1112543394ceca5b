// A real etcd (Debian's etcd-server) for tests: a single-member cluster on free loopback ports in
// its own data directory, started as a child process and stopped (SIGTERM, then SIGKILL) by the
// destructor. Stop() and Start() take it down and bring it back on the same ports with the same
// data, for tests of what cutover does while etcd is unreachable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace cutover::test_support {

class EtcdServer {
 public:
  // Where Debian installs it; tests skip when it is missing.
  static constexpr char kBinary[] = "/usr/bin/etcd";
  static bool Installed();

  // Starts etcd with its data under `dir` and waits (up to 20 s) until it answers /health, on
  // other free ports when the first ones were taken before etcd could bind them. started() says
  // whether it did; log() holds etcd's own output.
  explicit EtcdServer(const std::filesystem::path& dir);
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  bool started() const { return pid_ > 0; }
  uint16_t client_port() const { return client_port_; }
  // "127.0.0.1:PORT", as `--store etcd://` takes it.
  std::string endpoint() const;
  std::string log() const;

  // Stops the process (its data stays) and starts it again on the same ports.
  void Stop();
  bool Start();

 private:
  std::filesystem::path dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

// A loopback TCP port nobody listened on a moment ago.
uint16_t FreeLoopbackPort();

}  // namespace cutover::test_support
