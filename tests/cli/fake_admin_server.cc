#include "fake_admin_server.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>

namespace cutover::cli::testing {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::map<std::string, std::string> ParseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < query.size()) {
    size_t amp = query.find('&', i);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(i, amp - i);
    size_t eq = pair.find('=');
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    i = amp + 1;
  }
  return out;
}

}  // namespace

FakeResponse Json(int status, std::string body) {
  FakeResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

FakeAdminServer::FakeAdminServer(Handler handler)
    : handler_(std::move(handler)),
      acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { ioc_.run(); });
}

FakeAdminServer::~FakeAdminServer() {
  asio::post(ioc_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  ioc_.stop();
  thread_.join();
}

std::vector<FakeRequest> FakeAdminServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeAdminServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) return;
    Serve(std::move(socket));  // one connection at a time is plenty for a test
    Accept();
  });
}

void FakeAdminServer::Serve(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> req;
  boost::system::error_code ec;
  http::read(socket, buffer, req, ec);
  if (ec) return;
  FakeRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  const size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = ParseQuery(request.target.substr(q + 1));
  for (const auto& field : req) {
    request.headers[Lower(std::string(field.name_string()))] = std::string(field.value());
  }
  request.body = req.body();
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
  }
  FakeResponse answer = handler_(request);
  http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
  res.body() = answer.body;
  res.keep_alive(false);
  res.prepare_payload();
  // After prepare_payload, so a test can announce a Content-Length for a HEAD answer.
  for (const auto& [name, value] : answer.headers) res.set(name, value);
  if (req.method() == http::verb::head) res.body().clear();
  http::write(socket, res, ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

uint16_t FreePort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace cutover::cli::testing
