// HttpClient and AdminClient: URL parsing, error mapping, timeouts.

#include "common/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "cli/admin_client.h"
#include "fake_admin_server.h"

namespace cutover::cli {
namespace {

using testing::FakeAdminServer;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::Json;

TEST(ParseEndpointTest, AcceptsHttpUrls) {
  Result<Endpoint> e = ParseEndpoint("http://127.0.0.1:3001");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 3001);
  EXPECT_EQ(e->base_path, "");
  EXPECT_EQ(e->Url(), "http://127.0.0.1:3001");
  EXPECT_TRUE(e->IsLoopback());
}

TEST(ParseEndpointTest, DefaultsPortAndKeepsABasePath) {
  Result<Endpoint> e = ParseEndpoint("http://cutover.internal/admin/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 80);
  EXPECT_EQ(e->base_path, "/admin");
  EXPECT_FALSE(e->IsLoopback());
  EXPECT_EQ(e->Url(), "http://cutover.internal:80/admin");
}

TEST(ParseEndpointTest, AcceptsHostPortAndIpv6) {
  Result<Endpoint> plain = ParseEndpoint("localhost:4001");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "localhost");
  EXPECT_EQ(plain->port, 4001);
  EXPECT_TRUE(plain->IsLoopback());
  Result<Endpoint> v6 = ParseEndpoint("http://[::1]:3001");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->IsLoopback());
  EXPECT_EQ(v6->Url(), "http://[::1]:3001");
}

TEST(ParseEndpointTest, RejectsWhatItCannotSpeak) {
  EXPECT_FALSE(ParseEndpoint("https://127.0.0.1:3001").ok());
  EXPECT_FALSE(ParseEndpoint("http://127.0.0.1:0").ok());
  EXPECT_FALSE(ParseEndpoint("http://127.0.0.1:70000").ok());
  EXPECT_FALSE(ParseEndpoint("http://user@127.0.0.1:3001").ok());
  EXPECT_FALSE(ParseEndpoint("http://127.0.0.1:3001/?x=1").ok());
  EXPECT_FALSE(ParseEndpoint("http://").ok());
}

TEST(PercentEncodeTest, KeepsUnreservedAndRequestedCharacters) {
  EXPECT_EQ(PercentEncode("demo-dev_web.site~1"), "demo-dev_web.site~1");
  EXPECT_EQ(PercentEncode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(PercentEncode("arn:aws:lambda:f:Live", ":"), "arn:aws:lambda:f:Live");
  EXPECT_EQ(PercentEncode("é"), "%C3%A9");
}

TEST(HttpClientTest, RefusedConnectionIsUnavailable) {
  HttpClient client(Endpoint{"127.0.0.1", testing::FreePort(), ""});
  Result<HttpResponse> r = client.Send(HttpRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "connection refused");
}

TEST(HttpClientTest, SendsAndReceives) {
  FakeAdminServer server([](const FakeRequest& r) {
    FakeResponse response = Json(201, "{\"echo\":\"" + r.body + "\"}");
    response.headers.emplace_back("X-Thing", "yes");
    return response;
  });
  HttpClient client(Endpoint{"127.0.0.1", server.port(), ""});
  HttpRequest request;
  request.method = "PUT";
  request.target = "/v1/x?y=1";
  request.headers.emplace_back("X-Custom", "1");
  request.body = "abc";
  Result<HttpResponse> r = client.Send(request);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"({"echo":"abc"})");
  ASSERT_NE(r->Header("x-thing"), nullptr);
  EXPECT_EQ(*r->Header("X-THING"), "yes");
  EXPECT_EQ(r->Header("missing"), nullptr);
  const FakeRequest seen = server.requests().at(0);
  EXPECT_EQ(seen.method, "PUT");
  EXPECT_EQ(seen.target, "/v1/x?y=1");
  EXPECT_EQ(seen.headers.at("x-custom"), "1");
  EXPECT_EQ(seen.headers.at("content-length"), "3");
}

TEST(HttpClientTest, PrependsTheBasePath) {
  FakeAdminServer server([](const FakeRequest&) { return Json(200, "{}"); });
  HttpClient client(Endpoint{"127.0.0.1", server.port(), "/admin"});
  HttpRequest request;
  request.target = "/v1/health";
  ASSERT_TRUE(client.Send(request).ok());
  EXPECT_EQ(server.requests().at(0).target, "/admin/v1/health");
}

TEST(HttpClientTest, HeadDoesNotWaitForTheAnnouncedBody) {
  FakeAdminServer server([](const FakeRequest&) {
    FakeResponse r;
    r.headers.emplace_back("Content-Length", "1000");
    return r;
  });
  HttpClient client(
      Endpoint{"127.0.0.1", server.port(), ""},
      HttpClientOptions{std::chrono::milliseconds(1000), std::chrono::milliseconds(2000)});
  HttpRequest request;
  request.method = "HEAD";
  Result<HttpResponse> r = client.Send(request);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
}

TEST(HttpClientTest, SilentPeerIsDeadlineExceeded) {
  // A listener that accepts (through the kernel backlog) and never answers.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  HttpClient client(
      Endpoint{"127.0.0.1", acceptor.local_endpoint().port(), ""},
      HttpClientOptions{std::chrono::milliseconds(1000), std::chrono::milliseconds(200)});
  Result<HttpResponse> r = client.Send(HttpRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

// --- AdminClient's error mapping ---------------------------------------------------------------

HttpResponse Response(int status, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

TEST(ErrorFromResponseTest, KeepsTheDaemonsCode) {
  Status s =
      ErrorFromResponse(Response(409, R"({"code": "AlreadyExists", "message": "route taken"})"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "route taken (AlreadyExists)");
  EXPECT_EQ(
      ErrorFromResponse(Response(400, R"({"code": "InvalidArgument", "message": "m"})")).code(),
      StatusCode::kInvalidArgument);
}

TEST(ErrorFromResponseTest, NeverReportsTheDaemonsUnavailableAsUnreachable) {
  Status s = ErrorFromResponse(Response(503, R"({"code": "Unavailable", "message": "busy"})"));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "busy (Unavailable)");
  EXPECT_EQ(ErrorFromResponse(Response(503, "")).code(), StatusCode::kInternal);
}

TEST(ErrorFromResponseTest, ReadsTheLambdaErrorShape) {
  Status s = ErrorFromResponse(
      Response(400, R"({"Type": "User", "message": "bad JSON"})",
               {{"x-amzn-ErrorType", "InvalidRequestContentException:http://internal"}}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "InvalidRequestContentException: bad JSON");
}

TEST(ErrorFromResponseTest, FallsBackToTheHttpStatus) {
  Status s = ErrorFromResponse(Response(500, "oops\n"));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "the daemon answered HTTP 500: oops");
  EXPECT_EQ(ErrorFromResponse(Response(404, "")).code(), StatusCode::kNotFound);
  Status unauthorized = ErrorFromResponse(Response(401, ""));
  EXPECT_NE(unauthorized.message().find("CUTOVER_TOKEN"), std::string::npos);
}

TEST(UnreachableMessageTest, NamesTheFlagsThatReproduceTheAddress) {
  EXPECT_EQ(UnreachableMessage(Endpoint{"127.0.0.1", 3001, ""}, "connection refused", "."),
            "cannot reach the daemon at http://127.0.0.1:3001 (connection refused).\n"
            "Start it with: cutover serve --dir .");
  EXPECT_EQ(UnreachableMessage(Endpoint{"10.0.0.5", 4001, ""}, "timed out", "<service dir>"),
            "cannot reach the daemon at http://10.0.0.5:4001 (timed out).\n"
            "Start it with: cutover serve --dir <service dir> --admin-port 4001 --admin-host "
            "10.0.0.5");
}

}  // namespace
}  // namespace cutover::cli
