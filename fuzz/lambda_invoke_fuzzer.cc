// The Lambda Invoke API request decoder: LambdaInvokeHandler::Handle (function name or ARN with
// its qualifier, the Qualifier parameter, X-Amz-Invocation-Type, the payload's size and JSON),
// over a real Publisher whose catalogue has an aliased and a plain function.
//
// Input (a readable request):
//   line 1            the request target, as the admin API receives it:
//                     /2015-03-31/functions/{name}/invocations[?Qualifier=Q]
//   "Name: value"     header lines, up to an empty line
//   the rest          the body (the invocation payload)
// The target is routed as the admin server routes it (api::MatchPathPattern: {name} is one path
// segment, percent-decoded; query parameters decoded with ParseQuery, the first Qualifier wins).
//
// Invariants: only the Invoke API's status codes; every error is AWS's error shape (the
// x-amzn-ErrorType header and a JSON body with "message"); a 200 names the executed version.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/lambda_invoke.h"
#include "fuzz_util.h"
#include "platform_fixture.h"

namespace cutover::fuzz {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct Harness {
  std::unique_ptr<Platform> platform = Platform::Create();
  asio::io_context io;
  api::LambdaInvokeHandler handler{platform->publisher(), platform->runtime(), "us-east-1"};
};

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 32 || c >= 127 || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

std::string_view NextLine(std::string_view& text) {
  size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace
}  // namespace cutover::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cutover;
  using namespace cutover::fuzz;
  static Harness* h = new Harness;
  std::string_view text = AsView(data, size);

  std::string_view target = NextLine(text);
  std::string_view path = target.substr(0, target.find('?'));
  static const std::vector<std::string> kPattern = {"2015-03-31", "functions", "{name}",
                                                    "invocations"};
  api::Params params;
  if (!api::MatchPathPattern(kPattern, api::PathSegments(path), &params)) {
    return 0;  // the admin server routes it elsewhere
  }
  const std::string& name = params["name"];
  std::string qualifier;
  bool have_qualifier = false;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    for (auto& [k, v] : api::ParseQuery(target.substr(q + 1))) {
      if (k == "Qualifier" && !have_qualifier) {
        qualifier = v;
        have_qualifier = true;
      }
    }
  }

  api::Request req{http::verb::post, std::string(target), 11};
  while (!text.empty()) {
    std::string_view line = NextLine(text);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    req.insert(line.substr(0, colon), value);
  }
  req.body() = std::string(text);
  req.prepare_payload();

  std::optional<api::Response> response;
  asio::co_spawn(h->io, h->handler.Handle(req, name, qualifier),
                 [&](std::exception_ptr e, api::Response r) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       Fail("Handle threw", ex.what());
                     }
                   }
                   response = std::move(r);
                 });
  h->io.restart();
  h->io.run();
  CUTOVER_FUZZ_CHECK(response.has_value(), target);

  const unsigned status = response->result_int();
  CUTOVER_FUZZ_CHECK(status == 200 || status == 202 || status == 204 || status == 400 ||
                         status == 404 || status == 413 || status == 429,
                     std::to_string(status));
  if (status >= 400) {
    CUTOVER_FUZZ_CHECK(!(*response)["x-amzn-ErrorType"].empty(), response->body());
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(response->body(), ec);
    CUTOVER_FUZZ_CHECK(!ec && body.is_object() && body.as_object().contains("message"),
                       response->body());
  }
  if (status == 200) {
    CUTOVER_FUZZ_CHECK(!(*response)["X-Amz-Executed-Version"].empty(), target);
  }
  return 0;
}
