// The leader's trade pipeline to the catalog (order/trade_pipeline.h) on its own: batching,
// answers, doubts and their resolution, deadlines, and the end of office.
#include <gtest/gtest.h>

#include "order/trade_pipeline.h"

namespace bazaar::order {
namespace {

PendingTrade order(const std::string& id, std::uint64_t deadline_ms = 1000, std::int64_t q = 1) {
  return {{id, "Tux", proto::Side::kBuy, q}, {7}, deadline_ms};
}

proto::TradeBatchReply ok(std::size_t n) {
  proto::TradeBatchReply r;
  r.replies.resize(n);  // status ok
  return r;
}

TEST(TradePipeline, TradesGoInOneBatchAtATimeAndTheAnswerHandsBackTheirOrders) {
  TradePipeline p(1, 100);
  p.add(order("a"));
  p.add(order("b"));
  auto batches = p.take_batches(3, 0, 1000);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].request.term, 3u);
  ASSERT_EQ(batches[0].request.trades.size(), 2u);
  // One batch at the catalog: what arrives meanwhile waits for its answer, then goes together.
  p.add(order("c"));
  EXPECT_TRUE(p.take_batches(3, 1, 1000).empty());
  const BatchAnswer a = p.on_answer(batches[0].id, ok(2), 2);
  EXPECT_EQ(a.kind, AnswerKind::kAnswered);
  ASSERT_EQ(a.outcomes.size(), 2u);
  ASSERT_TRUE(a.outcomes[1].pending);
  EXPECT_EQ(a.outcomes[1].pending->request.request_id, "b");
  EXPECT_EQ(a.outcomes[1].pending->waiters, (std::vector<std::uint64_t>{7}));
  EXPECT_EQ(p.find("a"), nullptr);
  ASSERT_NE(p.find("c"), nullptr);
  EXPECT_EQ(p.take_batches(3, 3, 1000).size(), 1u);
  EXPECT_EQ(p.on_answer(batches[0].id, ok(2), 4).kind, AnswerKind::kStale) << "answered twice";
}

TEST(TradePipeline, AnUnansweredBatchGoesInDoubtAndBlocksTradesUntilResolved) {
  TradePipeline p(1, 100);
  p.add(order("a", 5000));
  const auto first = p.take_batches(1, 0, 1000);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(p.doubt_overdue(999).empty());
  const auto doubted = p.doubt_overdue(1000);
  ASSERT_EQ(doubted.size(), 1u);
  EXPECT_EQ(doubted[0].second, 1u);
  EXPECT_EQ(p.in_doubt(), 1u);
  EXPECT_EQ(p.trades_doubted(), 1u);
  p.add(order("b", 5000));
  EXPECT_TRUE(p.take_batches(1, 1001, 1000).empty()) << "no trade goes out while in doubt";
  // Resolve it: due now, again after the retry interval until settled.
  ASSERT_EQ(p.due_resolves(1, 1001, 200).size(), 1u);
  EXPECT_TRUE(p.due_resolves(1, 1100, 200).empty());
  EXPECT_EQ(p.due_resolves(1, 1201, 200).size(), 1u);
  EXPECT_EQ(p.on_resolved(first[0].id), 1u);
  EXPECT_FALSE(p.on_resolved(first[0].id)) << "settled once";
  EXPECT_EQ(p.take_batches(1, 1300, 1000).size(), 1u);
}

TEST(TradePipeline, ALateAnswerSettlesTheDoubtAndAMiscountedOneCreatesIt) {
  TradePipeline p(1, 100);
  p.add(order("a", 5000));
  const auto b = p.take_batches(1, 0, 1000);
  p.doubt_overdue(1000);
  const BatchAnswer late = p.on_answer(b[0].id, ok(1), 1500);
  EXPECT_EQ(late.kind, AnswerKind::kSettledDoubt);
  EXPECT_EQ(p.in_doubt(), 0u);
  ASSERT_EQ(late.outcomes.size(), 1u);
  EXPECT_TRUE(late.outcomes[0].pending) << "its client still waits (deadline 5000)";

  p.add(order("b", 5000));
  const auto b2 = p.take_batches(1, 1600, 1000);
  EXPECT_EQ(p.on_answer(b2[0].id, ok(3), 1700).kind, AnswerKind::kMiscounted);
  EXPECT_EQ(p.in_doubt(), 1u) << "which trade applied is unknown";
}

TEST(TradePipeline, AnOrderPastItsDeadlineIsHandedBackAndItsTradeNeverSent) {
  TradePipeline p(1, 100);
  p.add(order("a", 10));
  const auto expired = p.expire_orders(10);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].request.request_id, "a");
  EXPECT_TRUE(p.take_batches(1, 11, 1000).empty());
}

TEST(TradePipeline, AnAnswerForAReusedIdHandsBackNoOrder) {
  TradePipeline p(1, 100);
  p.add(order("a", 5000, 1));
  const auto b = p.take_batches(1, 0, 1000);
  // The client gave up, and the id came back for another quantity.
  p.expire_orders(5000);
  p.add(order("a", 9000, 2));
  const BatchAnswer a = p.on_answer(b[0].id, ok(1), 5001);
  ASSERT_EQ(a.outcomes.size(), 1u);
  EXPECT_FALSE(a.outcomes[0].pending);
  ASSERT_NE(p.find("a"), nullptr) << "the other order still waits";
  EXPECT_EQ(p.find("a")->request.quantity, 2);
}

TEST(TradePipeline, ConfirmationsRideOnTradesOrGoAloneAfterTheirDelay) {
  TradePipeline p(1, 100);
  p.confirm("x", 0);
  EXPECT_TRUE(p.take_batches(1, 50, 1000).empty());
  auto alone = p.take_batches(1, 100, 1000);
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0].request.confirmed, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(alone[0].request.trades.empty());
  // A batch of confirmations only that goes unanswered is dropped, not doubted.
  EXPECT_TRUE(p.doubt_overdue(1100).empty());
  EXPECT_EQ(p.in_doubt(), 0u);
  p.confirm("y", 1200);
  p.add(order("a", 9000));
  auto riding = p.take_batches(1, 1201, 1000);
  ASSERT_EQ(riding.size(), 1u);
  EXPECT_EQ(riding[0].request.confirmed, (std::vector<std::string>{"y"}));
}

TEST(TradePipeline, TheEndOfOfficeDropsEverythingAndHandsBackTheOrders) {
  TradePipeline p(1, 100);
  p.add(order("a", 5000));
  const auto b = p.take_batches(1, 0, 1000);
  p.add(order("b", 5000));
  p.confirm("c", 0);
  EXPECT_EQ(p.drop_all().size(), 2u);
  EXPECT_EQ(p.on_answer(b[0].id, ok(1), 10).kind, AnswerKind::kStale);
  EXPECT_TRUE(p.take_batches(2, 200, 1000).empty());
}

}  // namespace
}  // namespace bazaar::order
