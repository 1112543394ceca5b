// EmfInbox (src/metrics/emf_inbox.h): lines offered from many threads reach the MetricsStore on
// Drain; malformed, full-queue and out-of-range lines are counted, never stored.
#include "metrics/emf_inbox.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics/series_store.h"
#include "metrics/statistic.h"

namespace cutover::metrics {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // a whole minute, in ms

Statistic Stat(std::string_view text) {
  auto s = ParseStatistic(text);
  EXPECT_TRUE(s.ok()) << text;
  return *s;
}

// One "Orders" value under {service=<service>} and, as a second dimension set, no dimensions.
std::string OrdersLine(const std::string& service, double orders, int64_t timestamp_ms = kNow) {
  return fmt::format(
      R"({{"_aws":{{"Timestamp":{},"CloudWatchMetrics":[{{"Namespace":"shop",)"
      R"("Dimensions":[["service"],[]],"Metrics":[{{"Name":"Orders","Unit":"Count"}}]}}]}},)"
      R"("service":"{}","Orders":{}}})",
      timestamp_ms, service, orders);
}

std::optional<double> Sum(const MetricsStore& store, const MetricKey& key, int64_t start_ms,
                          int64_t end_ms) {
  auto points = store.Query(key, Stat("Sum"), start_ms, end_ms, 60);
  EXPECT_EQ(points.size(), 1u);
  return points.empty() ? std::nullopt : points[0].value;
}

TEST(EmfInboxTest, LinesFromSeveralThreadsAreAllAddedOnDrain) {
  EmfInbox inbox;
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&inbox, t] {
      const std::string service = fmt::format("svc{}", t);
      for (int i = 0; i < kLines; ++i) {
        inbox.Offer("fn", 1, OrdersLine(service, 2));
        inbox.Offer("fn", 1, "an ordinary log line");  // ignored: not EMF
      }
    });
  }
  for (auto& th : threads) th.join();

  MetricsStore store;
  EXPECT_EQ(inbox.Drain(store, kNow + 500), size_t{2 * kThreads * kLines});
  EXPECT_EQ(inbox.accepted(), uint64_t{kThreads * kLines});
  EXPECT_EQ(inbox.malformed(), 0u);
  EXPECT_EQ(inbox.dropped(), 0u);
  for (int t = 0; t < kThreads; ++t) {
    auto key = MakeKey("shop", "Orders", {{"service", fmt::format("svc{}", t)}});
    EXPECT_EQ(Sum(store, key, kNow, kNow + 60'000), 2.0 * kLines) << key.ToString();
  }
  EXPECT_EQ(Sum(store, MakeKey("shop", "Orders", {}), kNow, kNow + 60'000),
            2.0 * kLines * kThreads);
  EXPECT_EQ(store.series_count(), size_t{kThreads + 1});
  // Drained: a second drain adds nothing.
  EXPECT_EQ(inbox.Drain(store, kNow + 600), 0u);
}

TEST(EmfInboxTest, OfferWhileDrainingLosesNothing) {
  EmfInbox inbox;
  MetricsStore store;
  constexpr int kLines = 2000;
  std::thread producer([&] {
    for (int i = 0; i < kLines; ++i) inbox.Offer("fn", 1, OrdersLine("a", 1));
  });
  size_t added = 0;
  while (inbox.accepted() < kLines) {
    added += inbox.Drain(store, kNow);
    if (added == 2 * kLines) break;
    std::this_thread::yield();
  }
  producer.join();
  added += inbox.Drain(store, kNow);
  EXPECT_EQ(added, size_t{2 * kLines});
  EXPECT_EQ(Sum(store, MakeKey("shop", "Orders", {{"service", "a"}}), kNow, kNow + 60'000),
            double{kLines});
}

TEST(EmfInboxTest, MalformedLinesAreCountedAndNotStored) {
  EmfInbox inbox;
  inbox.Offer("fn", 3, R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"shop"}]}})");
  inbox.Offer("fn", 3, R"({"_aws": truncated)");
  inbox.Offer("fn", 3, OrdersLine("a", 1).replace(0, 1, "["));  // not an object: never queued
  inbox.Offer("fn", 3, OrdersLine("a", 5));
  MetricsStore store;
  EXPECT_EQ(inbox.Drain(store, kNow), 2u);
  EXPECT_EQ(inbox.malformed(), 2u);
  EXPECT_EQ(inbox.accepted(), 1u);
  EXPECT_EQ(store.series_count(), 2u);
  EXPECT_EQ(Sum(store, MakeKey("shop", "Orders", {{"service", "a"}}), kNow, kNow + 60'000), 5.0);
}

TEST(EmfInboxTest, ArrayValuesAreEachAValue) {
  EmfInbox inbox;
  inbox.Offer("fn", 1,
              R"({"_aws":{"CloudWatchMetrics":[{"Namespace":"app","Dimensions":[[]],)"
              R"("Metrics":[{"Name":"Latency","Unit":"Milliseconds"}]}]},"Latency":[10,20,30]})");
  MetricsStore store;
  EXPECT_EQ(inbox.Drain(store, kNow + 1000), 3u);
  auto key = MakeKey("app", "Latency", {});
  auto count = store.Query(key, Stat("SampleCount"), kNow, kNow + 60'000, 60);
  ASSERT_EQ(count.size(), 1u);
  EXPECT_EQ(count[0].value, 3.0);
  EXPECT_EQ(Sum(store, key, kNow, kNow + 60'000), 60.0);
  // No Timestamp: recorded at the drain's now.
  auto by_second = store.Query(key, Stat("Sum"), kNow + 1000, kNow + 2000, 1);
  ASSERT_EQ(by_second.size(), 1u);
  EXPECT_EQ(by_second[0].value, 60.0);
}

TEST(EmfInboxTest, FullQueueDropsAndCounts) {
  EmfInbox inbox({.max_lines = 3});
  for (int i = 0; i < 5; ++i) inbox.Offer("fn", 1, OrdersLine("a", 1));
  EXPECT_EQ(inbox.dropped(), 2u);
  MetricsStore store;
  EXPECT_EQ(inbox.Drain(store, kNow), 6u);  // 3 lines × 2 dimension sets
  // Drained: room again.
  inbox.Offer("fn", 1, OrdersLine("a", 1));
  EXPECT_EQ(inbox.dropped(), 2u);
  EXPECT_EQ(inbox.Drain(store, kNow), 2u);

  const std::string line = OrdersLine("a", 1);
  EmfInbox small({.max_bytes = 2 * line.size()});
  for (int i = 0; i < 3; ++i) small.Offer("fn", 1, line);
  EXPECT_EQ(small.dropped(), 1u);
}

TEST(EmfInboxTest, LineTimestampsAreUsedWithinTheWindowAndRejectedOutside) {
  EmfInbox inbox;
  const int64_t earlier = kNow - 5 * 60'000;  // 5 minutes ago: inside the window
  inbox.Offer("fn", 1, OrdersLine("a", 1, earlier));
  inbox.Offer("fn", 1, OrdersLine("a", 100, kNow - EmfInbox::kMaxAge.count() - 1000));
  inbox.Offer("fn", 1, OrdersLine("a", 100, kNow + EmfInbox::kMaxAhead.count() + 1000));
  MetricsStore store;
  EXPECT_EQ(inbox.Drain(store, kNow), 2u);
  EXPECT_EQ(inbox.malformed(), 2u);
  auto key = MakeKey("shop", "Orders", {{"service", "a"}});
  EXPECT_EQ(Sum(store, key, earlier, earlier + 60'000), 1.0);
  EXPECT_EQ(Sum(store, key, kNow, kNow + 60'000), std::nullopt);
}

TEST(EmfInboxTest, WithoutLineTimestampsValuesAreRecordedAtDrainTime) {
  // A scaled daemon clock: the line's wall-clock timestamp means nothing to the store.
  EmfInbox inbox({.use_line_timestamps = false});
  inbox.Offer("fn", 1, OrdersLine("a", 7, kNow - 3600'000));
  MetricsStore store;
  EXPECT_EQ(inbox.Drain(store, kNow), 2u);
  EXPECT_EQ(inbox.malformed(), 0u);
  EXPECT_EQ(Sum(store, MakeKey("shop", "Orders", {{"service", "a"}}), kNow, kNow + 60'000), 7.0);
}

}  // namespace
}  // namespace cutover::metrics
