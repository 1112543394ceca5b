// WebhookSender against a real HTTP receiver on 127.0.0.1 (Beast, on the sender's own io_context,
// run by the test until a condition holds or a deadline passes). Backoffs are a few milliseconds;
// nothing sleeps. TLS is exercised through ActionDispatcher in actions_test.cc.
#include "alarms/webhook.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cutover::alarms {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr int64_t kNowMs = 1'700'000'000'000;

struct Request {
  std::string target;
  std::string user_agent;
  std::string content_type;
  std::string body;
  steady_clock::time_point at;
};

// Listens on 127.0.0.1:0. Answers the n-th request with statuses[n] (200 once they run out); in
// silent mode it reads each request and never answers, counting the connections the client closes.
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
  void AnswerWith(std::vector<int> statuses) { statuses_ = std::move(statuses); }
  void StaySilent() { silent_ = true; }

  const std::vector<Request>& requests() const { return requests_; }
  int closed_by_client() const { return closed_by_client_; }

 private:
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
    requests_.push_back(
        Request{std::string(req.target()), std::string(req[http::field::user_agent]),
                std::string(req[http::field::content_type]), req.body(), steady_clock::now()});
    if (silent_) {
      char byte;
      auto [rec, rn] = co_await stream.socket().async_read_some(asio::buffer(&byte, 1), kTuple);
      if (rec) ++closed_by_client_;
      co_return;
    }
    const size_t i = requests_.size() - 1;
    http::response<http::string_body> res{
        static_cast<http::status>(i < statuses_.size() ? statuses_[i] : 200), 11};
    res.set(http::field::connection, "close");
    res.prepare_payload();
    co_await http::async_write(stream, res, kTuple);
  }

  tcp::acceptor acceptor_;
  std::vector<int> statuses_;
  bool silent_ = false;
  std::vector<Request> requests_;
  int closed_by_client_ = 0;
};

class WebhookSenderTest : public ::testing::Test {
 protected:
  static WebhookSettings Fast() {
    WebhookSettings s;
    s.backoff_base = milliseconds(10);
    s.attempt_timeout = milliseconds(2000);
    return s;
  }
  WebhookSender& Sender(WebhookSettings s) {
    sender_ = std::make_unique<WebhookSender>(ioc_, clock_, std::move(s));
    return *sender_;
  }
  void Post(const std::string& key, const std::string& url, const std::string& body = "{}") {
    sender_->Post(WebhookMessage{.log_key = key,
                                 .event = "Something",
                                 .event_ms = kNowMs - 100,
                                 .url = url,
                                 .body = std::make_shared<const std::string>(body),
                                 .user_agent = "cutover-test",
                                 .kind = "test"});
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
    return RunUntil([&] { return sender_->pending() == 0; });
  }

  // Declared first: outlives the receivers and the sender.
  asio::io_context ioc_;
  FakeClock clock_{FromEpochMillis(kNowMs)};
  std::unique_ptr<WebhookSender> sender_;
};

TEST_F(WebhookSenderTest, PostsTheBodyAndRecordsTheDelivery) {
  Receiver receiver(ioc_);
  Sender(Fast());
  Post("key", receiver.Url("/hook?a=1"), R"({"hello":"world"})");
  EXPECT_EQ(sender_->pending(), 1u);  // enqueued, not sent inline
  ASSERT_TRUE(Settled());
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].target, "/hook?a=1");
  EXPECT_EQ(receiver.requests()[0].user_agent, "cutover-test");
  EXPECT_EQ(receiver.requests()[0].content_type, "application/json");
  EXPECT_EQ(receiver.requests()[0].body, R"({"hello":"world"})");

  std::vector<WebhookDelivery> log = sender_->Deliveries("key");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].url, receiver.Url("/hook?a=1"));
  EXPECT_EQ(log[0].event, "Something");
  EXPECT_EQ(log[0].event_ms, kNowMs - 100);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_EQ(log[0].http_status, 200);
  EXPECT_EQ(log[0].error, "");
  EXPECT_EQ(log[0].finished_ms, kNowMs);
  EXPECT_TRUE(sender_->Deliveries("other").empty());
}

TEST_F(WebhookSenderTest, RetriesAServerErrorThenDelivers) {
  Receiver receiver(ioc_);
  receiver.AnswerWith({500, 200});
  Sender(Fast());
  Post("key", receiver.Url("/hook"));
  ASSERT_TRUE(Settled());
  ASSERT_EQ(receiver.requests().size(), 2u);
  EXPECT_EQ(receiver.requests()[1].body, receiver.requests()[0].body);
  EXPECT_GE(receiver.requests()[1].at - receiver.requests()[0].at, milliseconds(10));
  std::vector<WebhookDelivery> log = sender_->Deliveries("key");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ(log[0].attempts, 2);
  EXPECT_EQ(log[0].http_status, 200);
}

TEST_F(WebhookSenderTest, NotFoundIsFinalAndNotRetried) {
  Receiver receiver(ioc_);
  receiver.AnswerWith({404, 200});
  Sender(Fast());
  Post("key", receiver.Url("/missing"));
  ASSERT_TRUE(Settled());
  EXPECT_EQ(receiver.requests().size(), 1u);
  std::vector<WebhookDelivery> log = sender_->Deliveries("key");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_EQ(log[0].http_status, 404);
  EXPECT_EQ(log[0].error, "HTTP 404");
}

TEST_F(WebhookSenderTest, SilentServerTimesOutEachAttempt) {
  Receiver receiver(ioc_);
  receiver.StaySilent();
  WebhookSettings s = Fast();
  s.attempt_timeout = milliseconds(100);
  s.max_attempts = 2;
  Sender(s);
  Post("key", receiver.Url("/slow"));
  ASSERT_TRUE(Settled());
  EXPECT_EQ(receiver.requests().size(), 2u);
  std::vector<WebhookDelivery> log = sender_->Deliveries("key");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 2);
  EXPECT_EQ(log[0].http_status, 0);
  EXPECT_EQ(log[0].error, "timed out after 100 ms");
  EXPECT_TRUE(RunUntil([&] { return receiver.closed_by_client() == 2; }));
}

TEST_F(WebhookSenderTest, PendingBoundDropsTheOldest) {
  Receiver receiver(ioc_);
  receiver.StaySilent();
  WebhookSettings s = Fast();
  s.max_pending = 2;
  s.max_concurrent = 1;
  Sender(s);
  Post("a", receiver.Url("/a"));
  ASSERT_TRUE(RunUntil([&] { return receiver.requests().size() == 1; }));
  Post("b", receiver.Url("/b"));
  Post("c", receiver.Url("/c"));  // one over the bound: "a", in flight, goes
  EXPECT_EQ(sender_->pending(), 2u);
  EXPECT_EQ(sender_->dropped(), 1u);
  std::vector<WebhookDelivery> log = sender_->Deliveries("a");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kDropped);
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_NE(log[0].error.find("more than 2"), std::string::npos) << log[0].error;
  EXPECT_TRUE(sender_->Deliveries("b").empty());
  // The slot "a" held goes to the next in line, and "a"'s connection is closed.
  ASSERT_TRUE(RunUntil([&] { return receiver.requests().size() == 2; }));
  EXPECT_EQ(receiver.requests()[1].target, "/b");
  EXPECT_TRUE(RunUntil([&] { return receiver.closed_by_client() == 1; }));
}

TEST_F(WebhookSenderTest, StopAbandonsEverythingPendingAndRefusesMore) {
  Receiver receiver(ioc_);
  receiver.StaySilent();
  WebhookSettings s;  // production timeouts: only Stop() can end these quickly
  s.max_concurrent = 1;
  Sender(s);
  Post("key", receiver.Url("/first"));
  Post("key", receiver.Url("/queued"));
  ASSERT_TRUE(RunUntil([&] { return receiver.requests().size() == 1; }));

  sender_->Stop();
  EXPECT_TRUE(sender_->stopped());
  EXPECT_EQ(sender_->pending(), 0u);
  std::vector<WebhookDelivery> log = sender_->Deliveries("key");
  ASSERT_EQ(log.size(), 2u);
  for (const WebhookDelivery& d : log) EXPECT_EQ(d.outcome, DeliveryOutcome::kAbandoned);
  EXPECT_EQ(log[0].attempts + log[1].attempts, 1);
  EXPECT_TRUE(RunUntil([&] { return receiver.closed_by_client() == 1; }, milliseconds(2000)));

  Post("key", receiver.Url("/after"));
  EXPECT_EQ(sender_->pending(), 0u);
  EXPECT_EQ(sender_->Deliveries("key").size(), 2u);
  // The sender may go before the io_context has run what Stop() aborted.
  sender_.reset();
  ioc_.poll();
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST_F(WebhookSenderTest, UnsupportedUrlFailsWithoutAnAttempt) {
  Sender(Fast());
  Post("key", "ftp://127.0.0.1/x");
  EXPECT_EQ(sender_->pending(), 0u);
  std::vector<WebhookDelivery> log = sender_->Deliveries("key");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].outcome, DeliveryOutcome::kFailed);
  EXPECT_EQ(log[0].attempts, 0);
  EXPECT_NE(log[0].error.find("only http:// and https://"), std::string::npos) << log[0].error;
}

}  // namespace
}  // namespace cutover::alarms
