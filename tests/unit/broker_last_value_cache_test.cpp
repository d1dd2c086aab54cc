#include <gtest/gtest.h>

#include "broker/last_value_cache.h"
#include "proto_msgs/codec.h"

namespace bazaar::broker {
namespace {

std::string announcement(std::uint64_t term, std::uint32_t id) {
  return proto::encode(proto::LeaderAnnouncement{{"order", 1, 1}, term, id, "tcp://x:1"});
}

TEST(LastValueCache, NothingToReplayAtFirst) {
  LastValueCache c;
  EXPECT_FALSE(c.replay_for(""));
  EXPECT_FALSE(c.replay_for("leader"));
}

TEST(LastValueCache, KeepsNewestTermAndReplaysToMatchingFilters) {
  LastValueCache c;
  EXPECT_TRUE(c.offer("leader", announcement(2, 3)));
  EXPECT_FALSE(c.offer("leader", announcement(1, 2)));  // stale term never replaces
  EXPECT_TRUE(c.offer("leader", announcement(2, 3)));   // same term refreshes
  EXPECT_EQ(c.term(), 2u);
  for (const char* filter : {"", "l", "lead", "leader"}) {
    auto r = c.replay_for(filter);
    ASSERT_TRUE(r) << filter;
    EXPECT_EQ(proto::decode<proto::LeaderAnnouncement>(*r)->id, 3u);
  }
  EXPECT_FALSE(c.replay_for("inv"));
  EXPECT_FALSE(c.replay_for("leaderX"));
  EXPECT_TRUE(c.offer("leader", announcement(5, 1)));
  EXPECT_EQ(proto::decode<proto::LeaderAnnouncement>(*c.replay_for(""))->id, 1u);
}

TEST(LastValueCache, IgnoresOtherTopicsAndGarbage) {
  LastValueCache c;
  EXPECT_FALSE(c.offer("inv", announcement(1, 1)));
  EXPECT_FALSE(c.offer("leader", "garbage"));
  EXPECT_FALSE(c.offer("leader", proto::encode(proto::LookupRequest{"Tux"})));
  EXPECT_FALSE(c.replay_for(""));
}

}  // namespace
}  // namespace bazaar::broker
