// A real Prometheus server (Debian's `prometheus`, started here on a free loopback port) scrapes the
// daemon's /metrics, and the per-version request counter is read back through Prometheus' query API:
// proof that the exposition is valid OpenMetrics to the consumer that matters.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "harness.h"
#include "prometheus_server.h"

namespace cutover::testing {
namespace {

namespace json = boost::json;

std::string ReadFileForTest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(PrometheusTest, RealPrometheusScrapesThePerVersionCounter) {
  if (!PrometheusServer::Installed()) GTEST_SKIP() << "prometheus is not installed";
  if (!fs::exists("/usr/sbin/php-fpm8.2")) GTEST_SKIP() << "php-fpm8.2 is not installed";
  fs::path root = MakeTempDir("cutover-prometheus");
  {
    auto daemon = Daemon::Start(root / "data");
    CommandResult r = daemon->Deploy(SourceDir() / "examples/seed");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    for (int i = 0; i < 7; ++i) ASSERT_EQ(daemon->Gateway("GET", "/health").status, 200);

    PrometheusServer prometheus(root / "prometheus", {daemon->admin_port()});
    ASSERT_TRUE(prometheus.started()) << prometheus.log();
    HttpClient client("127.0.0.1", prometheus.port());
    const std::string query =
        "/api/v1/query?query=cutover_requests_total%7Bfunction%3D%22bref-canary-deployments-demo-"
        "dev-website%22%2Cversion%3D%221%22%2Cstatus_class%3D%222xx%22%7D";
    // Poll the condition (Prometheus up, one scrape done, the sample queryable), with a deadline.
    std::string value, last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (value.empty() && std::chrono::steady_clock::now() < deadline) {
      HttpResult res = client.Request("GET", query);
      last = res.body + res.error;
      boost::system::error_code ec;
      json::value v = json::parse(res.body, ec);
      if (!ec && v.is_object()) {
        const auto& result = v.as_object().at("data").as_object().at("result").as_array();
        if (!result.empty()) {
          value = std::string(result[0].as_object().at("value").as_array()[1].as_string());
        }
      }
      if (value.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(value, "7") << last << "\n" << ReadFileForTest(root / "prometheus/prometheus.log");
    // And the scrape itself was healthy: `up` is 1.
    HttpResult up = client.Request("GET", "/api/v1/query?query=up");
    EXPECT_NE(up.body.find(R"("value":[)"), std::string::npos) << up.body;
    EXPECT_NE(up.body.find(R"(,"1"])"), std::string::npos) << up.body;
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace cutover::testing
