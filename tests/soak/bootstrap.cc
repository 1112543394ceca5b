// The soak test's function (scripts/soak): a Lambda custom runtime (`provided`) that does no work,
// so the soak measures the platform rather than the function.
//
// What it answers depends only on the files packaged with its version, read once at start (a
// version's code never changes):
//   * RELEASE  — a label that makes each deploy a new version; echoed in the body.
//   * FAULTY   — present only in the versions the soak expects to be rolled back. Its content is a
//                number N: every Nth invocation of an instance is answered with an API Gateway 500
//                that carries the marker header `X-Soak-Injected: 1` and a body starting with
//                `soak: injected fault`, so the load generator can tell these deliberate failures
//                from the platform's own 5XX (which never carry the marker). The other invocations
//                succeed, as a half-broken release would.
// Healthy answers are 200 with a body starting with `soak ok`.
//
// It speaks the Runtime API ($AWS_LAMBDA_RUNTIME_API, "host:port") over one keep-alive connection,
// reconnecting when the daemon closes it, and exits when the daemon goes away. Blocking I/O and the
// C++ standard library only: `c++ -O2 -std=c++17 -o bootstrap bootstrap.cc`.
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
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string ReadFile(const std::string& path, bool* found) {
  std::ifstream in(path);
  *found = static_cast<bool>(in);
  std::stringstream s;
  if (in) s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// A JSON string literal body: RELEASE labels are written by scripts/soak (digits), but quote the
// characters that would break the document anyway.
std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

class Connection {
 public:
  Connection(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {}
  ~Connection() { Close(); }

  // Sends one request and reads its answer (status, the request id header, the body). On a broken
  // connection (the daemon closed a kept connection) it reconnects once and sends it again: a
  // repeated GET /next only parks again, and a repeated /response for an id the daemon already
  // has is refused with an error status, never applied twice.
  bool RoundTrip(const std::string& request, int* status, std::string* request_id) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Open()) return false;
      if (Send(request) && Receive(status, request_id)) return true;
      Close();
    }
    return false;
  }

 private:
  bool Open() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (getaddrinfo(host_.c_str(), port_.c_str(), &hints, &list) != 0) return false;
    for (addrinfo* a = list; a != nullptr && fd_ < 0; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        fd_ = fd;
      } else {
        close(fd);
      }
    }
    freeaddrinfo(list);
    buffer_.clear();
    return fd_ >= 0;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  bool Send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  bool Fill() {
    char chunk[8192];
    for (;;) {
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  // One response with a Content-Length body (the daemon's Runtime API always sends one). The
  // parked GET /next may take any time to answer; there is no read timeout on purpose.
  bool Receive(int* status, std::string* request_id) {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    std::istringstream head(buffer_.substr(0, head_end));
    buffer_.erase(0, head_end + 4);
    std::string line;
    std::getline(head, line);
    const size_t space = line.find(' ');
    if (space == std::string::npos) return false;
    *status = std::atoi(line.c_str() + space + 1);
    size_t length = 0;
    bool close_after = false;
    request_id->clear();
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      const std::string value = line.substr(v);
      if (name == "content-length") length = std::strtoul(value.c_str(), nullptr, 10);
      if (name == "lambda-runtime-aws-request-id") *request_id = value;
      if (name == "connection" && (value == "close" || value == "Close")) close_after = true;
    }
    while (buffer_.size() < length) {
      if (!Fill()) return false;
    }
    buffer_.erase(0, length);
    if (close_after) Close();
    return true;
  }

  std::string host_, port_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace

int main() {
  const char* api_env = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (api_env == nullptr || std::strchr(api_env, ':') == nullptr) {
    std::fprintf(stderr, "soak bootstrap: AWS_LAMBDA_RUNTIME_API is not host:port\n");
    return 1;
  }
  const std::string api = api_env;
  std::string host = api.substr(0, api.rfind(':'));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = api.substr(api.rfind(':') + 1);

  const char* root_env = std::getenv("LAMBDA_TASK_ROOT");
  const std::string root = root_env ? root_env : ".";
  const char* version_env = std::getenv("AWS_LAMBDA_FUNCTION_VERSION");
  const std::string version = version_env ? version_env : "?";
  bool has_release = false, faulty = false;
  const std::string release = ReadFile(root + "/RELEASE", &has_release);
  const long fault_every_n = std::strtol(ReadFile(root + "/FAULTY", &faulty).c_str(), nullptr, 10);
  const long every = fault_every_n > 0 ? fault_every_n : 1;

  const std::string tag = "version " + version + ", release " + (has_release ? release : "-");
  const std::string ok_doc = "{\"statusCode\":200,\"headers\":{\"Content-Type\":\"text/plain\"},"
                             "\"body\":" + JsonQuote("soak ok (" + tag + ")") + "}";
  const std::string fault_doc =
      "{\"statusCode\":500,\"headers\":{\"Content-Type\":\"text/plain\",\"X-Soak-Injected\":\"1\"},"
      "\"body\":" + JsonQuote("soak: injected fault (" + tag + ")") + "}";

  const std::string base = "/2018-06-01/runtime/invocation/";
  const std::string next = "GET " + base + "next HTTP/1.1\r\nHost: " + api + "\r\n\r\n";
  Connection conn(host, port);
  for (long n = 1;; ++n) {
    int status = 0;
    std::string id;
    if (!conn.RoundTrip(next, &status, &id)) return 0;  // the daemon stopped this instance
    if (status != 200 || id.empty()) {
      std::fprintf(stderr, "soak bootstrap: GET next answered %d\n", status);
      return 1;
    }
    const std::string& doc = (faulty && n % every == 0) ? fault_doc : ok_doc;
    const std::string post = "POST " + base + id + "/response HTTP/1.1\r\nHost: " + api +
                             "\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(doc.size()) + "\r\n\r\n" + doc;
    std::string ignored;
    if (!conn.RoundTrip(post, &status, &ignored)) return 0;
    if (status != 202) std::fprintf(stderr, "soak bootstrap: POST response answered %d\n", status);
  }
}
