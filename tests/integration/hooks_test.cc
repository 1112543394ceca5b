// Hooks and triggers through the real daemon (--time-scale 60): Python hooks that report to
// CodeDeploy's PutLifecycleEventHookExecutionStatus at AWS_ENDPOINT_URL_CODEDEPLOY, as SDK code on
// AWS does (the daemon has an admin token; the hooks pass with the session token every instance
// gets, as the SDK sends it), gate a Canary10Percent5Minutes deployment; a post-traffic hook reporting Failed rolls
// the next one back; trigger notifications reach an HTTP receiver started by the test.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <mutex>
#include <thread>

#include "harness.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

// A one-thread HTTP receiver on 127.0.0.1: answers 200 to every request and keeps the bodies.
class Receiver {
 public:
  Receiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~Receiver() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/triggers"; }
  std::vector<json::object> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  // The eventTriggerName/status pairs received for `deployment_id`, as "status" strings.
  std::vector<std::string> StatusesFor(const std::string& deployment_id) {
    std::vector<std::string> out;
    for (const auto& b : bodies()) {
      if (b.contains("deploymentId") && b.at("deploymentId") == deployment_id.c_str()) {
        out.push_back(std::string(b.at("status").as_string()));
      }
    }
    return out;
  }

 private:
  void Run() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string data;
      char buf[4096];
      size_t header_end = std::string::npos;
      size_t need = 0;
      while (true) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos) {
          header_end = data.find("\r\n\r\n");
          if (header_end != std::string::npos) {
            std::string head = data.substr(0, header_end);
            for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            auto at = head.find("content-length:");
            need = at == std::string::npos ? 0 : std::stoul(head.substr(at + 15));
          }
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + need) break;
      }
      if (header_end != std::string::npos) {
        boost::system::error_code ec;
        json::value v = json::parse(data.substr(header_end + 4, need), ec);
        if (!ec && v.is_object()) {
          std::lock_guard<std::mutex> lock(mu_);
          bodies_.push_back(v.as_object());
        }
      }
      const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(c, ok, sizeof ok - 1);
      close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<json::object> bodies_;
};

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

TEST(HooksTest, HooksReportThroughCodeDeploysApiAndTriggersAreDelivered) {
  Receiver receiver;
  setenv("TRIGGER_URL", receiver.url().c_str(), 1);
  setenv("HOOK_VERDICT", "Succeeded", 1);
  fs::path root = MakeTempDir("cutover-hooks");
  // The admin API wants a token; the hooks get through with their SDK's session token alone.
  auto daemon = Daemon::Start(root / "data", {"--time-scale", "60"},
                              {"CUTOVER_TOKEN=hooks-test-admin-token-42"});
  const fs::path app = SourceDir() / "tests/integration/testdata/hooks";
  auto status_of = [&](const std::string& id) {
    json::object d = Parse(daemon->Admin("GET", "/v1/deployments/" + id).body);
    return d.contains("deployment") ? std::string(d["deployment"].as_object()["status"].as_string())
                                    : std::string();
  };

  CommandResult v1 = daemon->Deploy(app, {"--opt", "release=1"});
  ASSERT_EQ(v1.exit_code, 0) << v1.out << v1.err;
  CommandResult v2 = daemon->Deploy(app, {"--opt", "release=2"});
  ASSERT_EQ(v2.exit_code, 0) << v2.out << v2.err;
  const std::string good = DeploymentIdOf(v2);
  ASSERT_FALSE(good.empty()) << v2.out;
  ASSERT_TRUE(WaitFor([&] { return status_of(good) == "Succeeded"; }, std::chrono::seconds(60)))
      << daemon->Admin("GET", "/v1/deployments/" + good).body;
  json::object got = Parse(daemon->Admin("GET", "/v1/deployments/" + good).body);
  std::vector<std::string> reports;
  std::string pre_execution;
  for (const json::value& e : got["events"].as_array()) {
    const json::object& o = e.as_object();
    if (o.at("type") != "HookReported") continue;
    reports.push_back(std::string(o.at("data").as_object().at("phase").as_string()) + "=" +
                      std::string(o.at("data").as_object().at("status").as_string()));
    if (pre_execution.empty()) {
      pre_execution = std::string(o.at("data").as_object().at("executionId").as_string());
    }
  }
  EXPECT_EQ(reports, (std::vector<std::string>{"BeforeAllowTraffic=Succeeded",
                                               "AfterAllowTraffic=Succeeded"}));
  EXPECT_EQ(Parse(daemon->Gateway("GET", "/hello").body)["release"], "2");

  // A second report of the same execution is CodeDeploy's LifecycleEventAlreadyCompletedException.
  HttpResult again = daemon->Admin(
      "POST", "/",
      json::serialize(json::object{{"deploymentId", good},
                                   {"lifecycleEventHookExecutionId", pre_execution},
                                   {"status", "Succeeded"}}),
      {{"X-Amz-Target", "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"},
       {"Content-Type", "application/x-amz-json-1.1"}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(Parse(again.body)["__type"], "LifecycleEventAlreadyCompletedException") << again.body;

  // The next release's post-traffic hook reports Failed: the deployment fails and rolls back.
  setenv("HOOK_VERDICT", "Failed", 1);
  CommandResult v3 = daemon->Deploy(app, {"--opt", "release=3"});
  ASSERT_EQ(v3.exit_code, 0) << v3.out << v3.err;
  const std::string bad = DeploymentIdOf(v3);
  ASSERT_FALSE(bad.empty());
  ASSERT_TRUE(WaitFor([&] { return status_of(bad) == "Failed"; }, std::chrono::seconds(60)))
      << daemon->Admin("GET", "/v1/deployments/" + bad).body;
  json::object failed = Parse(daemon->Admin("GET", "/v1/deployments/" + bad).body);
  EXPECT_EQ(failed["deployment"].as_object()["errorInformation"].as_object()["code"],
            "HOOK_EXECUTION_FAILURE");
  EXPECT_EQ(Parse(daemon->Gateway("GET", "/hello").body)["release"], "2");

  // Triggers: the ones asked for, for each deployment, delivered with CodeDeploy's fields.
  ASSERT_TRUE(WaitFor([&] { return receiver.StatusesFor(bad).size() >= 2; },
                      std::chrono::seconds(30)));
  EXPECT_EQ(receiver.StatusesFor(good), (std::vector<std::string>{"InProgress", "Succeeded"}));
  std::vector<std::string> names;
  for (const auto& b : receiver.bodies()) {
    if (!b.contains("deploymentId")) continue;  // the alarm's notification, below
    EXPECT_EQ(b.at("eventTriggerName"), "to-the-test");
    EXPECT_TRUE(b.contains("deploymentOverview"));
    if (b.at("deploymentId") == bad.c_str()) names.push_back(std::string(b.at("status").as_string()));
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "Failed"), names.end());
  const std::string rollback = std::string(
      failed["deployment"].as_object()["rollbackInfo"].as_object()["rollbackDeploymentId"].as_string());
  EXPECT_TRUE(WaitFor([&] { return !receiver.StatusesFor(rollback).empty(); },
                      std::chrono::seconds(30)))
      << "DeploymentRollback was not delivered";

  // The alarm went from INSUFFICIENT_DATA to OK on the api's requests: its OKActions POST reached the
  // receiver, and the admin API reports the delivery.
  ASSERT_TRUE(WaitFor(
      [&] {
        json::object alarm = Parse(daemon->Admin("GET", "/v1/alarms/hooks-api-errors").body);
        return alarm.contains("deliveries") && !alarm["deliveries"].as_array().empty();
      },
      std::chrono::seconds(30)));
  json::object alarm = Parse(daemon->Admin("GET", "/v1/alarms/hooks-api-errors").body);
  const json::object& delivery = alarm["deliveries"].as_array()[0].as_object();
  EXPECT_EQ(delivery.at("outcome"), "delivered") << json::serialize(delivery);
  EXPECT_EQ(delivery.at("state"), "OK");
  EXPECT_EQ(delivery.at("http_status").to_number<int>(), 200);
  bool notified = false;
  for (const auto& b : receiver.bodies()) {
    notified = notified || (b.contains("AlarmName") && b.at("AlarmName") == "hooks-api-errors");
  }
  EXPECT_TRUE(notified);
  unsetenv("TRIGGER_URL");
  unsetenv("HOOK_VERDICT");
}

}  // namespace
}  // namespace cutover::testing
