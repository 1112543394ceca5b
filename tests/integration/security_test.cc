// Issue 7, section 4 ("Security"), against the real daemon: the Runtime API across instances,
// uploads (size limit, archives escaping the code directory, idempotent redeploys), the admin
// plane's token and size limits, and function logs shown by `cutover logs`.
//
// One daemon, with an admin token, serves the service of testdata/security: a python3 custom
// runtime whose handlers attack the Runtime API of a sibling instance (see its bootstrap). The
// instances of a function find each other through files in a temporary directory passed to the
// deploy as `--opt spyDir=DIR`.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "common/sha256.h"
#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

constexpr char kToken[] = "security-test-token-5f0c2b7e9a41d3c8b6e2";
constexpr size_t kJsonLimit = 16u * 1024 * 1024;       // docs/API.md: admin bodies
constexpr size_t kArtifactLimit = 512u * 1024 * 1024;  // docs/API.md: PUT /v1/artifacts

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::value ParseOrNull(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value() : v;
}

// The "code" of the admin API's error shape {"code", "message"}, or "".
std::string CodeOf(const std::string& body) {
  json::value v = ParseOrNull(body);
  const json::value* code = v.is_object() ? v.as_object().if_contains("code") : nullptr;
  return code && code->is_string() ? std::string(code->as_string()) : "";
}

std::string MessageOf(const std::string& body) {
  json::value v = ParseOrNull(body);
  const json::value* m = v.is_object() ? v.as_object().if_contains("message") : nullptr;
  return m && m->is_string() ? std::string(m->as_string()) : "";
}

std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

// --- raw HTTP, for what the harness's client cannot send -----------------------------------------
// A Content-Length with no body behind it (the daemon must answer before reading one) and chunked
// bodies past a limit.

struct RawResponse {
  int status = 0;                              // 0: no response
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed = false;  // the server ended the connection after answering
};

class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // Every blocking call below gives up after 30 s, so a daemon that never answers fails the
    // test rather than hanging it.
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }

  bool connected() const { return connected_; }

  // False once the server has closed or reset the connection.
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length framed); `closed` tells whether EOF followed it.
  RawResponse Read() {
    std::string data;
    RawResponse r;
    size_t head_end = std::string::npos;
    size_t length = 0;
    char buf[64 * 1024];
    for (;;) {
      if (head_end == std::string::npos &&
          (head_end = data.find("\r\n\r\n")) != std::string::npos) {
        std::istringstream head(data.substr(0, head_end));
        std::string line;
        std::getline(head, line);
        if (line.size() >= 12) r.status = std::atoi(line.c_str() + 9);
        while (std::getline(head, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          size_t colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), ::tolower);
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          r.headers[name] = value;
        }
        length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        r.closed = true;
        break;
      }
      data.append(buf, static_cast<size_t>(n));
    }
    if (head_end != std::string::npos) r.body = data.substr(head_end + 4, length);
    if (!r.closed && r.status != 0) {
      // Did the server hang up after this answer? A closed connection reads EOF at once.
      timeval tv{5, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      r.closed = ::recv(fd_, buf, 1, 0) <= 0;
    }
    return r;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string AuthHeader() { return std::string("Authorization: Bearer ") + kToken + "\r\n"; }

// --- archives ------------------------------------------------------------------------------------

struct RawEntry {
  std::string path;
  unsigned type = AE_IFREG;
  std::string content = {};
  std::string symlink = {};
  std::string hardlink = {};
};

la_ssize_t AppendTo(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// A .tar.gz with exactly these entries, including ones `cutover deploy` never writes.
std::string MakeArchive(const std::vector<RawEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  archive_write_open2(a, &out, nullptr, AppendTo, nullptr, nullptr);
  for (const RawEntry& raw : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, raw.path.c_str());
    archive_entry_set_filetype(e, raw.type);
    archive_entry_set_perm(e, raw.type == AE_IFLNK ? 0777 : 0644);
    if (!raw.symlink.empty()) archive_entry_set_symlink(e, raw.symlink.c_str());
    if (!raw.hardlink.empty()) archive_entry_set_hardlink(e, raw.hardlink.c_str());
    archive_entry_set_size(e, raw.type == AE_IFREG && raw.hardlink.empty()
                                  ? static_cast<la_int64_t>(raw.content.size())
                                  : 0);
    EXPECT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
    if (!raw.content.empty()) archive_write_data(a, raw.content.data(), raw.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// --- the fixture ---------------------------------------------------------------------------------

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(MakeTempDir("cutover-security"));
    fs::create_directories(SpyDir());
    daemon_ =
        Daemon::Start(*root_ / "data", {}, {std::string("CUTOVER_TOKEN=") + kToken}).release();
    ASSERT_NE(daemon_, nullptr);
    CommandResult r = Deploy();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    fs::remove_all(*root_);
    delete root_;
  }

  static fs::path SpyDir() { return *root_ / "spy"; }
  static fs::path DataDir() { return *root_ / "data"; }
  static fs::path ServiceDir() { return SourceDir() / "tests/integration/testdata/security"; }
  static CommandResult Deploy() {
    return daemon_->Deploy(ServiceDir(), {"--opt", "spyDir=" + SpyDir().string()});
  }

  // The daemon still answers its admin API and its gateway.
  static void ExpectStillServing() {
    HttpResult health = daemon_->Admin("GET", "/v1/health");
    EXPECT_EQ(health.status, 200) << health.body << health.error;
    HttpResult noisy = daemon_->Gateway("GET", "/noisy");
    EXPECT_EQ(noisy.status, 200) << noisy.body << noisy.error;
    EXPECT_EQ(noisy.body, "noisy");
  }

  // Sum of AWS/Lambda `metric` under {FunctionName} over the last 5 minutes; -1 on a bad answer.
  static double LambdaSum(const std::string& metric, const std::string& function) {
    HttpResult q = daemon_->Admin("GET", "/v1/metrics/query?namespace=AWS/Lambda&name=" + metric +
                                             "&dimensions=FunctionName=" + function +
                                             "&statistic=Sum&period=60&minutes=5");
    json::value v = ParseOrNull(q.body);
    if (q.status != 200 || !v.is_object()) return -1;
    double sum = 0;
    for (const json::value& dp : v.at("datapoints").as_array()) {
      const json::value& value = dp.at("value");
      if (value.is_number()) sum += value.to_number<double>();
    }
    return sum;
  }

  // The result files the instances of `function` wrote, by request id.
  static std::map<std::string, json::object> Results(const std::string& function) {
    std::map<std::string, json::object> out;
    for (const std::string& name : Names(SpyDir() / function / "results")) {
      if (name.starts_with(".")) continue;
      json::value v = ParseOrNull(ReadFile(SpyDir() / function / "results" / name));
      if (v.is_object()) out[name] = v.as_object();
    }
    return out;
  }

  // Runs two invocations of `function` at the same time through the gateway and waits for both
  // instances' result files; returns the two response bodies.
  static std::vector<HttpResult> RunPair(const std::string& function) {
    // Two warm instances, so each invocation gets its own at once.
    HttpResult warm =
        daemon_->Admin("POST", "/v1/functions/security-test-" + function + "/versions/1/prewarm",
                       R"({"instances": 2})");
    EXPECT_LT(warm.status, 300) << warm.body;
    auto call = [function] {
      return HttpClient("127.0.0.1", daemon_->gateway_port()).Request("GET", "/" + function);
    };
    auto first = std::async(std::launch::async, call);
    auto second = std::async(std::launch::async, call);
    std::vector<HttpResult> out = {first.get(), second.get()};
    // Each instance writes its results after it answered: wait for them with a deadline.
    EXPECT_TRUE(WaitFor([&] { return Results(function).size() == 2; }, std::chrono::seconds(30)))
        << "result files: " << Results(function).size();
    return out;
  }

  static inline Daemon* daemon_ = nullptr;
  static inline fs::path* root_ = nullptr;
};

// [status, errorType] as the bootstrap records a Runtime API call.
json::array Answer(int status, const char* error_type) { return json::array{status, error_type}; }

// --- 2. Runtime API: an instance's endpoint serves only that instance ---------------------------

// Two instances of one function run at once and each knows the other's endpoint and request id.
// An endpoint takes only the id it delivered, once: the other instance's id at this endpoint and
// a made-up id get 400 InvalidRequestID, a second answer for an id 403 InvalidStateTransition —
// Lambda's Runtime API codes. The other instance's endpoint refuses this one's process outright:
// 403 AccessDeniedException, whatever the id. Each invocation returns its own result.
TEST_F(SecurityTest, RuntimeApiRefusesAnswersForAnotherInstancesInvocation) {
  std::vector<HttpResult> responses = RunPair("spy");
  std::map<std::string, json::object> results = Results("spy");
  ASSERT_EQ(results.size(), 2u);

  std::set<std::string> expected_bodies;
  for (const auto& [id, r] : results) {
    SCOPED_TRACE(json::serialize(r));
    ASSERT_FALSE(r.contains("error"));
    expected_bodies.insert("real " + id);
    // The two instances are different endpoints, and each saw the other's invocation.
    EXPECT_NE(r.at("api"), r.at("other_api"));
    ASSERT_TRUE(results.count(std::string(r.at("other_id").as_string())));
    EXPECT_EQ(results.at(std::string(r.at("other_id").as_string())).at("api"), r.at("other_api"));
    EXPECT_TRUE(r.at("peer_probed").as_bool());
    EXPECT_TRUE(r.at("peer_answered").as_bool());

    // While both ran: the other's id at this endpoint, an id nobody delivered — unknown ids
    // there; anything at the other's endpoint — not this process's endpoint.
    EXPECT_EQ(r.at("own_endpoint_other_id_response"), Answer(400, "InvalidRequestID"));
    EXPECT_EQ(r.at("own_endpoint_other_id_error"), Answer(400, "InvalidRequestID"));
    EXPECT_EQ(r.at("other_endpoint_own_id_response"), Answer(403, "AccessDeniedException"));
    EXPECT_EQ(r.at("other_endpoint_own_id_error"), Answer(403, "AccessDeniedException"));
    EXPECT_EQ(r.at("unknown_id_response"), Answer(400, "InvalidRequestID"));
    // Its own answer, once; then a second answer for the same id, response or error: 403.
    EXPECT_EQ(r.at("own_response"), Answer(202, ""));
    EXPECT_EQ(r.at("own_second_response"), Answer(403, "InvalidStateTransition"));
    EXPECT_EQ(r.at("own_error_after_response"), Answer(403, "InvalidStateTransition"));
    // The other's id at the other's endpoint, after it answered: refused as every request from
    // this process there is.
    EXPECT_EQ(r.at("other_endpoint_other_id_after_answer"), Answer(403, "AccessDeniedException"));
  }
  // The invocations' real results, untouched by the forged answers.
  std::set<std::string> bodies;
  for (const HttpResult& r : responses) {
    EXPECT_EQ(r.status, 200) << r.body << r.error;
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies, expected_bodies);

  // Neither invocation became a function error: AWS/Lambda counts two invocations, no errors
  // (metrics reach the store on the control loop's next tick: wait for them with a deadline).
  EXPECT_TRUE(WaitFor([] { return LambdaSum("Invocations", "security-test-spy") == 2; },
                      std::chrono::seconds(10)));
  EXPECT_EQ(LambdaSum("Errors", "security-test-spy"), 0);
}

// The attack the peer check closes: an instance that learned a running invocation's id and its
// instance's endpoint (the data directory's logs name running ids, /proc/net/tcp lists the
// listening ports) posts a forged answer there first. Every endpoint listens on 127.0.0.1, so it
// asks the kernel which process holds the connecting socket (runtime/peer_process.h): the
// attacker gets 403 and the victim's caller its real answer.
TEST_F(SecurityTest, AnotherInstanceCannotAnswerARunningInvocationThroughItsEndpoint) {
  std::vector<HttpResult> responses = RunPair("hijack");
  std::map<std::string, json::object> results = Results("hijack");
  ASSERT_EQ(results.size(), 2u);
  for (const auto& [id, r] : results) {
    SCOPED_TRACE(json::serialize(r));
    ASSERT_FALSE(r.contains("error"));
    if (r.at("role") == "attacker") {
      EXPECT_EQ(r.at("hijack"), Answer(403, "AccessDeniedException"));
    } else {
      EXPECT_TRUE(r.at("attacked").as_bool());
      EXPECT_EQ(r.at("own_response"), Answer(202, ""));
    }
  }
  for (const HttpResult& r : responses) {
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body, "forged");
  }
}

// --- 1. Logs
// ----------------------------------------------------------------------------------------

// The noisy function writes a CR followed by a fake END line, screen and title escapes, a C1 CSI
// and DEL. `cutover logs` shows every one of them as a visible escape and passes none through.
TEST_F(SecurityTest, LogsShowAFunctionsControlCharactersEscaped) {
  ASSERT_EQ(daemon_->Gateway("GET", "/noisy").status, 200);
  CommandResult logs;
  // The line reaches the log through a pipe, around the response: wait for it with a deadline.
  EXPECT_TRUE(WaitFor(
      [&] {
        logs = RunCutover({"logs", "security-test-noisy", "--admin", daemon_->admin_url()},
                          std::chrono::seconds(30), {std::string("CUTOVER_TOKEN=") + kToken});
        return logs.exit_code == 0 && logs.out.find("noisy") != std::string::npos &&
               logs.out.find("REPORT RequestId") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << logs.exit_code << logs.out << logs.err;
  EXPECT_NE(logs.out.find("noisy\\x0dEND RequestId: forged\\x1b[2J\\x1b]0;owned\\x07\\x1b[1A"
                          "\\x1b[2K\\u009b31m\\x7f\n"),
            std::string::npos)
      << logs.out;
  for (char c : logs.out) {
    const auto b = static_cast<unsigned char>(c);
    ASSERT_TRUE(b >= 0x20 || c == '\n' || c == '\t') << "raw control " << int(b) << " in output";
    ASSERT_NE(b, 0x7f);
  }
  EXPECT_EQ(logs.out.find("\xc2\x9b"), std::string::npos);
  // The daemon keeps the exact bytes: the log file and --json still have them.
  CommandResult as_json =
      RunCutover({"logs", "security-test-noisy", "--json", "--admin", daemon_->admin_url()},
                 std::chrono::seconds(30), {std::string("CUTOVER_TOKEN=") + kToken});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  json::value doc = ParseOrNull(as_json.out);
  ASSERT_TRUE(doc.is_object()) << as_json.out;
  EXPECT_NE(std::string(doc.at("text").as_string()).find("noisy\rEND RequestId: forged\x1b[2J"),
            std::string::npos);
}

// --- 3. Uploads
// -----------------------------------------------------------------------------------

// An upload declaring more than the artifact limit is answered 413 with the JSON error before a
// byte of it is read; an artifact larger than the JSON limit is still read (its own limit); the
// daemon goes on serving.
TEST_F(SecurityTest, OversizedArtifactIs413WithAJsonErrorAndTheDaemonKeepsServing) {
  const std::string sha(64, 'a');
  {
    RawConnection c(daemon_->admin_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("PUT /v1/artifacts/" + sha + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                       AuthHeader() + "Content-Type: application/gzip\r\nContent-Length: " +
                       std::to_string(kArtifactLimit + 1) + "\r\n\r\n"));
    RawResponse r = c.Read();  // no body was sent: an answer now means none was awaited
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_NE(r.headers["content-type"].find("application/json"), std::string::npos);
    EXPECT_EQ(CodeOf(r.body), "TooLarge") << r.body;
    EXPECT_FALSE(MessageOf(r.body).empty()) << r.body;
    EXPECT_TRUE(r.closed);
  }
  EXPECT_EQ(daemon_->Admin("HEAD", "/v1/artifacts/" + sha).status, 404);
  EXPECT_FALSE(fs::exists(DataDir() / "artifacts" / (sha + ".tar.gz")));

  // 17 MiB is over the JSON endpoints' limit but within the artifacts': read whole and checked
  // (here: refused because it is not what its name says).
  const std::string big(kJsonLimit + 1024 * 1024, 'z');
  HttpResult r =
      daemon_->Admin("PUT", "/v1/artifacts/" + sha, big, {{"Content-Type", "application/gzip"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(CodeOf(r.body), "InvalidArgument");
  EXPECT_NE(MessageOf(r.body).find("hash to"), std::string::npos) << r.body;

  ExpectStillServing();
}

// An archive entry that would land outside the code directory — "../", an absolute path, a
// symlink pointing out, a hard link — is refused at upload, the deploy path's first step, with a
// 400 naming the entry; nothing is written anywhere, the artifact is not kept (a deploy would
// upload again, not publish it), and the daemon keeps serving.
TEST_F(SecurityTest, ArchiveEscapingTheCodeDirectoryIsRefusedOnUpload) {
  const fs::path outside = *root_ / "outside";
  fs::create_directories(outside);
  struct Case {
    std::string name;
    std::vector<RawEntry> entries;
    std::string reason;  // in the error message
  };
  const std::vector<Case> cases = {
      {"parent directory",
       {{.path = "bootstrap", .content = "#!/bin/sh\n"},
        {.path = "../../../escaped", .content = "x"}},
       "contains '..'"},
      {"absolute path",
       {{.path = (outside / "absolute").string(), .content = "x"}},
       "absolute path"},
      {"symlink out",
       {{.path = "link", .type = AE_IFLNK, .symlink = outside.string()},
        {.path = "link/through-link", .content = "x"}},
       "symlink 'link'"},
      {"hard link",
       {{.path = "a.txt", .content = "a"}, {.path = "b.txt", .hardlink = "/etc/passwd"}},
       "hard link 'b.txt'"},
  };
  const std::set<std::string> artifacts_before = Names(DataDir() / "artifacts");
  const std::set<std::string> code_before = Names(DataDir() / "code");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string archive = MakeArchive(c.entries);
    const std::string sha = Sha256Hex(archive);
    HttpResult r = daemon_->Admin("PUT", "/v1/artifacts/" + sha, archive,
                                  {{"Content-Type", "application/gzip"}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(CodeOf(r.body), "InvalidArgument") << r.body;
    EXPECT_NE(MessageOf(r.body).find("the package does not unpack"), std::string::npos) << r.body;
    EXPECT_NE(MessageOf(r.body).find(c.reason), std::string::npos) << r.body;
    EXPECT_EQ(daemon_->Admin("HEAD", "/v1/artifacts/" + sha).status, 404);
  }
  EXPECT_EQ(Names(DataDir() / "artifacts"), artifacts_before);
  EXPECT_EQ(Names(DataDir() / "code"), code_before);
  EXPECT_TRUE(Names(outside).empty());
  for (const fs::path& p : {DataDir() / "escaped", DataDir().parent_path() / "escaped",
                            DataDir() / "code" / "escaped", fs::path("/escaped")}) {
    EXPECT_FALSE(fs::exists(p)) << p;
  }
  ExpectStillServing();
}

// `cutover deploy` of unchanged content: nothing uploaded, no version, no deployment, the same
// files in the data directory; a repeated PUT of a stored package is a 200 that stores nothing.
TEST_F(SecurityTest, DeployingTheSameContentTwiceChangesNothing) {
  HttpResult deployments_before = daemon_->Admin("GET", "/v1/deployments");
  ASSERT_EQ(deployments_before.status, 200);
  HttpResult status_before = daemon_->Admin("GET", "/v1/functions");
  ASSERT_EQ(status_before.status, 200);
  const std::set<std::string> artifacts_before = Names(DataDir() / "artifacts");
  const std::set<std::string> code_before = Names(DataDir() / "code");
  ASSERT_EQ(artifacts_before.size(), 1u);

  CommandResult again = Deploy();
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  json::value out = ParseOrNull(again.out);
  ASSERT_TRUE(out.is_object()) << again.out;
  EXPECT_EQ(out.at("uploaded"), false);
  for (const json::value& f : out.at("functions").as_array()) {
    SCOPED_TRACE(json::serialize(f));
    EXPECT_EQ(f.at("created"), false);
    EXPECT_EQ(f.at("version"), 1);
    EXPECT_EQ(f.at("deployment_id"), "");
  }
  EXPECT_EQ(Names(DataDir() / "artifacts"), artifacts_before);
  EXPECT_EQ(Names(DataDir() / "code"), code_before);
  EXPECT_EQ(daemon_->Admin("GET", "/v1/deployments").body, deployments_before.body);
  json::value fns_before = ParseOrNull(status_before.body);
  json::value fns_after = ParseOrNull(daemon_->Admin("GET", "/v1/functions").body);
  ASSERT_TRUE(fns_after.is_object());
  // Versions and aliases as they were (the listing also carries live pool counters).
  auto versions_and_aliases = [](const json::value& listing) {
    json::array out;
    for (const json::value& f : listing.at("functions").as_array()) {
      json::object o = f.as_object();
      json::object keep;
      for (const char* k : {"function_name", "latest_version", "versions", "alias", "aliases"}) {
        if (o.contains(k)) keep[k] = o[k];
      }
      out.push_back(keep);
    }
    return json::serialize(out);
  };
  EXPECT_EQ(versions_and_aliases(fns_after), versions_and_aliases(fns_before));

  // The same package PUT again by hand: 200, stored false.
  const std::string name = *artifacts_before.begin();
  const std::string sha = name.substr(0, name.find('.'));
  HttpResult put =
      daemon_->Admin("PUT", "/v1/artifacts/" + sha, ReadFile(DataDir() / "artifacts" / name),
                     {{"Content-Type", "application/gzip"}});
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(ParseOrNull(put.body).at("stored"), false);
  EXPECT_EQ(Names(DataDir() / "artifacts"), artifacts_before);
}

// --- 4. Admin plane
// -------------------------------------------------------------------------------

// A JSON endpoint's body past 16 MiB: by Content-Length, answered 413 before the body is read;
// sent chunked (no length up front), cut off at the limit with 413. Both with the JSON error and
// the connection closed; the daemon keeps serving. Without the token the answer is 401 before
// the size is even considered.
TEST_F(SecurityTest, OversizedAdminJsonBodyIs413) {
  const std::string head =
      "POST /v1/services HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\n";
  {
    RawConnection c(daemon_->admin_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(head + AuthHeader() + "Content-Length: " + std::to_string(kJsonLimit + 1) +
                       "\r\n\r\n"));
    RawResponse r = c.Read();
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_NE(r.headers["content-type"].find("application/json"), std::string::npos);
    EXPECT_EQ(CodeOf(r.body), "TooLarge") << r.body;
    EXPECT_NE(MessageOf(r.body).find(std::to_string(kJsonLimit)), std::string::npos) << r.body;
    EXPECT_TRUE(r.closed);
  }
  {
    // Chunked: 64 KiB chunks of a JSON string until past the limit. The daemon may answer and
    // close while chunks are still going out; sending then fails and the answer is read.
    RawConnection c(daemon_->admin_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(head + AuthHeader() + "Transfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk_data(64 * 1024, ' ');
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk_data.size());
    const std::string chunk = size_line + chunk_data + "\r\n";
    size_t sent = 0;
    while (sent <= kJsonLimit + chunk_data.size() && c.Send(chunk)) sent += chunk_data.size();
    RawResponse r = c.Read();
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_EQ(CodeOf(r.body), "TooLarge") << r.body;
    EXPECT_TRUE(r.closed);
  }
  {
    RawConnection c(daemon_->admin_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(head + "Content-Length: " + std::to_string(kJsonLimit + 1) + "\r\n\r\n"));
    RawResponse r = c.Read();
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(CodeOf(r.body), "Unauthenticated") << r.body;
    EXPECT_TRUE(r.closed);
  }
  {
    // The same for an artifact larger than any limit: who is asking is checked before the size.
    RawConnection c(daemon_->admin_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("PUT /v1/artifacts/" + std::string(64, 'a') +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n"));
    RawResponse r = c.Read();
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_TRUE(r.closed);
  }
  {
    // A header over 64 KiB gets its answer (431, the JSON error) instead of a dropped connection.
    RawConnection c(daemon_->admin_port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AuthHeader() +
                       "X-Filler: " + std::string(70 * 1024, 'f') + "\r\n\r\n"));
    RawResponse r = c.Read();
    EXPECT_EQ(r.status, 431) << r.body;
    EXPECT_EQ(CodeOf(r.body), "TooLarge") << r.body;
    EXPECT_TRUE(r.closed);
  }
  ExpectStillServing();
}

// The token compare (api/admin_server.cc, ConstantTimeEquals) runs over the presented value's
// length and folds a length mismatch into the result, so it has no early exit to time. What can
// be checked from outside is that it accepts exactly the token: prefixes, extensions, one changed
// character and the empty string are refused — as bearer, cookie and dashboard login.
TEST_F(SecurityTest, TokenComparisonAcceptsOnlyTheExactToken) {
  const std::string token = kToken;
  std::string flipped = token;
  flipped.back() = flipped.back() == 'x' ? 'y' : 'x';
  const std::vector<std::string> near_misses = {"",
                                                token.substr(0, token.size() - 1),
                                                token.substr(0, 1),
                                                token + "0",
                                                token + token,
                                                flipped,
                                                " " + token};
  HttpClient admin("127.0.0.1", daemon_->admin_port());
  for (const std::string& wrong : near_misses) {
    SCOPED_TRACE("'" + wrong + "'");
    HttpResult bearer =
        admin.Request("GET", "/v1/status", "", {{"Authorization", "Bearer " + wrong}});
    EXPECT_EQ(bearer.status, 401);
    EXPECT_EQ(CodeOf(bearer.body), "Unauthenticated") << bearer.body;
    HttpResult cookie =
        admin.Request("GET", "/v1/status", "", {{"Cookie", "cutover_token=" + wrong}});
    EXPECT_EQ(cookie.status, 401);
    if (!wrong.empty() && wrong.front() != ' ') {
      HttpResult login = admin.Request("GET", "/?token=" + wrong);
      EXPECT_EQ(login.status, 401);
      EXPECT_EQ(login.headers.count("set-cookie"), 0u);
    }
  }
  EXPECT_EQ(admin.Request("GET", "/v1/status", "", {{"Authorization", "Bearer " + token}}).status,
            200);
  EXPECT_EQ(admin.Request("GET", "/v1/status", "", {{"Cookie", "cutover_token=" + token}}).status,
            200);
}

}  // namespace
}  // namespace cutover::testing
