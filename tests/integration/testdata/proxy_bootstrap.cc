// A compiled `bootstrap` (provided runtime) for the integration tests that send many requests or
// need a function to block on the test's command. It answers every event with an API Gateway proxy
// response, so what the tests see through the gateway is what the bash `behaviours` service would
// answer, minus a bash and two curl processes per request.
//
// The handler picks the behaviour:
//   ok    {"statusCode":200,"body":"ok v<AWS_LAMBDA_FUNCTION_VERSION> <GREETING>"}, like the
//         `ok` function of testdata/behaviours;
//   gate  waits until the file named by $GATE_FILE exists, then answers with the body "released":
//         a function that stays busy exactly as long as the test wants.
// With FAIL=1 in its environment, either one reports every invocation as a function error
// (POST .../error): an invocation error for Lambda's Errors metric, a 502 at the gateway.
//
// It speaks the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API = "host:port") over one keep-alive
// connection, reconnecting when the server closes it, and expects Content-Length framing, which
// the Runtime API uses. Built by tests/integration/CMakeLists.txt (integration_proxy_bootstrap);
// the tests copy the binary into a temporary service directory as `bootstrap`.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kInvocations = "/2018-06-01/runtime/invocation/";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "proxy_bootstrap: %s\n", what.c_str());
  std::exit(1);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool SameLetters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

// `text` as the contents of a JSON string literal.
std::string JsonEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

struct Reply {
  int status = 0;
  std::string request_id;  // Lambda-Runtime-Aws-Request-Id
  std::string body;
  bool close = false;  // the server will close the connection after this reply
};

class RuntimeApi {
 public:
  explicit RuntimeApi(const std::string& address) {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) Fail("AWS_LAMBDA_RUNTIME_API must be host:port");
    host_ = address.substr(0, colon);
    if (host_.size() >= 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
    port_ = address.substr(colon + 1);
    host_header_ = "Host: " + address + "\r\n";
  }

  // Sends one request and reads its reply; on a kept-alive connection the server closed, retries
  // once on a fresh one.
  Reply Exchange(const std::string& method, const std::string& path, const std::string& body) {
    std::string request = method + " " + path + " HTTP/1.1\r\n" + host_header_;
    if (method == "POST") {
      request +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    }
    request += "\r\n";
    request += body;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool fresh = fd_ < 0;
      if (fresh) Connect();
      Reply reply;
      if (Send(request) && Receive(reply)) {
        if (reply.close) Disconnect();
        return reply;
      }
      Disconnect();
      if (fresh) break;
    }
    Fail("lost the connection to the Runtime API");
  }

 private:
  void Connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (getaddrinfo(host_.c_str(), port_.c_str(), &hints, &list) != 0) Fail("cannot resolve host");
    for (addrinfo* ai = list; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      fd_ = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd_ >= 0 && connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) Disconnect();
    }
    freeaddrinfo(list);
    if (fd_ < 0) Fail(std::string("cannot connect: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  void Disconnect() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buffered_.clear();
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  bool More() {
    char chunk[16384];
    for (;;) {
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffered_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  bool Receive(Reply& reply) {
    size_t head_end;
    while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!More()) return false;
    }
    std::string_view head(buffered_.data(), head_end + 2);
    // "HTTP/1.1 200 OK\r\n" then "Name: value\r\n" lines.
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    size_t space = status_line.find(' ');
    if (space == std::string_view::npos) return false;
    reply.status = std::atoi(std::string(status_line.substr(space + 1)).c_str());
    size_t length = 0;
    for (size_t pos = eol + 2; pos < head.size(); pos = eol + 2) {
      eol = head.find("\r\n", pos);
      std::string_view line = head.substr(pos, eol - pos);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (SameLetters(name, "content-length")) {
        length = std::strtoul(std::string(value).c_str(), nullptr, 10);
      } else if (SameLetters(name, "lambda-runtime-aws-request-id")) {
        reply.request_id = value;
      } else if (SameLetters(name, "connection")) {
        reply.close = SameLetters(value, "close");
      }
    }
    buffered_.erase(0, head_end + 4);
    while (buffered_.size() < length) {
      if (!More()) return false;
    }
    reply.body = buffered_.substr(0, length);
    buffered_.erase(0, length);
    return true;
  }

  std::string host_;
  std::string port_;
  std::string host_header_;
  int fd_ = -1;
  std::string buffered_;
};

std::string ProxyResponse(const std::string& body) {
  return R"({"statusCode":200,"headers":{"content-type":"text/plain"},"body":")" +
         JsonEscape(body) + "\"}";
}

}  // namespace

int main() {
  const std::string api = Env("AWS_LAMBDA_RUNTIME_API");
  if (api.empty()) Fail("AWS_LAMBDA_RUNTIME_API is not set");
  const std::string handler = Env("_HANDLER");
  if (handler != "ok" && handler != "gate") Fail("unknown handler '" + handler + "'");
  const std::string gate_file = Env("GATE_FILE");
  if (handler == "gate" && gate_file.empty()) Fail("the gate handler needs GATE_FILE");
  // Configuration does not change within an instance, so the `ok` answer is fixed.
  const std::string ok_response =
      ProxyResponse("ok v" + Env("AWS_LAMBDA_FUNCTION_VERSION") + " " + Env("GREETING"));

  const bool fail = Env("FAIL") == "1";
  RuntimeApi runtime(api);
  const std::string next = std::string(kInvocations) + "next";
  for (;;) {
    Reply event = runtime.Exchange("GET", next, "");
    if (event.status != 200 || event.request_id.empty()) {
      Fail("/next answered " + std::to_string(event.status));
    }
    std::string response = ok_response;
    if (handler == "gate") {
      while (access(gate_file.c_str(), F_OK) != 0) usleep(5000);  // polling the test's file
      response = ProxyResponse("released");
    }
    Reply ack = fail ? runtime.Exchange("POST",
                                        std::string(kInvocations) + event.request_id + "/error",
                                        R"({"errorMessage":"failing on purpose",)"
                                        R"("errorType":"TestFailure"})")
                     : runtime.Exchange("POST",
                                        std::string(kInvocations) + event.request_id + "/response",
                                        response);
    if (ack.status != 202) {
      std::fprintf(stderr, "proxy_bootstrap: /response answered %d: %s\n", ack.status,
                   ack.body.c_str());
    }
  }
}
