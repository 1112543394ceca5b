#include "router/snapshot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace cutover::router {
namespace {

// A table whose every route carries `tag` as its service name; table n has (n % 5) + 1 routes.
std::shared_ptr<const RouteTable> TaggedTable(int tag) {
  std::vector<RouteSpec> routes;
  const int count = tag % 5 + 1;
  for (int i = 0; i < count; ++i) {
    auto target = std::make_shared<FunctionTarget>();
    target->service = std::to_string(tag);
    target->function_key = "f" + std::to_string(i);
    target->primary_version = static_cast<uint32_t>(tag);
    routes.push_back(RouteSpec{ApiKind::kRest, "GET", "/r" + std::to_string(i), target});
  }
  auto table = RouteTable::Build(std::move(routes));
  EXPECT_TRUE(table.ok());
  return *table;
}

// The tag of a table checked to be complete: every route present and carrying the same tag.
int CheckedTag(const RouteTable& table) {
  if (table.routes().empty()) return 0;  // the initial empty table
  const int tag = std::stoi(table.routes()[0].target->service);
  EXPECT_EQ(static_cast<int>(table.routes().size()), tag % 5 + 1);
  for (const RouteSpec& route : table.routes()) {
    EXPECT_EQ(route.target->service, std::to_string(tag));
    EXPECT_EQ(route.target->primary_version, static_cast<uint32_t>(tag));
  }
  EXPECT_TRUE(table.Match("GET", "/r0").has_value());
  return tag;
}

TEST(RouteTableSnapshotTest, StartsWithAnEmptyTable) {
  RouteTableSnapshot snapshot;
  RouteTableSnapshot::Reader reader(snapshot);
  EXPECT_TRUE(reader.Get().routes().empty());
  EXPECT_FALSE(reader.Get().Match("GET", "/").has_value());
  ASSERT_NE(snapshot.Current(), nullptr);
  EXPECT_TRUE(snapshot.Current()->routes().empty());
}

TEST(RouteTableSnapshotTest, ReaderSeesNewlyPublishedTable) {
  RouteTableSnapshot snapshot;
  RouteTableSnapshot::Reader reader(snapshot);
  EXPECT_EQ(CheckedTag(reader.Get()), 0);

  const uint64_t before = snapshot.generation();
  auto first = TaggedTable(1);
  snapshot.Publish(first);
  EXPECT_GT(snapshot.generation(), before);
  EXPECT_EQ(&reader.Get(), first.get());
  EXPECT_EQ(snapshot.Current(), first);

  auto second = TaggedTable(2);
  snapshot.Publish(second);
  EXPECT_EQ(&reader.Get(), second.get());
  // Steady state: the same table again without a new publish.
  EXPECT_EQ(&reader.Get(), second.get());
}

TEST(RouteTableSnapshotTest, ReaderKeepsItsTableAliveAfterRepublish) {
  RouteTableSnapshot snapshot;
  snapshot.Publish(TaggedTable(3));
  RouteTableSnapshot::Reader reader(snapshot);
  const RouteTable& held = reader.Get();
  snapshot.Publish(TaggedTable(4));  // the snapshot drops its reference to table 3
  EXPECT_EQ(CheckedTag(held), 3);    // still valid until the reader's next Get()
  EXPECT_EQ(CheckedTag(reader.Get()), 4);
}

TEST(RouteTableSnapshotTest, PublishingNullMeansEmpty) {
  RouteTableSnapshot snapshot;
  snapshot.Publish(TaggedTable(1));
  snapshot.Publish(nullptr);
  RouteTableSnapshot::Reader reader(snapshot);
  EXPECT_TRUE(reader.Get().routes().empty());
}

TEST(RouteTableSnapshotTest, ReadersOnlySeeCompleteTablesWhilePublishing) {
  RouteTableSnapshot snapshot;
  constexpr int kTables = 2000;
  constexpr int kReaders = 3;
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::vector<int> last_seen(kReaders, 0);
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      RouteTableSnapshot::Reader reader(snapshot);
      int previous = 0;
      while (true) {
        const bool finished = done.load(std::memory_order_acquire);
        const int tag = CheckedTag(reader.Get());
        EXPECT_GE(tag, previous) << "a reader went back in time";
        previous = tag;
        if (finished) break;
      }
      last_seen[r] = previous;
    });
  }
  std::thread publisher([&] {
    // Built on the fly and not kept: a table is freed as soon as no reader caches it.
    for (int i = 1; i <= kTables; ++i) snapshot.Publish(TaggedTable(i));
    done.store(true, std::memory_order_release);
  });
  publisher.join();
  for (auto& reader : readers) reader.join();
  // A Get() after the last publish sees the last table.
  for (int r = 0; r < kReaders; ++r) EXPECT_EQ(last_seen[r], kTables) << "reader " << r;
}

}  // namespace
}  // namespace cutover::router
