// bazaar-netem's pure part: delays in order, drops at the asked rate, and keeps its bound.
#include "tests/chaos/link_shaper.h"

#include <gtest/gtest.h>

namespace bazaar::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = LinkShaper::Clock;

TEST(LinkShaper, HoldsEachPacketForTheDelayInArrivalOrder) {
  LinkShaper s({.delay = 100ms, .jitter = 50ms, .seed = 3});
  const auto t0 = Clock::time_point{} + 1s;
  for (std::uint32_t id = 1; id <= 50; ++id) {
    ASSERT_EQ(s.admit(id, t0 + std::chrono::milliseconds(id)), Admit::kHeld);
  }
  EXPECT_TRUE(s.due(t0 + 99ms).empty());  // nothing leaves before the base delay
  std::vector<std::uint32_t> out;
  for (auto t = t0; t < t0 + 1s; t += 1ms) {
    for (auto id : s.due(t)) out.push_back(id);
  }
  ASSERT_EQ(out.size(), 50u);
  for (std::uint32_t i = 0; i < 50; ++i) EXPECT_EQ(out[i], i + 1);  // FIFO: no reordering
  EXPECT_EQ(s.next_due(), Clock::time_point::max());
}

TEST(LinkShaper, DropsAboutTheAskedShare) {
  LinkShaper s({.delay = 0ms, .loss = 0.2, .seed = 9});
  int dropped = 0;
  for (std::uint32_t id = 0; id < 10000; ++id) {
    if (s.admit(id, Clock::now()) == Admit::kDropped) ++dropped;
  }
  EXPECT_NEAR(dropped, 2000, 200);
}

TEST(LinkShaper, PassesPastItsBoundAndDrainsEverything) {
  LinkShaper s({.delay = 1000ms, .max_held = 3});
  const auto t0 = Clock::now();
  EXPECT_EQ(s.admit(1, t0), Admit::kHeld);
  EXPECT_EQ(s.admit(2, t0), Admit::kHeld);
  EXPECT_EQ(s.admit(3, t0), Admit::kHeld);
  EXPECT_EQ(s.admit(4, t0), Admit::kPassed);
  EXPECT_EQ(s.drain(), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(s.held(), 0u);
}

}  // namespace
}  // namespace bazaar::chaos
