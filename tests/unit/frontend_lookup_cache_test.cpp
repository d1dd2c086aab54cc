// LookupCache: LRU order and bound, version fences against late replies, local invalidation
// (read-your-writes), flushes, pausing, catalog incarnations, bounded fences, and a concurrent
// stress run that checks no refused value ever gets in.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "frontend/lookup_cache.h"

namespace bazaar::frontend {
namespace {

constexpr std::uint64_t kCatalog = 42;  // the catalog incarnation of every reply below

proto::Item item(const std::string& name, std::uint64_t version, std::int64_t quantity = 100) {
  proto::Item it;
  it.name = name;
  it.price_cents = 2599;
  it.quantity = quantity;
  it.version = version;
  return it;
}

// An active cache, as after the first broker heartbeat.
std::unique_ptr<LookupCache> active_cache(std::size_t capacity, std::size_t shards = 1) {
  auto c = std::make_unique<LookupCache>(capacity, shards);
  c->set_active(true, FlushReason::kBusRestart);
  return c;
}

FillOutcome fill_now(LookupCache& c, const proto::Item& it) {
  return c.fill(it, c.ticket(), kCatalog);
}

TEST(LookupCache, StoresAndServes) {
  auto c = active_cache(10);
  EXPECT_FALSE(c->get("Tux"));
  EXPECT_EQ(fill_now(*c, item("Tux", 3)), FillOutcome::kStored);
  const auto hit = c->get("Tux");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->version, 3u);
  EXPECT_EQ(hit->quantity, 100);
  EXPECT_EQ(c->size(), 1u);
  const CacheStats st = c->stats();
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.fills, 1u);
}

TEST(LookupCache, EvictsTheLeastRecentlyUsed) {
  auto c = active_cache(3);
  for (const char* n : {"a", "b", "c"}) fill_now(*c, item(n, 1));
  ASSERT_TRUE(c->get("a"));  // a is now the most recent; b the least
  fill_now(*c, item("d", 1));
  EXPECT_EQ(c->size(), 3u);
  EXPECT_FALSE(c->get_if_cached("b"));
  EXPECT_TRUE(c->get_if_cached("a"));
  EXPECT_TRUE(c->get_if_cached("c"));
  EXPECT_TRUE(c->get_if_cached("d"));
  // A refill counts as a use too.
  fill_now(*c, item("c", 2));
  fill_now(*c, item("e", 1));  // evicts a (a < d < c in recency after the lookups above)
  EXPECT_FALSE(c->get_if_cached("a"));
  EXPECT_TRUE(c->get_if_cached("c"));
  EXPECT_EQ(c->stats().evictions, 2u);
}

TEST(LookupCache, ShardsAddUpToTheCapacity) {
  LookupCache c(1000, 7);
  c.set_active(true, FlushReason::kBusRestart);
  for (int i = 0; i < 5000; ++i) fill_now(c, item("item" + std::to_string(i), 1));
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_EQ(c.stats().evictions, 4000u);
}

TEST(LookupCache, GetIfCachedCountsNoMiss) {
  auto c = active_cache(10);
  EXPECT_FALSE(c->get_if_cached("Tux"));
  EXPECT_EQ(c->stats().misses, 0u);
  fill_now(*c, item("Tux", 1));
  EXPECT_TRUE(c->get_if_cached("Tux"));
  EXPECT_EQ(c->stats().hits, 1u);
}

// The race G4 is about: a lookup leaves, the item changes, the invalidation arrives, then the
// reply (with the old version) arrives. It must not fill the cache.
TEST(LookupCache, LateReplyOlderThanAnInvalidationIsFenced) {
  auto c = active_cache(10);
  fill_now(*c, item("Tux", 5));
  const FillTicket before = c->ticket();  // the lookup leaves
  c->invalidate("Tux", 6);                // the trade's invalidation arrives first
  EXPECT_FALSE(c->get("Tux"));            // the old entry is gone
  EXPECT_EQ(c->fill(item("Tux", 5), before, kCatalog), FillOutcome::kFenced);
  EXPECT_FALSE(c->get("Tux"));
  // The same reply, had it carried the new version, is the changed value itself.
  EXPECT_EQ(c->fill(item("Tux", 6), before, kCatalog), FillOutcome::kStored);
  EXPECT_EQ(c->get("Tux")->version, 6u);
}

TEST(LookupCache, FenceOutlivesAnEmptyCacheAndLaterInvalidationsRaiseIt) {
  auto c = active_cache(10);
  const FillTicket early = c->ticket();
  c->invalidate("Tux", 6);
  const FillTicket middle = c->ticket();
  c->invalidate("Tux", 8);
  EXPECT_EQ(c->fill(item("Tux", 5), early, kCatalog), FillOutcome::kFenced);
  // Left after the first invalidation, before the second: version 7 is older than 8.
  EXPECT_EQ(c->fill(item("Tux", 7), middle, kCatalog), FillOutcome::kFenced);
  EXPECT_EQ(c->fill(item("Tux", 8), middle, kCatalog), FillOutcome::kStored);
  EXPECT_EQ(c->stats().fills_refused, 2u);
}

TEST(LookupCache, RequestSentAfterTheInvalidationIsNotFenced) {
  auto c = active_cache(10);
  c->invalidate("Tux", 6);
  // Any reply to a request sent now reflects the change already (the catalog publishes after
  // committing), whatever version the test pretends it has.
  EXPECT_EQ(fill_now(*c, item("Tux", 6)), FillOutcome::kStored);
}

TEST(LookupCache, InvalidationOlderThanTheEntryKeepsIt) {
  auto c = active_cache(10);
  fill_now(*c, item("Tux", 7));  // a reply overtook the event for version 6
  c->invalidate("Tux", 6);
  ASSERT_TRUE(c->get("Tux"));
  EXPECT_EQ(c->get("Tux")->version, 7u);
  c->invalidate("Tux", 8);
  EXPECT_FALSE(c->get("Tux"));
  EXPECT_EQ(c->stats().invalidations, 2u);
}

TEST(LookupCache, NeverStepsBackToAnOlderVersion) {
  auto c = active_cache(10);
  const FillTicket slow = c->ticket();
  fill_now(*c, item("Tux", 9));
  EXPECT_EQ(c->fill(item("Tux", 8), slow, kCatalog), FillOutcome::kStale);
  EXPECT_EQ(c->get("Tux")->version, 9u);
  EXPECT_EQ(fill_now(*c, item("Tux", 9, 50)), FillOutcome::kStored);  // same version: refresh
}

// Read-your-writes: our own trade was acknowledged; its new version is unknown, so every reply
// to a lookup that left before the trade's acknowledgement is refused, whatever its version.
TEST(LookupCache, LocalInvalidationRefusesEveryEarlierRequest) {
  auto c = active_cache(10);
  fill_now(*c, item("Tux", 5));
  const FillTicket before = c->ticket();
  c->invalidate_local("Tux");
  EXPECT_FALSE(c->get("Tux"));
  EXPECT_EQ(c->fill(item("Tux", 6), before, kCatalog), FillOutcome::kFenced);
  EXPECT_EQ(c->fill(item("Tux", 1000), before, kCatalog), FillOutcome::kFenced);
  EXPECT_EQ(fill_now(*c, item("Tux", 6)), FillOutcome::kStored);
}

TEST(LookupCache, LocalInvalidationWithoutAnEntryStillFences) {
  auto c = active_cache(10);
  const FillTicket before = c->ticket();
  c->invalidate_local("Tux");
  EXPECT_EQ(c->fill(item("Tux", 5), before, kCatalog), FillOutcome::kFenced);
  EXPECT_EQ(c->size(), 0u);
}

// Only an acknowledged trade invalidates: an order refused, or of unknown outcome (the catalog
// or the order service unreachable), leaves the cached item to be served.
TEST(LookupCache, OnlyAnAcknowledgedOrderInvalidatesLocally) {
  auto c = active_cache(10);
  fill_now(*c, item("Tux", 5));
  for (auto status : {proto::Status::kInsufficient, proto::Status::kUnavailable}) {
    c->on_order_answer("Tux", status);
    EXPECT_TRUE(c->get("Tux")) << proto::to_string(status);
  }
  const FillTicket before = c->ticket();
  c->on_order_answer("Tux", proto::Status::kOk);
  EXPECT_FALSE(c->get("Tux"));
  EXPECT_EQ(c->fill(item("Tux", 6), before, kCatalog), FillOutcome::kFenced);
}

TEST(LookupCache, FlushEmptiesAndRefusesEarlierRequests) {
  auto c = active_cache(10);
  fill_now(*c, item("a", 1));
  fill_now(*c, item("b", 1));
  const FillTicket before = c->ticket();
  c->flush(FlushReason::kSequenceGap);
  EXPECT_EQ(c->size(), 0u);
  EXPECT_FALSE(c->get("a"));
  EXPECT_EQ(c->fill(item("c", 1), before, kCatalog), FillOutcome::kFlushed);
  EXPECT_EQ(fill_now(*c, item("c", 1)), FillOutcome::kStored);
  const CacheStats st = c->stats();
  EXPECT_EQ(st.flushes[static_cast<std::size_t>(FlushReason::kSequenceGap)], 1u);
  EXPECT_EQ(st.flushes[static_cast<std::size_t>(FlushReason::kBusRestart)], 1u);  // set_active
}

TEST(LookupCache, StartsPausedAndPausingEmptiesIt) {
  LookupCache c(10);
  EXPECT_TRUE(c.enabled());
  EXPECT_FALSE(c.active());
  EXPECT_EQ(fill_now(c, item("Tux", 1)), FillOutcome::kInactive);
  EXPECT_FALSE(c.get("Tux"));
  EXPECT_EQ(c.stats().misses, 1u);  // a paused lookup still goes to the catalog

  c.set_active(true, FlushReason::kBusRestart);
  const FillTicket before = c.ticket();
  fill_now(c, item("Tux", 1));
  c.set_active(false, FlushReason::kBusLost);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.get("Tux"));
  EXPECT_EQ(c.fill(item("Whale", 1), before, kCatalog), FillOutcome::kInactive);
  // Resumed: replies to requests from before the pause are refused (they may have missed
  // invalidations lost while the bus was down).
  c.set_active(true, FlushReason::kBusRestart);
  EXPECT_EQ(c.fill(item("Whale", 1), before, kCatalog), FillOutcome::kFlushed);
  EXPECT_EQ(c.stats().flushes[static_cast<std::size_t>(FlushReason::kBusLost)], 1u);
}

TEST(LookupCache, DisabledCacheIsANoOp) {
  LookupCache c(0);
  EXPECT_FALSE(c.enabled());
  c.set_active(true, FlushReason::kBusRestart);
  EXPECT_FALSE(c.active());
  EXPECT_EQ(fill_now(c, item("Tux", 1)), FillOutcome::kInactive);
  EXPECT_FALSE(c.get("Tux"));
  c.invalidate("Tux", 2);
  c.invalidate_local("Tux");
  c.flush(FlushReason::kBusLost);
  EXPECT_FALSE(c.note_source(7));
  const CacheStats st = c.stats();
  EXPECT_EQ(st.capacity, 0u);
  EXPECT_EQ(st.hits + st.misses + st.invalidations + st.flushes[0], 0u);
}

TEST(LookupCache, NewCatalogIncarnationFlushes) {
  auto c = active_cache(10);
  EXPECT_EQ(fill_now(*c, item("a", 1)), FillOutcome::kStored);  // learns kCatalog
  EXPECT_EQ(fill_now(*c, item("b", 1)), FillOutcome::kStored);
  EXPECT_EQ(c->size(), 2u);
  // The catalog restarted: the reply itself left before the flush, so it is not stored either.
  EXPECT_EQ(c->fill(item("a", 2), c->ticket(), kCatalog + 1), FillOutcome::kNewSource);
  EXPECT_EQ(c->size(), 0u);
  EXPECT_EQ(c->fill(item("a", 2), c->ticket(), kCatalog + 1), FillOutcome::kStored);
  EXPECT_FALSE(c->note_source(kCatalog + 1));
  EXPECT_TRUE(c->note_source(kCatalog + 2));
  EXPECT_EQ(c->stats().flushes[static_cast<std::size_t>(FlushReason::kCatalogRestart)], 2u);
}

// Fences are bounded: with many invalidated names the oldest fences go, and what they refused
// is still refused (the shard's floor rises instead).
TEST(LookupCache, DroppedFencesStillRefuseWhatTheyRefused) {
  auto c = active_cache(1);  // one shard, fence table of the minimum size
  const FillTicket before = c->ticket();
  for (int i = 0; i < 1000; ++i) c->invalidate("item" + std::to_string(i), 10);
  // "item0"'s fence was dropped long ago; its old reply must still be refused.
  EXPECT_NE(c->fill(item("item0", 9), before, kCatalog), FillOutcome::kStored);
  EXPECT_NE(c->fill(item("item999", 9), before, kCatalog), FillOutcome::kStored);
  EXPECT_EQ(fill_now(*c, item("item0", 10)), FillOutcome::kStored);
}

// Many threads fill, invalidate and read one item at random. The catalog's version only grows
// and each invalidation names the version it made; the cache must never hand out a version
// older than an invalidation that completed before the read started.
TEST(LookupCache, ConcurrentFillsNeverServeAFencedVersion) {
  auto c = active_cache(64, 4);
  std::atomic<std::uint64_t> catalog_version{1};
  std::atomic<std::uint64_t> invalidated{0};  // highest version whose invalidation completed
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        // A lookup: ticket, then "ask the catalog", then fill.
        const FillTicket tk = c->ticket();
        const std::uint64_t v = catalog_version.load();
        c->fill(item("Tux", v), tk, kCatalog);
      }
    });
  }
  threads.emplace_back([&] {  // the catalog: change, then publish the invalidation
    for (int i = 0; i < 20000; ++i) {
      const std::uint64_t v = catalog_version.fetch_add(1) + 1;
      c->invalidate("Tux", v);
      invalidated.store(v);
    }
    stop.store(true);
  });
  threads.emplace_back([&] {  // a reader
    while (!stop.load()) {
      const std::uint64_t floor = invalidated.load();
      if (auto hit = c->get_if_cached("Tux"); hit && hit->version < floor) ++violations;
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
}

}  // namespace
}  // namespace bazaar::frontend
