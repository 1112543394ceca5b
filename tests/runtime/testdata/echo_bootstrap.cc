// A compiled `bootstrap` for the provided runtime that answers every event with the event itself,
// over one keep-alive connection: the fastest possible function, used to measure the runtime's own
// overhead (tests/runtime/runtime_throughput_test.cc) and by the gateway benchmarks.
//
// Deliberately minimal HTTP/1.1: it expects Content-Length framed responses, which the Runtime API
// sends.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int fd = -1;
std::string in;  // bytes received and not consumed yet

void Die(const char* what) {
  std::fprintf(stderr, "echo_bootstrap: %s\n", what);
  std::exit(1);
}

void SendAll(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) Die("send failed");
    off += static_cast<size_t>(n);
  }
}

void Fill() {
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  if (n <= 0) Die("connection closed");
  in.append(buf, static_cast<size_t>(n));
}

// Reads one response; returns its body and the value of `want_header` (if any).
std::string ReadResponse(const char* want_header, std::string* header_value) {
  size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) Fill();
  std::string head = in.substr(0, end + 2);
  in.erase(0, end + 4);
  size_t length = 0;
  size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (strcasecmp(name.c_str(), "Content-Length") == 0)
      length = std::strtoul(value.c_str(), 0, 10);
    if (want_header && strcasecmp(name.c_str(), want_header) == 0) *header_value = value;
  }
  while (in.size() < length) Fill();
  std::string body = in.substr(0, length);
  in.erase(0, length);
  return body;
}

}  // namespace

int main() {
  const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (!api) Die("AWS_LAMBDA_RUNTIME_API is not set");
  std::string address(api);
  size_t colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) Die("connect failed");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  const std::string next =
      "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: runtime\r\n\r\n";
  for (;;) {
    SendAll(next);
    std::string request_id;
    std::string event = ReadResponse("Lambda-Runtime-Aws-Request-Id", &request_id);
    std::string post = "POST /2018-06-01/runtime/invocation/" + request_id +
                       "/response HTTP/1.1\r\nHost: runtime\r\nContent-Type: application/json\r\n"
                       "Content-Length: " +
                       std::to_string(event.size()) + "\r\n\r\n";
    post += event;
    SendAll(post);
    ReadResponse(nullptr, nullptr);
  }
}
