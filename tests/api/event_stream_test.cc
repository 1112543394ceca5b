// GET /v1/events on a real AdminServer: what is published while a stream is writing reaches it
// at once, not at the next wake-up (which for a stream without chart posts is the 15 s
// keep-alive).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>

#include "api/admin_server.h"
#include "fake_runtime.h"  // tests/deploy
#include "router/snapshot.h"
#include "store/state_store.h"

namespace cutover::api {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

class EventStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/cutover-event-stream-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    publisher_ = std::make_unique<deploy::Publisher>(deploy::PublisherSettings{root_ / "data"},
                                                     *store_, runtime_, routes_, clock_);
    AdminSettings settings;
    settings.port = 0;
    settings.data_dir = root_ / "data";
    settings.events = &hub_;
    auto server = StartAdminServer(settings, ioc_, *publisher_, runtime_, clock_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Runs the io_context until `done` or a deadline far beyond what the machine needs.
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      ioc_.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // Runs every handler that is ready, and the ones those make ready, until none is.
  void Drain() {
    while (ioc_.poll() > 0) {
    }
  }

  // A client reading the stream into received_.
  void Open(const std::string& target) {
    client_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    asio::write(client_, asio::buffer(request));
    Read();
  }
  void Read() {
    client_.async_read_some(asio::buffer(chunk_), [this](boost::system::error_code ec, size_t n) {
      if (ec) return;
      received_.append(chunk_, n);
      Read();
    });
  }
  bool Received(std::string_view text) const { return received_.find(text) != std::string::npos; }

  fs::path root_;
  FakeClock clock_;
  deploy::FakeRuntime runtime_;  // nothing deployed: the stream needs none
  router::RouteTableSnapshot routes_;
  std::unique_ptr<store::StateStore> store_ = store::CreateMemoryStore();
  std::unique_ptr<deploy::Publisher> publisher_;
  EventHub hub_;
  asio::io_context ioc_;
  std::unique_ptr<AdminServer> server_;
  tcp::socket client_{ioc_};
  char chunk_[4096];
  std::string received_;
};

TEST_F(EventStreamTest, AnEventPublishedWhileTheStreamWritesIsSentRightAfter) {
  Open("/v1/events");
  ASSERT_TRUE(RunUntil([&] { return Received(": cutover events\n\n"); })) << received_;
  Drain();  // the stream waits for the next event
  // The first event wakes the stream, which starts writing it; the second is published before
  // that write completes (handlers run in the order they were queued).
  hub_.Publish("deployment", "d-1", R"({"n":1})");
  asio::post(ioc_, [&] { hub_.Publish("deployment", "d-1", R"({"n":2})"); });
  EXPECT_TRUE(RunUntil([&] { return Received(R"(data: {"n":2})"); })) << received_;
  EXPECT_TRUE(Received("id: 1\nevent: deployment\ndata: {\"n\":1}\n\n")) << received_;
  EXPECT_TRUE(Received("id: 2\nevent: deployment\ndata: {\"n\":2}\n\n")) << received_;
}

}  // namespace
}  // namespace cutover::api
