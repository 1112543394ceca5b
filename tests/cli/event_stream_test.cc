// The SSE client: SseParser on streams cut at every possible place, and EventStream against a raw
// TCP server that writes an event stream in pieces, closes it, or goes silent.

#include "cli/event_stream.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "fake_admin_server.h"

namespace cutover::cli {
namespace {

using std::chrono::milliseconds;

std::vector<SseEvent> ParseAll(const std::vector<std::string>& chunks) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (const std::string& chunk : chunks) EXPECT_TRUE(parser.Feed(chunk, events));
  return events;
}

// Every way of cutting `stream` into two pieces, and byte by byte, gives `expected`.
void ExpectSameAtEveryCut(const std::string& stream, const std::vector<SseEvent>& expected) {
  auto same = [&](const std::vector<SseEvent>& got, const std::string& how) {
    ASSERT_EQ(got.size(), expected.size()) << how;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].id, expected[i].id) << how << " event " << i;
      EXPECT_EQ(got[i].type, expected[i].type) << how << " event " << i;
      EXPECT_EQ(got[i].data, expected[i].data) << how << " event " << i;
    }
  };
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    same(ParseAll({stream.substr(0, cut), stream.substr(cut)}), "cut at " + std::to_string(cut));
  }
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  same(ParseAll(bytes), "byte by byte");
}

TEST(SseParserTest, TheDaemonsDeploymentEvents) {
  const std::string stream =
      ": keep-alive\n\n"
      "id: 7\nevent: deployment\ndata: {\"deploymentId\":\"d-1\",\"seq\":1}\n\n"
      ": keep-alive\n"
      "id: 8\nevent: deployment\ndata: {\"seq\":2}\n\n";
  ExpectSameAtEveryCut(stream, {{"7", "deployment", R"({"deploymentId":"d-1","seq":1})"},
                                {"8", "deployment", R"({"seq":2})"}});
}

TEST(SseParserTest, DataLinesAreJoinedWithNewlines) {
  ExpectSameAtEveryCut("data: first\ndata:second\ndata:  third\ndata\n\n",
                       {{"", "message", "first\nsecond\n third\n"}});
}

TEST(SseParserTest, CrLfAndLoneCrEndLinesToo) {
  ExpectSameAtEveryCut("id: 1\r\ndata: a\r\n\r\nid: 2\rdata: b\r\rdata: c\n\r\n",
                       {{"1", "message", "a"}, {"2", "message", "b"}, {"2", "message", "c"}});
}

TEST(SseParserTest, TheIdStaysInEffectAndAnEventWithoutDataIsDropped) {
  // An id alone sets the last event id without dispatching; `event:` alone dispatches nothing and
  // does not leak into the next event.
  ExpectSameAtEveryCut("id: 41\n\nevent: nothing\n\ndata: x\n\nid\ndata: y\n\n",
                       {{"41", "message", "x"}, {"", "message", "y"}});
}

TEST(SseParserTest, AnEmptyDataFieldStillDispatches) {
  ExpectSameAtEveryCut("data:\n\ndata: \n\n", {{"", "message", ""}, {"", "message", ""}});
}

TEST(SseParserTest, AnUnfinishedEventIsNotDispatched) {
  EXPECT_TRUE(ParseAll({"id: 1\ndata: complete\n\ndata: not yet\n"}).size() == 1);
  // ... and the last event id it set counts only once its line ended.
  SseParser parser;
  std::vector<SseEvent> events;
  parser.Feed("id: 3\ndata: a\n\nid: 4", events);
  EXPECT_EQ(parser.last_event_id(), "3");
  parser.Feed("\n", events);
  EXPECT_EQ(parser.last_event_id(), "4");
}

TEST(SseParserTest, ALeadingBomIsSkippedEvenWhenSplit) {
  ExpectSameAtEveryCut(
      "\xEF\xBB\xBF"
      "data: a\n\n",
      {{"", "message", "a"}});
}

TEST(SseParserTest, RetryAndUnknownFields) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.Feed("retry: 2500\nretry: soon\nfoo: bar\ndata: x\n\n", events);
  EXPECT_EQ(parser.retry_ms(), 2500);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParserTest, AnEndlessLineFails) {
  SseParser parser;
  std::vector<SseEvent> events;
  const std::string megabyte(1 << 20, 'x');
  bool ok = true;
  for (int i = 0; i < 9 && ok; ++i) ok = parser.Feed(megabyte, events);
  EXPECT_FALSE(ok);
}

// ---- EventStream against a raw server

// Accepts one connection, reads the request head, then runs `script` with a writer and a reader
// of the request; closes when the script returns.
class RawServer {
 public:
  using Write = std::function<void(const std::string&)>;
  using Script = std::function<void(const std::string& request, const Write& write)>;

  explicit RawServer(Script script)
      : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        thread_([this, script = std::move(script)] {
          boost::system::error_code ec;
          boost::asio::ip::tcp::socket socket(ioc_);
          acceptor_.accept(socket, ec);
          if (ec) return;
          boost::asio::streambuf buffer;
          boost::asio::read_until(socket, buffer, "\r\n\r\n", ec);
          std::string request(boost::asio::buffers_begin(buffer.data()),
                              boost::asio::buffers_end(buffer.data()));
          script(request, [&socket](const std::string& bytes) {
            boost::system::error_code write_ec;
            boost::asio::write(socket, boost::asio::buffer(bytes), write_ec);
          });
          socket.close(ec);
        }) {}
  ~RawServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    thread_.join();
  }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", acceptor_.local_endpoint().port(), ""}; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

constexpr const char* kStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

// Calls Next until `count` events came or the stream failed.
std::vector<SseEvent> Collect(EventStream& stream, size_t count, Status* end = nullptr) {
  std::vector<SseEvent> all;
  for (int i = 0; i < 100 && all.size() < count; ++i) {
    Result<std::vector<SseEvent>> got = stream.Next(milliseconds(100));
    if (!got.ok()) {
      if (end != nullptr) *end = got.status();
      break;
    }
    all.insert(all.end(), got->begin(), got->end());
  }
  return all;
}

TEST(EventStreamTest, EventsArriveAsTheServerWritesThemPiecesAndAll) {
  std::promise<void> first_read;
  std::string request;
  RawServer server([&](const std::string& r, const RawServer::Write& write) {
    request = r;
    write(kStreamHead);
    write(": keep-alive\n\nid: 1\nevent: deployment\ndata: {\"seq\":");
    first_read.get_future().wait();  // the client has seen nothing complete yet
    write("1}\n\nid: 2\nevent: deployment\ndata: {\"seq\":2}\n\n");
  });
  EventStream stream(server.endpoint(), std::string("secret"), "/v1/events?deployment=d-1");
  ASSERT_TRUE(stream.Open("").ok());
  Result<std::vector<SseEvent>> nothing = stream.Next(milliseconds(100));
  ASSERT_TRUE(nothing.ok()) << nothing.status().ToString();
  EXPECT_TRUE(nothing->empty());
  first_read.set_value();
  Status end;
  std::vector<SseEvent> events = Collect(stream, 3, &end);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, R"({"seq":1})");
  EXPECT_EQ(events[1].type, "deployment");
  EXPECT_EQ(stream.last_event_id(), "2");
  // The body ends when the daemon closes the connection.
  EXPECT_EQ(end.code(), StatusCode::kUnavailable) << end.ToString();
  EXPECT_NE(request.find("GET /v1/events?deployment=d-1 HTTP/1.1"), std::string::npos) << request;
  EXPECT_NE(request.find("Accept: text/event-stream"), std::string::npos);
  EXPECT_NE(request.find("Authorization: Bearer secret"), std::string::npos);
  EXPECT_EQ(request.find("Last-Event-ID"), std::string::npos);
}

TEST(EventStreamTest, AChunkedStreamIsReadToo) {
  RawServer server([](const std::string&, const RawServer::Write& write) {
    write(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string event = "id: 9\ndata: hello\n\n";
    write(fmt::format("{:x}\r\n{}\r\n", event.size(), event));
    write("0\r\n\r\n");
  });
  EventStream stream(server.endpoint(), std::nullopt, "/v1/events");
  ASSERT_TRUE(stream.Open("").ok());
  Status end;
  std::vector<SseEvent> events = Collect(stream, 2, &end);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "hello");
  EXPECT_EQ(end.code(), StatusCode::kUnavailable);
}

TEST(EventStreamTest, LastEventIdIsSentWhenResuming) {
  std::string request;
  RawServer server([&](const std::string& r, const RawServer::Write& write) {
    request = r;
    write(kStreamHead);
  });
  EventStream stream(server.endpoint(), std::nullopt, "/v1/events");
  ASSERT_TRUE(stream.Open("42").ok());
  Collect(stream, 1);
  EXPECT_NE(request.find("Last-Event-ID: 42"), std::string::npos) << request;
}

TEST(EventStreamTest, ASilentStreamCountsAsBroken) {
  std::promise<void> done;
  RawServer server([&](const std::string&, const RawServer::Write& write) {
    write(kStreamHead);
    done.get_future().wait_for(std::chrono::seconds(5));
  });
  EventStreamOptions options;
  options.idle_timeout = milliseconds(300);
  EventStream stream(server.endpoint(), std::nullopt, "/v1/events", options);
  ASSERT_TRUE(stream.Open("").ok());
  Status end;
  Collect(stream, 1, &end);
  done.set_value();
  EXPECT_EQ(end.code(), StatusCode::kUnavailable);
  EXPECT_NE(end.message().find("silent"), std::string::npos) << end.ToString();
}

TEST(EventStreamTest, ADaemonWithoutTheStreamAnswersWithItsError) {
  testing::FakeAdminServer server([](const testing::FakeRequest&) {
    return testing::Json(404, R"({"code": "NotFound", "message": "no endpoint"})");
  });
  Result<Endpoint> endpoint = ParseEndpoint(server.Url());
  ASSERT_TRUE(endpoint.ok());
  EventStream stream(*endpoint, std::nullopt, "/v1/events");
  Status opened = stream.Open("");
  EXPECT_EQ(opened.code(), StatusCode::kNotFound) << opened.ToString();
  EXPECT_NE(opened.message().find("no endpoint"), std::string::npos);
}

TEST(EventStreamTest, AJsonAnswerIsNotAStream) {
  testing::FakeAdminServer server(
      [](const testing::FakeRequest&) { return testing::Json(200, "{}"); });
  EventStream stream(*ParseEndpoint(server.Url()), std::nullopt, "/v1/events");
  Status opened = stream.Open("");
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(opened.code(), StatusCode::kUnavailable);
}

TEST(EventStreamTest, NoDaemonIsUnavailable) {
  EventStream stream(Endpoint{"127.0.0.1", testing::FreePort(), ""}, std::nullopt, "/v1/events");
  EXPECT_EQ(stream.Open("").code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cutover::cli
