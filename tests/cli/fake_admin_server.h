// FakeAdminServer: a tiny HTTP/1.1 server on 127.0.0.1:<free port> standing in for the daemon's
// admin API in CLI tests. Each request is answered by the test's handler and recorded; one request
// per connection (the CLI always sends Connection: close).
//
// Thread-safety: the server runs on its own thread; requests() and Url() may be called from the
// test thread at any time.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cutover::cli::testing {

struct FakeRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// A JSON response with Content-Type: application/json.
FakeResponse Json(int status, std::string body);

class FakeAdminServer final {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeAdminServer(Handler handler);
  ~FakeAdminServer();
  FakeAdminServer(const FakeAdminServer&) = delete;
  FakeAdminServer& operator=(const FakeAdminServer&) = delete;

  uint16_t port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<FakeRequest> requests() const;

 private:
  void Accept();
  void Serve(boost::asio::ip::tcp::socket socket);

  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;  // guarded by mu_
  std::thread thread_;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
uint16_t FreePort();

}  // namespace cutover::cli::testing
