// Alarm actions: the notification JSON, and ActionDispatcher against real HTTP and HTTPS servers
// on 127.0.0.1 (Beast, on the dispatcher's own io_context, run by the test until a condition holds
// or a deadline passes), and the engine dispatching transitions only.
#include "alarms/actions.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "alarms/engine.h"
#include "config/service_spec.h"
#include "metrics/series_store.h"
#include "store/state_store.h"

namespace cutover::alarms {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr int64_t kTransitionMs = 1'700'000'040'123;  // 2023-11-14T22:14:00.123Z

// ---- A self-signed certificate, made with the OpenSSL API -------------------------------------

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// `san`: "IP:127.0.0.1" or "DNS:example.invalid".
TestCert MakeSelfSignedCert(const std::string& san) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("cutover test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"},
                            {NID_subject_key_identifier, "hash"},
                            {NID_subject_alt_name, san}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  TestCert out{BioText(cert_bio), BioText(key_bio)};
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// ---- A test HTTP(S) server

struct Received {
  std::string method;
  std::string target;
  std::string content_type;
  std::string user_agent;
  std::string host;
  std::string body;
  steady_clock::time_point at;
};

// Accepts on 127.0.0.1:0 and answers each request with the next scripted status (200 when the
// script is used up), or, when hanging, reads the request and never answers.
class TestServer {
 public:
  explicit TestServer(asio::io_context& ioc, std::shared_ptr<ssl::context> tls = nullptr)
      : acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        tls_(std::move(tls)) {
    asio::co_spawn(ioc, Accept(), asio::detached);
  }
  ~TestServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  std::string Url(const std::string& path) const {
    return fmt::format("{}://127.0.0.1:{}{}", tls_ ? "https" : "http",
                       acceptor_.local_endpoint().port(), path);
  }
  void Script(std::vector<int> statuses) { script_ = std::move(statuses); }
  void Hang() { hang_ = true; }

  const std::vector<Received>& requests() const { return requests_; }
  int accepted() const { return accepted_; }
  int closed_by_client() const { return closed_by_client_; }
  int handshake_failures() const { return handshake_failures_; }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      ++accepted_;
      if (tls_) {
        asio::co_spawn(acceptor_.get_executor(), TlsSession(std::move(socket)), asio::detached);
      } else {
        asio::co_spawn(acceptor_.get_executor(), Session(beast::tcp_stream(std::move(socket))),
                       asio::detached);
      }
    }
  }

  asio::awaitable<void> TlsSession(tcp::socket socket) {
    ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
    if (ec) {
      ++handshake_failures_;
      co_return;
    }
    co_await Serve(stream);
  }

  asio::awaitable<void> Session(beast::tcp_stream stream) { co_await Serve(stream); }

  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
    if (ec) co_return;
    requests_.push_back({std::string(req.method_string()), std::string(req.target()),
                         std::string(req[http::field::content_type]),
                         std::string(req[http::field::user_agent]),
                         std::string(req[http::field::host]), req.body(), steady_clock::now()});
    if (hang_) {
      // Wait for the client to give up.
      char byte;
      auto [rec, rn] =
          co_await beast::get_lowest_layer(stream).async_read_some(asio::buffer(&byte, 1), kTuple);
      if (rec) ++closed_by_client_;
      co_return;
    }
    const size_t i = requests_.size() - 1;
    const int status = i < script_.size() ? script_[i] : 200;
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::connection, "close");
    res.body() = "ok";
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
  }

  tcp::acceptor acceptor_;
  std::shared_ptr<ssl::context> tls_;
  std::vector<int> script_;
  bool hang_ = false;
  std::vector<Received> requests_;
  int accepted_ = 0;
  int closed_by_client_ = 0;
  int handshake_failures_ = 0;
};

std::shared_ptr<ssl::context> ServerTls(const TestCert& cert) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain(asio::buffer(cert.cert_pem));
  ctx->use_private_key(asio::buffer(cert.key_pem), ssl::context::pem);
  return ctx;
}

// ---- Specs

AlarmSpec MetricAlarm(const std::string& name = "errors") {
  AlarmSpec spec;
  spec.logical_id = "ErrorsAlarm";
  spec.alarm_name = name;
  spec.description = "Lambda errors";
  spec.metric = metrics::MakeKey("AWS/Lambda", "Errors", {{"FunctionName", "svc-dev-api"}});
  spec.statistic_text = "Sum";
  spec.statistic = *metrics::ParseStatistic("Sum");
  spec.period_seconds = 60;
  spec.evaluation_periods = 3;
  spec.datapoints_to_alarm = 2;
  spec.threshold = 1;
  spec.comparison = Comparison::kGreaterThanOrEqualToThreshold;
  spec.treat_missing_data = TreatMissingData::kNotBreaching;
  return spec;
}

std::vector<AlarmAction> Urls(std::initializer_list<std::string> urls) {
  std::vector<AlarmAction> out;
  for (const std::string& url : urls) out.push_back(AlarmAction{url, true});
  return out;
}

// ---- The fixture

class ActionDispatcherTest : public ::testing::Test {
 protected:
  ActionSettings FastSettings() {
    ActionSettings s;
    s.backoff_base = milliseconds(20);
    s.attempt_timeout = milliseconds(2000);
    return s;
  }
  ActionDispatcher& Dispatcher(ActionSettings s) {
    dispatcher_ = std::make_unique<ActionDispatcher>(ioc_, clock_, std::move(s));
    return *dispatcher_;
  }

  // Runs the io_context until `done` or the deadline (generous: the machine may be loaded).
  bool RunUntil(const std::function<bool()>& done, milliseconds limit = milliseconds(20000)) {
    const auto deadline = steady_clock::now() + limit;
    while (!done()) {
      if (steady_clock::now() >= deadline) return false;
      ioc_.run_for(milliseconds(5));
      if (ioc_.stopped()) ioc_.restart();
    }
    return true;
  }
  bool Settled() {
    return RunUntil([&] { return dispatcher_->pending() == 0; });
  }

  void DispatchAlarm(const AlarmSpec& spec, AlarmState from = AlarmState::kOk,
                     AlarmState to = AlarmState::kAlarm) {
    dispatcher_->Dispatch(spec, from, to, "Threshold Crossed: test", R"({"version":"1.0"})",
                          kTransitionMs);
  }

  // Declared first: outlives the servers and the dispatcher.
  asio::io_context ioc_;
  FakeClock clock_{FromEpochMillis(kTransitionMs + 500)};
  std::unique_ptr<ActionDispatcher> dispatcher_;
};

// ---- The notification

TEST(ActionNotificationTest, SingleMetricAlarmMatchesCloudWatchsShape) {
  AlarmSpec spec = MetricAlarm();
  EXPECT_EQ(
      AlarmNotificationJson(spec, AlarmState::kInsufficientData, AlarmState::kAlarm,
                            "Threshold Crossed: 2 out of the last 3 datapoints",
                            R"({"version":"1.0","threshold":1.0})", kTransitionMs),
      R"({"AlarmName":"errors","AlarmDescription":"Lambda errors","NewStateValue":"ALARM",)"
      R"("NewStateReason":"Threshold Crossed: 2 out of the last 3 datapoints",)"
      R"("StateChangeTime":"2023-11-14T22:14:00.123+0000","OldStateValue":"INSUFFICIENT_DATA",)"
      R"("Trigger":{"MetricName":"Errors","Namespace":"AWS/Lambda","StatisticType":"Statistic",)"
      R"("Statistic":"SUM","Unit":null,"Dimensions":[{"value":"svc-dev-api","name":"FunctionName"}],)"
      R"("Period":60,"EvaluationPeriods":3,"DatapointsToAlarm":2,)"
      R"("ComparisonOperator":"GreaterThanOrEqualToThreshold","Threshold":1.0,)"
      R"("TreatMissingData":"notBreaching","EvaluateLowSampleCountPercentile":""},)"
      R"("StateReasonData":"{\"version\":\"1.0\",\"threshold\":1.0}"})");
}

TEST(ActionNotificationTest, ExtendedStatisticAndSampleCount) {
  AlarmSpec spec = MetricAlarm();
  spec.description.clear();
  spec.statistic_text = "p99";
  spec.statistic = *metrics::ParseStatistic("p99");
  spec.extended_statistic = true;
  spec.evaluate_low_sample_count_percentile = false;
  spec.unit = "Milliseconds";
  json::value v = json::parse(
      AlarmNotificationJson(spec, AlarmState::kAlarm, AlarmState::kOk, "r", "", kTransitionMs));
  EXPECT_TRUE(v.at("AlarmDescription").is_null());
  EXPECT_TRUE(v.at("StateReasonData").is_null());
  const json::object& trigger = v.at("Trigger").as_object();
  EXPECT_EQ(trigger.at("StatisticType"), "ExtendedStatistic");
  EXPECT_EQ(trigger.at("ExtendedStatistic"), "p99");
  EXPECT_FALSE(trigger.contains("Statistic"));
  EXPECT_EQ(trigger.at("Unit"), "Milliseconds");
  EXPECT_EQ(trigger.at("EvaluateLowSampleCountPercentile"), "ignore");

  spec = MetricAlarm();
  spec.statistic_text = "SampleCount";
  spec.statistic = *metrics::ParseStatistic("SampleCount");
  v = json::parse(
      AlarmNotificationJson(spec, AlarmState::kAlarm, AlarmState::kOk, "r", "", kTransitionMs));
  EXPECT_EQ(v.at("Trigger").at("Statistic"), "SAMPLE_COUNT");
}

TEST(ActionNotificationTest, MetricMathAlarmListsItsMetrics) {
  config::ResourceSpec resource;
  resource.logical_id = "ErrorRate";
  resource.type = "AWS::CloudWatch::Alarm";
  resource.where = config::SourceLocation{"serverless.yml", 10, 5};
  resource.properties = json::parse(R"({
    "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold",
    "Metrics": [
      {"Id": "e1", "Expression": "100 * errors / invocations", "Label": "Error rate",
       "ReturnData": true},
      {"Id": "errors", "ReturnData": false, "MetricStat": {"Period": 60, "Stat": "Sum",
        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors",
                   "Dimensions": [{"Name": "FunctionName", "Value": "f"}]}}},
      {"Id": "invocations", "ReturnData": false, "MetricStat": {"Period": 60, "Stat": "Sum",
        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations",
                   "Dimensions": [{"Name": "FunctionName", "Value": "f"}]}}}
    ]})")
                            .as_object();
  Result<AlarmSpec> spec = ParseAlarmSpec(resource, AlarmContext{"svc", "dev"});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  json::value v = json::parse(
      AlarmNotificationJson(*spec, AlarmState::kOk, AlarmState::kAlarm, "r", "{}", kTransitionMs));
  const json::object& trigger = v.at("Trigger").as_object();
  EXPECT_FALSE(trigger.contains("MetricName"));
  EXPECT_EQ(trigger.at("Period"), 60);
  EXPECT_EQ(trigger.at("ComparisonOperator"), "GreaterThanThreshold");
  const json::array& metrics = trigger.at("Metrics").as_array();
  ASSERT_EQ(metrics.size(), 3u);
  EXPECT_EQ(json::serialize(metrics[0]),
            R"({"Expression":"100 * errors / invocations","Id":"e1","Label":"Error rate",)"
            R"("ReturnData":true})");
  EXPECT_EQ(json::serialize(metrics[1]),
            R"({"Id":"errors","MetricStat":{"Metric":{"Dimensions":[{"value":"f","name":)"
            R"("FunctionName"}],"MetricName":"Errors","Namespace":"AWS/Lambda"},"Period":60,)"
            R"("Stat":"Sum"},"ReturnData":false})");
}

// ---- Delivery

TEST_F(ActionDispatcherTest, PostsTheTransitionAsJson) {
  TestServer server(ioc_);
  Dispatcher(FastSettings());
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/hooks/alarm?team=web")});
  DispatchAlarm(spec, AlarmState::kOk, AlarmState::kAlarm);
  EXPECT_EQ(dispatcher_->pending(), 1u);  // enqueued, not sent inline
  EXPECT_TRUE(server.requests().empty());

  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 1u);
  const Received& r = server.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hooks/alarm?team=web");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.user_agent, "cutover-alarms");
  EXPECT_EQ(r.host, server.Url("").substr(7));  // "127.0.0.1:PORT"
  EXPECT_EQ(r.body, AlarmNotificationJson(spec, AlarmState::kOk, AlarmState::kAlarm,
                                          "Threshold Crossed: test", R"({"version":"1.0"})",
                                          kTransitionMs));
  json::value v = json::parse(r.body);
  EXPECT_EQ(v.at("AlarmName"), "errors");
  EXPECT_EQ(v.at("NewStateValue"), "ALARM");
  EXPECT_EQ(v.at("OldStateValue"), "OK");
  EXPECT_EQ(v.at("StateChangeTime"), "2023-11-14T22:14:00.123+0000");
  EXPECT_EQ(v.at("Trigger").at("Dimensions").as_array().at(0).at("name"), "FunctionName");
  EXPECT_EQ(json::parse(v.at("StateReasonData").as_string()).at("version"), "1.0");

  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].url, server.Url("/hooks/alarm?team=web"));
  EXPECT_EQ(log[0].state, AlarmState::kAlarm);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_EQ(log[0].http_status, 200);
  EXPECT_EQ(log[0].error, "");
  EXPECT_EQ(log[0].state_change_ms, kTransitionMs);
  EXPECT_EQ(log[0].finished_ms, kTransitionMs + 500);
}

TEST_F(ActionDispatcherTest, UsesTheListOfTheNewState) {
  TestServer server(ioc_);
  Dispatcher(FastSettings());
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  spec.ok_actions = Urls({server.Url("/ok"), server.Url("/ok2")});
  spec.insufficient_data_actions = Urls({server.Url("/insufficient")});
  spec.ok_actions.push_back(AlarmAction{"arn:aws:sns:us-east-1:123456789012:topic", false});

  DispatchAlarm(spec, AlarmState::kAlarm, AlarmState::kOk);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 2u);
  std::vector<std::string> targets{server.requests()[0].target, server.requests()[1].target};
  std::sort(targets.begin(), targets.end());
  EXPECT_EQ(targets, (std::vector<std::string>{"/ok", "/ok2"}));

  DispatchAlarm(spec, AlarmState::kOk, AlarmState::kInsufficientData);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.requests()[2].target, "/insufficient");
  EXPECT_EQ(json::parse(server.requests()[2].body).at("NewStateValue"), "INSUFFICIENT_DATA");

  DispatchAlarm(spec, AlarmState::kInsufficientData, AlarmState::kAlarm);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 4u);
  EXPECT_EQ(server.requests()[3].target, "/alarm");

  // No transition, no action.
  DispatchAlarm(spec, AlarmState::kAlarm, AlarmState::kAlarm);
  EXPECT_EQ(dispatcher_->pending(), 0u);
  EXPECT_EQ(dispatcher_->Deliveries("errors").size(), 4u);
}

TEST_F(ActionDispatcherTest, SendsNothingWhenActionsAreDisabled) {
  TestServer server(ioc_);
  Dispatcher(FastSettings());
  AlarmSpec spec = MetricAlarm();
  spec.actions_enabled = false;
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  EXPECT_EQ(dispatcher_->pending(), 0u);
  EXPECT_TRUE(dispatcher_->Deliveries("errors").empty());
  ioc_.poll();
  EXPECT_EQ(server.accepted(), 0);
}

TEST_F(ActionDispatcherTest, RetriesServerErrorsWithExponentialBackoff) {
  TestServer server(ioc_);
  server.Script({500, 500, 200});
  Dispatcher(FastSettings());  // backoff 20 ms, 40 ms
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.requests()[0].body, server.requests()[2].body);
  EXPECT_GE(server.requests()[1].at - server.requests()[0].at, milliseconds(20));
  EXPECT_GE(server.requests()[2].at - server.requests()[1].at, milliseconds(40));
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ(log[0].attempts, 3);
  EXPECT_EQ(log[0].http_status, 200);
}

TEST_F(ActionDispatcherTest, RetriesTooManyRequestsAndGivesUpAfterMaxAttempts) {
  TestServer server(ioc_);
  server.Script({429, 503, 502, 500, 500, 200});
  ActionSettings s = FastSettings();
  s.backoff_base = milliseconds(5);
  s.max_attempts = 4;
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  EXPECT_EQ(server.requests().size(), 4u);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 4);
  EXPECT_EQ(log[0].http_status, 500);
  EXPECT_EQ(log[0].error, "HTTP 500");
}

TEST_F(ActionDispatcherTest, ClientErrorIsFinal) {
  TestServer server(ioc_);
  server.Script({400, 200});
  Dispatcher(FastSettings());
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  EXPECT_EQ(server.requests().size(), 1u);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_EQ(log[0].http_status, 400);
  EXPECT_EQ(log[0].error, "HTTP 400");
}

TEST_F(ActionDispatcherTest, UnreachablePortIsRetriedThenReportedFailed) {
  uint16_t port;
  {
    tcp::acceptor probe(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  ActionSettings s = FastSettings();
  s.backoff_base = milliseconds(10);
  s.max_attempts = 3;
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({fmt::format("http://127.0.0.1:{}/alarm", port)});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 3);
  EXPECT_EQ(log[0].http_status, 0);
  EXPECT_NE(log[0].error.find("connect"), std::string::npos) << log[0].error;
  EXPECT_NE(log[0].error.find("refused"), std::string::npos) << log[0].error;
}

TEST_F(ActionDispatcherTest, SlowServerTimesOutAndIsRetried) {
  TestServer server(ioc_);
  server.Hang();
  ActionSettings s = FastSettings();
  s.attempt_timeout = milliseconds(100);
  s.backoff_base = milliseconds(10);
  s.max_attempts = 2;
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  EXPECT_EQ(server.requests().size(), 2u);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 2);
  EXPECT_EQ(log[0].error, "timed out after 100 ms");
  // The client closed both connections.
  EXPECT_TRUE(RunUntil([&] { return server.closed_by_client() == 2; }));
}

TEST_F(ActionDispatcherTest, StopAbandonsPendingDeliveriesPromptly) {
  TestServer server(ioc_);
  server.Hang();
  ActionSettings s;  // production settings: 5 s timeout, 1 s backoff
  s.max_concurrent = 2;
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/a"), server.Url("/b"), server.Url("/c")});
  DispatchAlarm(spec);
  ASSERT_TRUE(
      RunUntil([&] { return server.requests().size() == 2; }));  // two in flight, one queued
  EXPECT_EQ(dispatcher_->pending(), 3u);

  const auto start = steady_clock::now();
  dispatcher_->Stop();
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(dispatcher_->pending(), 0u);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 3u);
  int started = 0;
  for (const DeliveryRecord& r : log) {
    EXPECT_EQ(r.outcome, DeliveryOutcome::kAbandoned);
    started += r.attempts;
  }
  EXPECT_EQ(started, 2);
  // The sockets are closed at once, and nothing new is sent.
  EXPECT_TRUE(RunUntil([&] { return server.closed_by_client() == 2; }, milliseconds(2000)));
  DispatchAlarm(spec);
  EXPECT_EQ(dispatcher_->pending(), 0u);
  EXPECT_EQ(dispatcher_->Deliveries("errors").size(), 3u);
  // The dispatcher can go before the io_context has run everything Stop() aborted.
  dispatcher_.reset();
  ioc_.poll();
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(ActionDispatcherTest, QueueBoundDropsTheOldest) {
  TestServer server(ioc_);
  server.Hang();
  ActionSettings s = FastSettings();
  s.max_pending = 2;
  s.max_concurrent = 1;
  Dispatcher(s);
  AlarmSpec first = MetricAlarm("first");
  first.alarm_actions = Urls({server.Url("/first")});
  AlarmSpec second = MetricAlarm("second");
  second.alarm_actions = Urls({server.Url("/second")});
  AlarmSpec third = MetricAlarm("third");
  third.alarm_actions = Urls({server.Url("/third")});

  DispatchAlarm(first);
  ASSERT_TRUE(RunUntil([&] { return server.requests().size() == 1; }));
  DispatchAlarm(second);
  EXPECT_EQ(dispatcher_->pending(), 2u);
  DispatchAlarm(third);  // over the bound: "first" (in flight) goes
  EXPECT_EQ(dispatcher_->pending(), 2u);
  EXPECT_EQ(dispatcher_->dropped(), 1u);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("first");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDropped);
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_NE(log[0].error.find("more than 2"), std::string::npos) << log[0].error;
  EXPECT_TRUE(dispatcher_->Deliveries("second").empty());
  EXPECT_TRUE(dispatcher_->Deliveries("third").empty());
  // The freed slot goes to the next in line.
  ASSERT_TRUE(RunUntil([&] { return server.requests().size() == 2; }));
  EXPECT_EQ(server.requests()[1].target, "/second");
  EXPECT_TRUE(RunUntil([&] { return server.closed_by_client() == 1; }));
}

TEST_F(ActionDispatcherTest, LogKeepsTheLastDeliveriesNewestFirst) {
  TestServer server(ioc_);
  ActionSettings s = FastSettings();
  s.log_size = 3;
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  for (int i = 0; i < 5; ++i) {
    dispatcher_->Dispatch(spec, AlarmState::kOk, AlarmState::kAlarm, "r", "{}", 1000 + i);
    ASSERT_TRUE(Settled());
  }
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].state_change_ms, 1004);
  EXPECT_EQ(log[2].state_change_ms, 1002);
}

TEST_F(ActionDispatcherTest, BadUrlIsRecordedAsFailed) {
  Dispatcher(FastSettings());
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({"http://user:secret@127.0.0.1:1/x", "http://"});
  DispatchAlarm(spec);
  EXPECT_EQ(dispatcher_->pending(), 0u);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 2u);
  for (const DeliveryRecord& r : log) {
    EXPECT_EQ(r.outcome, DeliveryOutcome::kFailed);
    EXPECT_EQ(r.attempts, 0);
  }
}

// ---- HTTPS

TEST_F(ActionDispatcherTest, HttpsRejectsAnUntrustedCertificate) {
  TestCert cert = MakeSelfSignedCert("IP:127.0.0.1");
  TestServer server(ioc_, ServerTls(cert));
  Dispatcher(FastSettings());  // the system store only
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  EXPECT_TRUE(server.requests().empty());
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 1);  // a certificate that does not verify is final
  EXPECT_NE(log[0].error.find("certificate verify failed"), std::string::npos) << log[0].error;
  EXPECT_NE(log[0].error.find("self-signed"), std::string::npos) << log[0].error;
}

TEST_F(ActionDispatcherTest, HttpsDeliversToATrustedCertificate) {
  TestCert cert = MakeSelfSignedCert("IP:127.0.0.1");
  TestServer server(ioc_, ServerTls(cert));
  ActionSettings s = FastSettings();
  s.extra_ca_pem = cert.cert_pem;
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(json::parse(server.requests()[0].body).at("NewStateValue"), "ALARM");
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDelivered) << log[0].error;
}

TEST_F(ActionDispatcherTest, HttpsRejectsACertificateForAnotherHost) {
  TestCert cert = MakeSelfSignedCert("DNS:example.invalid");
  TestServer server(ioc_, ServerTls(cert));
  ActionSettings s = FastSettings();
  s.extra_ca_pem = cert.cert_pem;  // trusted, but not for 127.0.0.1
  Dispatcher(s);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  ASSERT_TRUE(Settled());
  EXPECT_TRUE(server.requests().empty());
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_NE(log[0].error.find("IP address mismatch"), std::string::npos) << log[0].error;
}

// The system store is read at the first https:// delivery, not when the daemon starts (it is slow
// to load and most daemons never use it). OpenSSL reads SSL_CERT_FILE as the system store, so a
// certificate named there after the dispatcher exists is trusted only if the store is read late.
TEST_F(ActionDispatcherTest, HttpsReadsTheSystemStoreAtTheFirstHttpsDelivery) {
  TestCert cert = MakeSelfSignedCert("IP:127.0.0.1");
  TestServer server(ioc_, ServerTls(cert));
  Dispatcher(FastSettings());  // the system store only
  const std::string file = ::testing::TempDir() + "actions_test_system_store.pem";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(cert.cert_pem.data(), 1, cert.cert_pem.size(), f);
    std::fclose(f);
  }
  const char* before = std::getenv("SSL_CERT_FILE");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("SSL_CERT_FILE", file.c_str(), 1);
  AlarmSpec spec = MetricAlarm();
  spec.alarm_actions = Urls({server.Url("/alarm")});
  DispatchAlarm(spec);
  const bool settled = Settled();
  if (before != nullptr) {
    ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  } else {
    ::unsetenv("SSL_CERT_FILE");
  }
  std::remove(file.c_str());
  ASSERT_TRUE(settled);
  std::vector<DeliveryRecord> log = dispatcher_->Deliveries("errors");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDelivered) << log[0].error;
  EXPECT_EQ(server.requests().size(), 1u);
}

// ---- The engine

TEST_F(ActionDispatcherTest, EngineDispatchesTransitionsButNotTheInitialState) {
  TestServer server(ioc_);
  Dispatcher(FastSettings());
  const int64_t t0 = 1'700'000'040'000;  // a whole minute
  clock_.Set(FromEpochMillis(t0));
  metrics::MetricsStore metric_store;
  std::unique_ptr<store::StateStore> state_store = store::CreateMemoryStore();
  AlarmEngine engine(metric_store, *state_store, clock_, dispatcher_.get());

  AlarmSpec spec = MetricAlarm();
  spec.evaluation_periods = 1;
  spec.datapoints_to_alarm = 1;
  spec.treat_missing_data = TreatMissingData::kMissing;
  spec.alarm_actions = Urls({server.Url("/alarm")});
  spec.insufficient_data_actions = Urls({server.Url("/insufficient")});
  engine.SetServiceAlarms("svc", "dev", {spec});
  EXPECT_EQ(dispatcher_->pending(), 0u);  // the initial INSUFFICIENT_DATA is no transition

  metric_store.Add(*spec.metric, t0 + 10'000, 5);
  clock_.Set(FromEpochMillis(t0 + 60'000));
  engine.Tick();
  ASSERT_EQ(engine.Find("errors")->state, AlarmState::kAlarm);
  EXPECT_EQ(dispatcher_->pending(), 1u);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 1u);
  json::value v = json::parse(server.requests()[0].body);
  EXPECT_EQ(server.requests()[0].target, "/alarm");
  EXPECT_EQ(v.at("OldStateValue"), "INSUFFICIENT_DATA");
  EXPECT_EQ(v.at("NewStateValue"), "ALARM");
  EXPECT_EQ(std::string(v.at("NewStateReason").as_string()), engine.Find("errors")->reason);
  EXPECT_EQ(std::string(v.at("StateReasonData").as_string()), engine.Find("errors")->reason_data);
  EXPECT_EQ(v.at("StateChangeTime"), "2023-11-14T22:15:00.000+0000");

  // Still breaching a minute later: no transition, no action.
  clock_.Set(FromEpochMillis(t0 + 120'000));
  engine.Tick();
  EXPECT_EQ(engine.Find("errors")->state, AlarmState::kAlarm);
  EXPECT_EQ(dispatcher_->pending(), 0u);

  // No data at all in the range: INSUFFICIENT_DATA, and its action.
  clock_.Set(FromEpochMillis(t0 + 300'000));
  engine.Tick();
  ASSERT_EQ(engine.Find("errors")->state, AlarmState::kInsufficientData);
  ASSERT_TRUE(Settled());
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].target, "/insufficient");
  std::vector<DeliveryRecord> log = engine.Deliveries("errors");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].state, AlarmState::kInsufficientData);
  EXPECT_EQ(log[1].state, AlarmState::kAlarm);
}

// The control loop runs the deployment controller between the two halves of Tick: the new state
// is visible at once, its store write and its actions come with FlushTransitions.
TEST_F(ActionDispatcherTest, EvaluateDueShowsTheStateAndFlushStoresAndActsOnIt) {
  TestServer server(ioc_);
  Dispatcher(FastSettings());
  const int64_t t0 = 1'700'000'040'000;
  clock_.Set(FromEpochMillis(t0));
  metrics::MetricsStore metric_store;
  std::unique_ptr<store::StateStore> state_store = store::CreateMemoryStore();
  AlarmEngine engine(metric_store, *state_store, clock_, dispatcher_.get());
  AlarmSpec spec = MetricAlarm();
  spec.evaluation_periods = 1;
  spec.datapoints_to_alarm = 1;
  spec.alarm_actions = Urls({server.Url("/alarm")});
  engine.SetServiceAlarms("svc", "dev", {spec});

  metric_store.Add(*spec.metric, t0 + 10'000, 5);
  clock_.Set(FromEpochMillis(t0 + 60'000));
  engine.EvaluateDue();
  EXPECT_EQ(engine.Find("errors")->state, AlarmState::kAlarm);
  auto history = engine.History("errors", 10);
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
  EXPECT_EQ(dispatcher_->pending(), 0u);

  engine.FlushTransitions();
  history = engine.History("errors", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].new_state, "ALARM");
  EXPECT_EQ(dispatcher_->pending(), 1u);
  // A second flush has nothing left to do.
  engine.FlushTransitions();
  EXPECT_EQ(engine.History("errors", 10)->size(), 1u);
  ASSERT_TRUE(Settled());
  EXPECT_EQ(server.requests().size(), 1u);
}

}  // namespace
}  // namespace cutover::alarms
