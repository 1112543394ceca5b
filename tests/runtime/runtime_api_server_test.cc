// The Runtime API HTTP server against a fake handler: routing, headers, keep-alive, parking,
// limits.
#include "runtime/runtime_api_server.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace cutover::runtime {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

class FakeHandler final : public RuntimeApiHandler {
 public:
  NextAction OnNext() override {
    Record("next");
    std::lock_guard lock(mu_);
    return next_action_;
  }
  ApiReply OnResponse(std::string_view id, std::string body, bool over_limit) override {
    Record("response " + std::string(id) + " " + body + (over_limit ? " over-limit" : ""));
    return over_limit ? PayloadTooLargeReply() : AcceptedReply();
  }
  ApiReply OnError(std::string_view id, std::string_view type, std::string body) override {
    Record("error " + std::string(id) + " " + std::string(type) + " " + body);
    return AcceptedReply();
  }
  ApiReply OnInitError(std::string_view type, std::string body) override {
    Record("init-error " + std::string(type) + " " + body);
    return AcceptedReply();
  }
  void OnUndeliverable(NextEvent event) override {
    Record("undeliverable " + event.request_id + " " + event.payload);
  }

  void SetNextAction(NextAction a) {
    std::lock_guard lock(mu_);
    next_action_ = std::move(a);
  }
  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Polls until `n` calls were recorded (the server runs on another thread).
  bool WaitForCalls(size_t n) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      if (calls().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

 private:
  void Record(std::string call) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(call));
  }
  std::mutex mu_;
  std::vector<std::string> calls_;
  NextAction next_action_;
};

// A blocking HTTP client on its own connection.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void Send(http::verb verb, const std::string& target, const std::string& body = "",
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "runtime");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(socket_, req);
  }
  void SendRaw(const std::string& raw) { asio::write(socket_, asio::buffer(raw)); }
  http::response<http::string_body> Read() {
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    return res;
  }
  // True when the server closed the connection.
  bool Closed() {
    boost::system::error_code ec;
    char c;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

class RuntimeApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    handler_ = std::make_shared<FakeHandler>();
    auto server = RuntimeApiServer::Create(asio::make_strand(io_), handler_);
    ASSERT_TRUE(server.ok());
    server_ = *server;
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->Close();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  void Deliver(NextEvent event) {
    asio::post(server_->strand(),
               [s = server_, e = std::move(event)]() mutable { s->DeliverOnStrand(std::move(e)); });
  }
  NextEvent Event(const std::string& id, const std::string& payload) {
    NextEvent e;
    e.request_id = id;
    e.payload = payload;
    e.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f:Live";
    e.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
    e.deadline_epoch_ms = 1700000003000;
    return e;
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::thread thread_;
  std::shared_ptr<FakeHandler> handler_;
  std::shared_ptr<RuntimeApiServer> server_;
};

TEST_F(RuntimeApiServerTest, ParkedNextIsAnsweredByDeliverWithTheLambdaHeaders) {
  Client c(server_->port());
  c.Send(http::verb::get, "/2018-06-01/runtime/invocation/next");
  ASSERT_TRUE(handler_->WaitForCalls(1));
  NextEvent e = Event("req-1", R"({"k":"v"})");
  e.client_context = "{\"a\":\n1}";  // a line break must not split the header
  Deliver(e);
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), R"({"k":"v"})");
  EXPECT_EQ(res["Lambda-Runtime-Aws-Request-Id"], "req-1");
  EXPECT_EQ(res["Lambda-Runtime-Deadline-Ms"], "1700000003000");
  EXPECT_EQ(res["Lambda-Runtime-Invoked-Function-Arn"], e.invoked_function_arn);
  EXPECT_EQ(res["Lambda-Runtime-Trace-Id"], e.trace_id);
  EXPECT_EQ(res["Lambda-Runtime-Client-Context"], "{\"a\": 1}");
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_TRUE(res.keep_alive());
}

TEST_F(RuntimeApiServerTest, NextDeliveredAtOnceWhenTheHandlerHasAnEvent) {
  NextAction a;
  a.kind = RuntimeApiState::NextKind::kDeliver;
  a.event = Event("req-2", "{}");
  handler_->SetNextAction(a);
  Client c(server_->port());
  c.Send(http::verb::get, "/2018-06-01/runtime/invocation/next");
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res["Lambda-Runtime-Aws-Request-Id"], "req-2");
  EXPECT_EQ(res.count("Lambda-Runtime-Client-Context"), 0u);
}

TEST_F(RuntimeApiServerTest, RejectedNextGetsTheHandlersReply) {
  NextAction a;
  a.kind = RuntimeApiState::NextKind::kReject;
  a.reply = InvalidStateTransitionReply(ApiState::kInvoking, "InvocationNext");
  handler_->SetNextAction(a);
  Client c(server_->port());
  c.Send(http::verb::get, "/2018-06-01/runtime/invocation/next");
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 403);
  EXPECT_NE(res.body().find("InvalidStateTransition"), std::string::npos);
}

TEST_F(RuntimeApiServerTest, PostsOnOneKeptAliveConnection) {
  Client c(server_->port());
  c.Send(http::verb::post, "/2018-06-01/runtime/invocation/abc/response", "result");
  auto r1 = c.Read();
  EXPECT_EQ(r1.result_int(), 202);
  EXPECT_EQ(r1.body(), R"({"status":"OK"})");
  c.Send(http::verb::post, "/2018-06-01/runtime/invocation/abc/error", R"({"errorType":"X"})",
         {{"Lambda-Runtime-Function-Error-Type", "Function.Oops"}});
  EXPECT_EQ(c.Read().result_int(), 202);
  c.Send(http::verb::post, "/2018-06-01/runtime/init/error", "{}",
         {{"Lambda-Runtime-Function-Error-Type", "Runtime.Bad"}});
  EXPECT_EQ(c.Read().result_int(), 202);
  c.Send(http::verb::post, "/2018-06-01/runtime/invocation/a%2Db/response?x=1", "z");
  EXPECT_EQ(c.Read().result_int(), 202);
  EXPECT_EQ(handler_->calls(), (std::vector<std::string>{
                                   "response abc result",
                                   R"(error abc Function.Oops {"errorType":"X"})",
                                   "init-error Runtime.Bad {}",
                                   "response a-b z",
                               }));
}

TEST_F(RuntimeApiServerTest, UnknownPathsAndWrongMethods) {
  Client c(server_->port());
  c.Send(http::verb::get, "/2018-06-01/runtime/nothing");
  EXPECT_EQ(c.Read().result_int(), 404);
  c.Send(http::verb::get, "/other");
  EXPECT_EQ(c.Read().result_int(), 404);
  c.Send(http::verb::post, "/2018-06-01/runtime/invocation/next");
  EXPECT_EQ(c.Read().result_int(), 405);
  c.Send(http::verb::get, "/2018-06-01/runtime/invocation/abc/response");
  EXPECT_EQ(c.Read().result_int(), 405);
  EXPECT_TRUE(handler_->calls().empty());
}

TEST_F(RuntimeApiServerTest, BodyOverTheReadLimitGets413AndTheConnectionCloses) {
  Client c(server_->port());
  c.SendRaw(
      "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: x\r\n"
      "Content-Length: 104857600\r\n\r\npartial");
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("RequestEntityTooLarge"), std::string::npos);
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(handler_->calls(), std::vector<std::string>{"response abc  over-limit"});
}

TEST_F(RuntimeApiServerTest, DeliverWithoutAParkedNextHandsTheEventBack) {
  Deliver(Event("req-3", "payload"));
  ASSERT_TRUE(handler_->WaitForCalls(1));
  EXPECT_EQ(handler_->calls()[0], "undeliverable req-3 payload");
}

TEST_F(RuntimeApiServerTest, ANewerNextReplacesTheParkedOne) {
  Client first(server_->port());
  first.Send(http::verb::get, "/2018-06-01/runtime/invocation/next");
  ASSERT_TRUE(handler_->WaitForCalls(1));
  Client second(server_->port());
  second.Send(http::verb::get, "/2018-06-01/runtime/invocation/next");
  ASSERT_TRUE(handler_->WaitForCalls(2));
  EXPECT_TRUE(first.Closed());
  Deliver(Event("req-4", "{}"));
  EXPECT_EQ(second.Read()["Lambda-Runtime-Aws-Request-Id"], "req-4");
}

TEST_F(RuntimeApiServerTest, CloseDropsConnections) {
  Client c(server_->port());
  c.Send(http::verb::get, "/2018-06-01/runtime/invocation/next");
  ASSERT_TRUE(handler_->WaitForCalls(1));
  server_->Close();
  EXPECT_TRUE(c.Closed());
}

}  // namespace
}  // namespace cutover::runtime
