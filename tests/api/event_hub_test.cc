// The event stream's hub (api/event_hub.h): numbered events kept for a resume, and live posts that
// only the newest of is kept, only for watched topics, waking only their watchers.
#include "api/event_hub.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

namespace cutover::api {
namespace {

namespace asio = boost::asio;

// A stream's wait: a timer far in the future that the hub cancels to wake it.
struct Waiter {
  explicit Waiter(asio::io_context& ioc) : timer(ioc) {
    timer.expires_after(std::chrono::hours(1));
    timer.async_wait([this](boost::system::error_code ec) {
      woken = ec == asio::error::operation_aborted;
    });
  }
  asio::steady_timer timer;
  bool woken = false;
};

TEST(EventHubTest, EventsAreNumberedAndKeptUpToTheRing) {
  EventHub hub(3);
  for (int i = 0; i < 5; ++i) hub.Publish("deployment", "d-1", std::to_string(i));
  EXPECT_EQ(hub.last_id(), 5u);
  auto kept = hub.Since(0);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept.front().id, 3u);
  EXPECT_EQ(kept.front().data, "2");
  EXPECT_EQ(hub.Since(4).size(), 1u);
  EXPECT_TRUE(hub.Since(5).empty());
}

TEST(EventHubTest, WatchedTopicsAreCountedPerStream) {
  EventHub hub;
  hub.Watch("d-1");
  hub.Watch("d-1");
  hub.Watch("d-2");
  hub.Watch("");  // a stream without charts watches nothing
  EXPECT_EQ(hub.Watched(), (std::vector<std::string>{"d-1", "d-2"}));
  hub.Unwatch("d-1");
  EXPECT_EQ(hub.Watched(), (std::vector<std::string>{"d-1", "d-2"}));
  hub.Unwatch("d-1");
  hub.Unwatch("");
  EXPECT_EQ(hub.Watched(), (std::vector<std::string>{"d-2"}));
}

TEST(EventHubTest, APostReplacesTheTopicsPreviousOneAndIsNotAnEvent) {
  EventHub hub;
  hub.Post("d-1", "charts", "nobody watches");
  EXPECT_EQ(hub.Latest("d-1"), nullptr);  // not kept for a topic nobody watches
  hub.Watch("d-1");
  EXPECT_EQ(hub.Latest("d-1"), nullptr);
  hub.Post("d-1", "charts", "first");
  const LivePost* first = hub.Latest("d-1");
  ASSERT_NE(first, nullptr);
  const uint64_t generation = first->generation;
  EXPECT_GT(generation, 0u);
  hub.Post("d-1", "charts", "second");
  const LivePost* second = hub.Latest("d-1");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->data, "second");
  EXPECT_EQ(second->type, "charts");
  EXPECT_GT(second->generation, generation);
  EXPECT_EQ(hub.last_id(), 0u);  // posts are not numbered events
  EXPECT_TRUE(hub.Since(0).empty());
  // When the last watcher leaves, the post goes with it.
  hub.Unwatch("d-1");
  hub.Watch("d-1");
  EXPECT_EQ(hub.Latest("d-1"), nullptr);
}

TEST(EventHubTest, AnEventWakesEveryStreamAPostOnlyItsTopicsWatchers) {
  asio::io_context ioc;
  EventHub hub;
  hub.Watch("d-1");
  hub.Watch("d-2");
  Waiter plain(ioc), one(ioc), two(ioc);
  hub.AddWaiter(&plain.timer);
  hub.AddWaiter(&one.timer, "d-1");
  hub.AddWaiter(&two.timer, "d-2");

  hub.Post("d-1", "charts", "{}");
  ioc.poll();
  EXPECT_FALSE(plain.woken);
  EXPECT_TRUE(one.woken);
  EXPECT_FALSE(two.woken);

  hub.RemoveWaiter(&one.timer);
  hub.Publish("deployment", "d-3", "{}");
  ioc.poll();
  EXPECT_TRUE(plain.woken);
  EXPECT_TRUE(two.woken);
}

}  // namespace
}  // namespace cutover::api
