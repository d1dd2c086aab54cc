// CacheCoherence: which bus events invalidate one entry and which flush or pause the cache.
#include <gtest/gtest.h>

#include "frontend/cache_coherence.h"

namespace bazaar::frontend {
namespace {

using namespace std::chrono_literals;
using Clock = CacheCoherence::Clock;

constexpr std::uint64_t kCatalog = 7;
constexpr std::uint64_t kBroker = 100;

proto::Heartbeat heartbeat(std::uint64_t seq, std::uint64_t incarnation = kBroker) {
  proto::Heartbeat hb;
  hb.header = {"broker", incarnation, seq};
  hb.interval_ms = 250;
  return hb;
}

proto::Invalidation inv(std::uint64_t seq, const std::string& name, std::uint64_t version,
                        std::uint64_t incarnation = kCatalog) {
  proto::Invalidation i;
  i.header = {"catalog", incarnation, seq};
  i.name = name;
  i.version = version;
  return i;
}

proto::Item item(const std::string& name, std::uint64_t version) {
  proto::Item it;
  it.name = name;
  it.version = version;
  return it;
}

std::uint64_t flushes(const LookupCache& c, FlushReason r) {
  return c.stats().flushes[static_cast<std::size_t>(r)];
}

class CacheCoherenceTest : public ::testing::Test {
 protected:
  // Bus up, first invalidation seen, and two items cached: the steady state.
  void steady() {
    co_.on_heartbeat(heartbeat(1), t0_);
    co_.on_invalidation(inv(1, "Old", 2));
    fill("Tux", 5);
    fill("Whale", 3);
    ASSERT_EQ(cache_.size(), 2u);
  }
  void fill(const std::string& name, std::uint64_t version) {
    ASSERT_EQ(cache_.fill(item(name, version), cache_.ticket(), kCatalog), FillOutcome::kStored);
  }

  LookupCache cache_{100};
  CacheCoherence co_{cache_};
  Clock::time_point t0_ = Clock::now();
};

TEST_F(CacheCoherenceTest, FirstHeartbeatResumesTheCache) {
  EXPECT_FALSE(cache_.active());
  EXPECT_FALSE(co_.bus_alive());
  EXPECT_EQ(co_.on_heartbeat(heartbeat(40), t0_), StreamStep::kFirst);
  EXPECT_TRUE(cache_.active());
  EXPECT_TRUE(co_.bus_alive());
  EXPECT_EQ(co_.on_heartbeat(heartbeat(41), t0_ + 250ms), StreamStep::kNext);
}

TEST_F(CacheCoherenceTest, InOrderInvalidationRemovesOnlyItsItem) {
  steady();
  EXPECT_EQ(co_.on_invalidation(inv(2, "Tux", 6)), StreamStep::kNext);
  EXPECT_FALSE(cache_.get_if_cached("Tux"));
  EXPECT_TRUE(cache_.get_if_cached("Whale"));
  EXPECT_EQ(flushes(cache_, FlushReason::kSequenceGap), 0u);
}

TEST_F(CacheCoherenceTest, FirstInvalidationOfACatalogFlushes) {
  co_.on_heartbeat(heartbeat(1), t0_);
  fill("Tux", 5);
  fill("Whale", 3);
  // Invalidations from before our subscription reached the catalog could be missing unseen.
  EXPECT_EQ(co_.on_invalidation(inv(9, "Whale", 4)), StreamStep::kFirst);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_EQ(flushes(cache_, FlushReason::kCatalogRestart), 1u);
}

TEST_F(CacheCoherenceTest, InvalidationGapFlushes) {
  steady();
  EXPECT_EQ(co_.on_invalidation(inv(3, "Tux", 6)), StreamStep::kGap);  // seq 2 was lost
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_EQ(flushes(cache_, FlushReason::kSequenceGap), 1u);
}

TEST_F(CacheCoherenceTest, RestartedCatalogFlushes) {
  steady();
  EXPECT_EQ(co_.on_invalidation(inv(1, "Tux", 6, kCatalog + 1)), StreamStep::kNewIncarnation);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_GE(flushes(cache_, FlushReason::kCatalogRestart), 1u);
  // The reply path agrees on the new incarnation: no second flush from the next reply.
  EXPECT_FALSE(cache_.note_source(kCatalog + 1));
}

TEST_F(CacheCoherenceTest, ReplayedOldEventIsIgnoredForSequencing) {
  steady();
  EXPECT_EQ(co_.on_invalidation(inv(1, "Whale", 3)), StreamStep::kOld);
  EXPECT_EQ(cache_.size(), 2u);  // Whale at 3 is not older than 3
  EXPECT_EQ(co_.on_invalidation(inv(2, "Tux", 6)), StreamStep::kNext);
}

TEST_F(CacheCoherenceTest, HeartbeatGapFlushes) {
  steady();
  EXPECT_EQ(co_.on_heartbeat(heartbeat(3), t0_ + 500ms), StreamStep::kGap);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_TRUE(cache_.active());
  EXPECT_EQ(flushes(cache_, FlushReason::kSequenceGap), 1u);
}

TEST_F(CacheCoherenceTest, RestartedBrokerFlushes) {
  steady();
  EXPECT_EQ(co_.on_heartbeat(heartbeat(1, kBroker + 1), t0_ + 250ms), StreamStep::kNewIncarnation);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_TRUE(cache_.active());
  EXPECT_EQ(flushes(cache_, FlushReason::kBusRestart), 2u);  // the first heartbeat, and this
}

TEST_F(CacheCoherenceTest, LostHeartbeatPausesUntilTheNextOne) {
  steady();
  EXPECT_FALSE(co_.on_tick(t0_ + 700ms));  // within 3 intervals of 250 ms
  EXPECT_EQ(cache_.size(), 2u);
  EXPECT_TRUE(co_.on_tick(t0_ + 800ms));
  EXPECT_FALSE(co_.bus_alive());
  EXPECT_FALSE(cache_.active());
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_EQ(flushes(cache_, FlushReason::kBusLost), 1u);
  EXPECT_FALSE(co_.on_tick(t0_ + 900ms));  // already paused: no second flush
  EXPECT_EQ(cache_.fill(item("Tux", 5), cache_.ticket(), kCatalog), FillOutcome::kInactive);
  // The same broker comes back (say, after a network stall): resume on an empty cache.
  co_.on_heartbeat(heartbeat(9), t0_ + 2s);
  EXPECT_TRUE(cache_.active());
  EXPECT_TRUE(co_.bus_alive());
  fill("Tux", 5);
}

TEST_F(CacheCoherenceTest, UndecodableInvalidationFlushes) {
  steady();
  co_.on_undecodable_invalidation();
  EXPECT_EQ(cache_.size(), 0u);
}

}  // namespace
}  // namespace bazaar::frontend
