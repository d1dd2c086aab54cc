#include <gtest/gtest.h>

#include "proto_msgs/codec.h"

namespace bazaar::proto {
namespace {

TEST(ProtoCodec, TradeRequestRoundTrips) {
  TradeRequest in{"req-1", "Tux", Side::kSell, 7};
  auto out = decode<TradeRequest>(encode(in));
  ASSERT_TRUE(out) << to_string(out.error);
  EXPECT_EQ(out->request_id, "req-1");
  EXPECT_EQ(out->name, "Tux");
  EXPECT_EQ(out->side, Side::kSell);
  EXPECT_EQ(out->quantity, 7);
}

}  // namespace
}  // namespace bazaar::proto
