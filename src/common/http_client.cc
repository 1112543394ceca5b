#include "common/http_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <string>

namespace cutover {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A short lower-case reason for a connect failure, as it appears in "cannot reach the daemon at URL
// (REASON)".
std::string ConnectReason(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again) {
    return "host not found";
  }
  if (ec == asio::error::network_unreachable) return "network unreachable";
  if (ec == asio::error::host_unreachable) return "host unreachable";
  std::string reason = ec.message();
  if (!reason.empty())
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  return reason;
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string Endpoint::Url() const {
  return fmt::format("http://{}:{}{}", HostForUrl(host), port, base_path);
}

bool Endpoint::IsLoopback() const {
  if (EqualsIgnoreCase(host, "localhost")) return true;
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

Result<Endpoint> ParseEndpoint(std::string_view url) {
  std::string text(url);
  if (text.find("://") == std::string::npos) text = "http://" + text;
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return InvalidArgument(fmt::format("'{}' is not a URL", url));
  const boost::urls::url_view& u = *parsed;
  if (!EqualsIgnoreCase(u.scheme(), "http")) {
    return InvalidArgument(fmt::format(
        "'{}': only http:// is supported (put a TLS proxy in front of the admin port)", url));
  }
  if (u.has_userinfo() || u.has_query() || u.has_fragment()) {
    return InvalidArgument(fmt::format("'{}': user info, query and fragment are not allowed", url));
  }
  Endpoint endpoint;
  endpoint.host = u.host_address();
  if (endpoint.host.empty()) return InvalidArgument(fmt::format("'{}' has no host", url));
  if (u.has_port()) {
    const std::string port_text = u.port();
    unsigned long port = 0;
    if (port_text.empty() || port_text.size() > 5 || (port = std::stoul(port_text)) == 0 ||
        port > 65535) {
      return InvalidArgument(fmt::format("'{}' has an invalid port (1..65535)", url));
    }
    endpoint.port = static_cast<uint16_t>(port);
  }
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  endpoint.base_path = path;
  return endpoint;
}

std::string PercentEncode(std::string_view text, std::string_view keep) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

const std::string* HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

HttpClient::HttpClient(Endpoint endpoint, HttpClientOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) const {
  // Beast's timeouts work on asynchronous operations only, so each step is started asynchronously
  // and this thread runs a private io_context until it completes.
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);

  error_code ec;
  tcp::resolver::results_type addresses =
      resolver.resolve(endpoint_.host, std::to_string(endpoint_.port), ec);
  if (ec) return Unavailable(ConnectReason(ec));

  error_code connect_ec;
  stream.expires_after(options_.connect_timeout);
  stream.async_connect(addresses,
                       [&](const error_code& e, const tcp::endpoint&) { connect_ec = e; });
  ioc.run();
  if (connect_ec) return Unavailable(ConnectReason(connect_ec));
  ioc.restart();

  http::request<http::string_body> req;
  const http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    req.method_string(request.method);
  } else {
    req.method(verb);
  }
  req.target(endpoint_.base_path + request.target);
  req.version(11);
  req.set(http::field::host, fmt::format("{}:{}", HostForUrl(endpoint_.host), endpoint_.port));
  req.set(http::field::user_agent, "cutover-cli");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.insert(name, value);
  req.body() = request.body;
  if (!request.body.empty() || verb == http::verb::post || verb == http::verb::put) {
    req.prepare_payload();
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_body_bytes);
  if (verb == http::verb::head)
    parser.skip(true);  // a HEAD response announces a body it never sends
  beast::flat_buffer buffer;
  error_code io_ec;
  stream.expires_after(options_.io_timeout);
  http::async_write(stream, req, [&](const error_code& e, size_t) {
    if (e) {
      io_ec = e;
      return;
    }
    http::async_read(stream, buffer, parser, [&](const error_code& e2, size_t) { io_ec = e2; });
  });
  ioc.run();
  if (io_ec == beast::error::timeout) {
    return DeadlineExceeded(
        fmt::format("no response from {} within {} s", endpoint_.Url(),
                    std::chrono::duration_cast<std::chrono::seconds>(options_.io_timeout).count()));
  }
  if (io_ec) {
    return Internal(fmt::format("lost the connection to {}: {}", endpoint_.Url(), io_ec.message()));
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);  // the peer may already have closed

  http::response<http::string_body> res = parser.release();
  HttpResponse response;
  response.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(res.body());
  return response;
}

}  // namespace cutover
