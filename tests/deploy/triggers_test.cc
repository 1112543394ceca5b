// CodeDeploy triggers: parsing triggerConfigurations, the message's shape, and delivery through a
// WebhookSender to an HTTP receiver on 127.0.0.1 (run on the test's io_context until a condition
// holds or a deadline passes).
#include "deploy/triggers.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "alarms/webhook.h"

namespace cutover::deploy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// ---- Parsing

TEST(ParseTriggerConfigurationsTest, ReadsTheCloudFormationSpelling) {
  Result<std::vector<TriggerConfig>> triggers = ParseTriggerConfigurations(json::parse(R"([
    {"TriggerName": "web", "TriggerTargetArn": "https://hooks.example.com/deploy",
     "TriggerEvents": ["DeploymentStart", "DeploymentFailure"]},
    {"TriggerName": "topic", "TriggerTargetArn": "arn:aws:sns:us-east-1:123456789012:deploys",
     "TriggerEvents": ["DeploymentSuccess"]}])"));
  ASSERT_TRUE(triggers.ok()) << triggers.status().ToString();
  ASSERT_EQ(triggers->size(), 2u);
  EXPECT_EQ((*triggers)[0].name, "web");
  EXPECT_EQ((*triggers)[0].target, "https://hooks.example.com/deploy");
  EXPECT_EQ((*triggers)[0].events,
            (std::vector<std::string>{"DeploymentStart", "DeploymentFailure"}));
  EXPECT_TRUE(IsDeliverable((*triggers)[0]));
  // An SNS topic is kept, but there is no SNS to deliver to.
  EXPECT_EQ((*triggers)[1].target, "arn:aws:sns:us-east-1:123456789012:deploys");
  EXPECT_FALSE(IsDeliverable((*triggers)[1]));
}

TEST(ParseTriggerConfigurationsTest, ReadsTheApiSpelling) {
  Result<std::vector<TriggerConfig>> triggers = ParseTriggerConfigurations(json::parse(R"([
    {"triggerName": "hook", "triggerTargetArn": "http://127.0.0.1:9000/x",
     "triggerEvents": ["DeploymentRollback", "InstanceFailure", "DeploymentRollback"]}])"));
  ASSERT_TRUE(triggers.ok()) << triggers.status().ToString();
  ASSERT_EQ(triggers->size(), 1u);
  EXPECT_EQ((*triggers)[0].name, "hook");
  EXPECT_EQ((*triggers)[0].target, "http://127.0.0.1:9000/x");
  // Instance events are valid (they never fire for Lambda); a repeated event counts once.
  EXPECT_EQ((*triggers)[0].events,
            (std::vector<std::string>{"DeploymentRollback", "InstanceFailure"}));
}

TEST(ParseTriggerConfigurationsTest, NullOrAbsentIsEmpty) {
  Result<std::vector<TriggerConfig>> absent = ParseTriggerConfigurations(json::value());
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->empty());
  Result<std::vector<TriggerConfig>> empty = ParseTriggerConfigurations(json::parse("[]"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ParseTriggerConfigurationsTest, KeepsACloudFormationReferenceInert) {
  Result<std::vector<TriggerConfig>> triggers = ParseTriggerConfigurations(json::parse(R"([
    {"TriggerName": "t", "TriggerTargetArn": {"Ref": "DeployTopic"},
     "TriggerEvents": ["DeploymentStart"]}])"));
  ASSERT_TRUE(triggers.ok()) << triggers.status().ToString();
  EXPECT_EQ((*triggers)[0].target, R"({"Ref":"DeployTopic"})");
  EXPECT_FALSE(IsDeliverable((*triggers)[0]));
}

struct BadCase {
  std::string input;
  std::string message;  // a part of the expected error
};

class ParseTriggerErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseTriggerErrorTest, IsInvalidArgumentWithAClearMessage) {
  Result<std::vector<TriggerConfig>> r = ParseTriggerConfigurations(json::parse(GetParam().input));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(GetParam().message), std::string::npos)
      << r.status().message();
}

std::string ElevenTriggers() {
  std::string out = "[";
  for (int i = 0; i < 11; ++i) {
    out += fmt::format(R"({}{{"TriggerName":"t{}","TriggerTargetArn":"http://h/",)"
                       R"("TriggerEvents":["DeploymentStart"]}})",
                       i > 0 ? "," : "", i);
  }
  return out + "]";
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseTriggerErrorTest,
    ::testing::Values(
        BadCase{R"({"TriggerName": "t"})", "triggerConfigurations must be a list"},
        BadCase{ElevenTriggers(), "has 11 triggers; CodeDeploy allows at most 10"},
        BadCase{R"([{"TriggerName": "t", "TriggerEvents": ["DeploymentStart"]}])",
                "triggerConfigurations[0]: TriggerTargetArn is missing"},
        BadCase{R"([{"TriggerName": "t", "TriggerTargetArn": "http://h/",
                     "TriggerEvents": ["DeploymentStarted"]}])",
                R"(unknown event type "DeploymentStarted" in TriggerEvents (expected one of )"
                R"(DeploymentStart, DeploymentSuccess)"},
        BadCase{R"([{"TriggerName": "t", "TriggerTargetArn": "http://h/", "TriggerEvents": []}])",
                "TriggerEvents must be a non-empty list"},
        BadCase{R"([{"TriggerTargetArn": "http://h/", "TriggerEvents": ["DeploymentStart"]}])",
                "TriggerName must be a non-empty string"},
        BadCase{R"([{"TriggerName": "t", "TargetTriggerArn": "http://h/",
                     "TriggerEvents": ["DeploymentStart"]}])",
                "unknown key 'TargetTriggerArn'"},
        BadCase{R"([{"TriggerName": "t", "triggerName": "u", "TriggerTargetArn": "http://h/",
                     "TriggerEvents": ["DeploymentStart"]}])",
                "has both TriggerName and triggerName"},
        BadCase{R"([{"TriggerName": "t", "TriggerTargetArn": "mailto:ops@example.com",
                     "TriggerEvents": ["DeploymentStart"]}])",
                "must be an http(s) URL (which cutover calls) or an ARN"},
        BadCase{R"([{"TriggerName": "t", "TriggerTargetArn": "http://h/",
                     "TriggerEvents": ["DeploymentStart"]},
                    {"TriggerName": "t", "TriggerTargetArn": "http://h/",
                     "TriggerEvents": ["DeploymentStop"]}])",
                "triggerConfigurations[1]: a second trigger named 't'"},
        BadCase{R"(["DeploymentStart"])", "triggerConfigurations[0] must be a mapping"}));

// ---- The message

DeploymentNotice FailedNotice() {
  DeploymentNotice n;
  n.event = "DeploymentFailure";
  n.deployment_id = "d-75I7MBT7C";
  n.application_name = "svc-dev";
  n.deployment_group_name = "svc-dev-WebLambdaFunctionDeploymentGroup";
  n.region = "us-east-1";
  n.status = "Failed";
  n.error_code = "ALARM_ACTIVE";
  n.error_message = "One or more alarms have been activated: [errors]";
  n.create_ms = 1'446'744'188'595;
  n.complete_ms = 1'446'744'190'402;
  n.failed = 1;
  return n;
}

TEST(DeploymentTriggerJsonTest, FollowsCodeDeploysDeploymentMessage) {
  TriggerConfig trigger{"notify-failures", "https://hooks.example.com/x", {"DeploymentFailure"}};
  EXPECT_EQ(
      DeploymentTriggerJson(trigger, FailedNotice()),
      R"({"region":"us-east-1","accountId":"000000000000","eventTriggerName":"notify-failures",)"
      R"("applicationName":"svc-dev","deploymentId":"d-75I7MBT7C",)"
      R"("deploymentGroupName":"svc-dev-WebLambdaFunctionDeploymentGroup",)"
      R"("createTime":"1446744188.595","completeTime":"1446744190.402",)"
      R"("deploymentOverview":{"Failed":"1","InProgress":"0","Pending":"0","Skipped":"0",)"
      R"("Succeeded":"0"},"status":"Failed","errorInformation":{"ErrorCode":"ALARM_ACTIVE",)"
      R"("ErrorMessage":"One or more alarms have been activated: [errors]"}})");
}

TEST(DeploymentTriggerJsonTest, RunningDeploymentHasNoCompleteTimeAndNoError) {
  DeploymentNotice n = FailedNotice();
  n.event = "DeploymentStart";
  n.status = "InProgress";
  n.error_code.clear();
  n.error_message.clear();
  n.complete_ms = 0;
  n.create_ms = 1'700'000'000'007;
  n.failed = 0;
  n.in_progress = 1;
  json::value v = json::parse(DeploymentTriggerJson({"t", "http://h/", {"DeploymentStart"}}, n));
  EXPECT_EQ(v.at("createTime"), "1700000000.007");
  EXPECT_TRUE(v.at("completeTime").is_null());
  EXPECT_EQ(v.at("status"), "InProgress");
  EXPECT_EQ(v.at("deploymentOverview").at("InProgress"), "1");
  EXPECT_FALSE(v.as_object().contains("errorInformation"));
}

// ---- Delivery

struct Received {
  std::string target;
  std::string user_agent;
  json::value body;
};

// Accepts on 127.0.0.1:0 and answers every POST with 200, keeping what it received.
class Receiver {
 public:
  explicit Receiver(asio::io_context& ioc)
      : acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc, AcceptLoop(), asio::detached);
  }
  ~Receiver() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }
  std::string Url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", acceptor_.local_endpoint().port(), path);
  }
  const std::vector<Received>& received() const { return received_; }

 private:
  static constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), Serve(beast::tcp_stream(std::move(socket))),
                     asio::detached);
    }
  }
  asio::awaitable<void> Serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
    if (ec) co_return;
    received_.push_back(Received{std::string(req.target()),
                                 std::string(req[http::field::user_agent]),
                                 json::parse(req.body())});
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::connection, "close");
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
  }

  tcp::acceptor acceptor_;
  std::vector<Received> received_;
};

class TriggerDispatcherTest : public ::testing::Test {
 protected:
  bool RunUntil(const std::function<bool()>& done, milliseconds limit = milliseconds(20000)) {
    const auto deadline = steady_clock::now() + limit;
    while (!done()) {
      if (steady_clock::now() >= deadline) return false;
      ioc_.run_for(milliseconds(5));
      if (ioc_.stopped()) ioc_.restart();
    }
    return true;
  }

  asio::io_context ioc_;  // declared first: outlives the receiver and the sender
  FakeClock clock_;
  alarms::WebhookSender sender_{ioc_, clock_};
  TriggerDispatcher dispatcher_{sender_};
};

TEST_F(TriggerDispatcherTest, SendsOnlyTheEventsATriggerAsksFor) {
  Receiver receiver(ioc_);
  Result<std::vector<TriggerConfig>> triggers = ParseTriggerConfigurations(json::parse(fmt::format(
      R"([{{"TriggerName": "start-and-rollback", "TriggerTargetArn": "{}",
            "TriggerEvents": ["DeploymentStart", "DeploymentRollback"]}},
          {{"TriggerName": "sns", "TriggerTargetArn": "arn:aws:sns:us-east-1:123456789012:t",
            "TriggerEvents": ["DeploymentStart", "DeploymentSuccess", "DeploymentRollback"]}}])",
      receiver.Url("/codedeploy"))));
  ASSERT_TRUE(triggers.ok()) << triggers.status().ToString();

  DeploymentNotice notice = FailedNotice();
  notice.deployment_id = "d-1";
  notice.error_code.clear();
  notice.error_message.clear();
  notice.failed = 0;
  for (std::string_view event : {kDeploymentStart, kDeploymentSuccess, kDeploymentRollback}) {
    notice.event = event;
    dispatcher_.Notify(*triggers, notice);
  }
  // Start and Rollback for the URL; nothing for Success, nor for the SNS topic.
  EXPECT_EQ(sender_.pending(), 2u);
  ASSERT_TRUE(RunUntil([&] { return sender_.pending() == 0; }));
  ASSERT_EQ(receiver.received().size(), 2u);
  for (const Received& r : receiver.received()) {
    EXPECT_EQ(r.target, "/codedeploy");
    EXPECT_EQ(r.user_agent, "cutover-deploy");
    EXPECT_EQ(r.body.at("eventTriggerName"), "start-and-rollback");
    EXPECT_EQ(r.body.at("deploymentId"), "d-1");
  }
  std::vector<alarms::WebhookDelivery> log = dispatcher_.Deliveries("d-1");
  ASSERT_EQ(log.size(), 2u);
  std::vector<std::string> events;
  for (const alarms::WebhookDelivery& d : log) {
    EXPECT_EQ(d.outcome, alarms::DeliveryOutcome::kDelivered);
    EXPECT_EQ(d.url, receiver.Url("/codedeploy"));
    events.push_back(d.event);
  }
  std::sort(events.begin(), events.end());
  EXPECT_EQ(events, (std::vector<std::string>{"DeploymentRollback", "DeploymentStart"}));
}

}  // namespace
}  // namespace cutover::deploy
