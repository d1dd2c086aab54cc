// The order index (order/order_index.h) over an in-memory SQLite store and a single-replica
// core: orders are numbered as they commit, found by request id before and after, and a restart
// reads back only the uncommitted tail.
#include <gtest/gtest.h>

#include "order/order_index.h"
#include "raft_test_support.h"

namespace bazaar::order {
namespace {

proto::LogEntry order(const std::string& id) {
  return raft::testing::order_entry(0, id);
}

raft::RaftConfig solo() {
  raft::RaftConfig c;
  c.id = 1;
  c.members = {1};
  return c;
}

TEST(OrderIndex, NumbersOrdersAsTheyCommitAndFindsThemBeforeAndAfter) {
  SqliteLogStore store(":memory:");
  raft::RaftCore core(solo(), store, 0);
  OrderIndex index(store, core);
  core.tick(10000);  // leads alone
  index.persist(core.take_ready());
  core.advance();
  std::uint64_t at = 0;
  ASSERT_EQ(core.propose(order("a"), at), raft::ProposeOutcome::kAccepted);
  index.note_proposed("a", at);
  auto found = index.find("a");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->numbered) << "proposed, not yet written";
  EXPECT_EQ(index.unnumbered(), 1u);
  const auto committed = index.persist(core.take_ready());
  core.advance();
  ASSERT_EQ(committed.size(), 1u);
  EXPECT_EQ(committed[0].number, 0);
  EXPECT_EQ(committed[0].request_id, "a");
  found = index.find("a");
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->numbered);
  EXPECT_EQ(found->entry.order_number, 0);
  EXPECT_EQ(index.unnumbered(), 0u);
  ASSERT_TRUE(index.committed(0));
  EXPECT_EQ(index.committed(0)->request_id, "a");
  EXPECT_FALSE(index.find("b"));
}

TEST(OrderIndex, ARestartKnowsTheUncommittedOrdersOfItsLog) {
  SqliteLogStore store(":memory:");
  // A follower's log: two orders written, the first one committed.
  raft::LogWrite w;
  w.hard_state = raft::HardState{1, 2};
  w.first_index = 1;
  w.entries = {order("a"), order("b")};
  for (auto& e : w.entries) e.term = 1;
  w.commit_index = 1;
  ASSERT_EQ(store.write(w, {{.index = 1, .number = 0}}), raft::WriteOutcome::kWritten);
  raft::RaftConfig c = solo();
  c.members = {1, 2, 3};
  raft::RaftCore core(c, store, 0);
  OrderIndex index(store, core);
  EXPECT_EQ(index.committed_orders(), 1);
  EXPECT_EQ(index.unnumbered(), 1u);
  auto b = index.find("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->index, 2u);
  EXPECT_FALSE(b->numbered);
  EXPECT_TRUE(index.find("a")->numbered);
}

}  // namespace
}  // namespace bazaar::order
