// ReplicaMetrics reads a replica's state and outcomes into the registry it was given: a single
// replica elects itself, reconciles, and commits one order; the families show each step.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <string>

#include "order/replica.h"
#include "order/replica_metrics.h"
#include "proto_msgs/codec.h"

namespace bazaar::order {
namespace {

// The value of family `name`'s series with label `label`=`value` (any series when label is
// empty): gauge or counter value, histogram sample count. -1 when there is none.
double metric(prometheus::Registry& registry, const std::string& name,
              const std::string& label = "", const std::string& value = "") {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = label.empty();
      for (const auto& l : m.label) match = match || (l.name == label && l.value == value);
      if (!match) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        default:
          return -1;
      }
    }
  }
  return -1;
}

TEST(ReplicaMetrics, FollowsElectionReconciliationAndACommittedOrder) {
  prometheus::Registry registry;
  ReplicaMetrics metrics(registry);
  ReplicaOptions o;
  o.raft.id = 1;
  o.raft.members = {1};
  std::uint64_t now = 1;
  SqliteLogStore store(":memory:");
  store.set_write_observer([&metrics](std::chrono::steady_clock::duration) {
    metrics.observe_sync(std::chrono::milliseconds(2));
  });
  Replica r(o, store, now);
  metrics.sample(r, now);
  EXPECT_EQ(metric(registry, "bazaar_order_role", "role", "follower"), 1);
  EXPECT_EQ(metric(registry, "bazaar_order_role", "role", "leader"), 0);
  EXPECT_EQ(metric(registry, "bazaar_order_term"), 0);
  EXPECT_EQ(metric(registry, "bazaar_order_elections_started_total"), 0);

  now += 1000;
  r.tick(now);
  r.flush();
  metrics.sample(r, now);
  ASSERT_EQ(r.core().role(), raft::RaftRole::kLeader);
  EXPECT_EQ(metric(registry, "bazaar_order_role", "role", "leader"), 1);
  EXPECT_EQ(metric(registry, "bazaar_order_role", "role", "follower"), 0);
  EXPECT_EQ(metric(registry, "bazaar_order_term"), 1);
  EXPECT_EQ(metric(registry, "bazaar_order_elections_started_total"), 1);
  EXPECT_EQ(metric(registry, "bazaar_order_elections_won_total"), 1);
  EXPECT_GT(metric(registry, "bazaar_order_disk_sync_seconds"), 0);

  // The catalog knows of one trade a previous leader applied: it is rolled forward.
  auto out = r.take_outputs();
  ASSERT_TRUE(out.reconcile);
  proto::ReconcileReply rec;
  rec.unconfirmed = {{"old", "Tux", proto::Side::kBuy, 1}};
  r.on_reconcile(out.reconcile->term, out.reconcile->after, rec, now);
  r.flush();
  now += 1;
  r.tick(now);
  r.flush();
  metrics.sample(r, now);
  EXPECT_EQ(metric(registry, "bazaar_order_trades_rolled_forward_total"), 1);
  ASSERT_EQ(r.phase(), LeaderPhase::kServing);
  r.take_outputs();

  // An order waits on the catalog, then commits: waiting goes 1 -> 0, one entry is timed.
  const double timed = metric(registry, "bazaar_order_propose_to_commit_seconds");
  r.on_client(7, proto::encode(proto::PlaceOrderRequest{"a", "Tux", proto::Side::kBuy, 2}), now);
  r.flush();
  metrics.sample(r, now);
  EXPECT_EQ(metric(registry, "bazaar_order_orders_waiting"), 1);
  out = r.take_outputs();
  ASSERT_EQ(out.trade_batches.size(), 1u);
  proto::TradeBatchReply reply;
  reply.replies.resize(1);
  reply.replies[0].status = proto::Status::kOk;
  now += 5;
  r.on_trade_batch(out.trade_batches[0].id, reply, now);
  r.flush();
  metrics.sample(r, now);
  EXPECT_EQ(metric(registry, "bazaar_order_orders_waiting"), 0);
  EXPECT_EQ(metric(registry, "bazaar_order_propose_to_commit_seconds"), timed + 1);
  EXPECT_EQ(metric(registry, "bazaar_order_commit_index"),
            static_cast<double>(r.core().last_index()));
  EXPECT_EQ(metric(registry, "bazaar_order_last_index"),
            static_cast<double>(r.core().last_index()));
  EXPECT_EQ(metric(registry, "bazaar_order_log_cached_entries"),
            static_cast<double>(r.core().cached_entries()));
  EXPECT_GT(r.core().cached_entries(), 0u);  // its own entries, still in memory

  // A trade sent and never answered goes in doubt when its batch's deadline passes.
  r.on_client(2, proto::encode(proto::PlaceOrderRequest{"b", "Tux", proto::Side::kBuy, 1}), now);
  r.flush();
  ASSERT_EQ(r.take_outputs().trade_batches.size(), 1u);
  now += 2000;
  r.tick(now);
  r.flush();
  metrics.sample(r, now);
  EXPECT_EQ(metric(registry, "bazaar_order_trades_in_doubt_total"), 1);
  // A single replica has no followers: no lag series.
  EXPECT_EQ(metric(registry, "bazaar_order_follower_lag_entries"), -1);
}

TEST(ReplicaMetrics, LagSeriesOnlyWhileLeading) {
  prometheus::Registry registry;
  ReplicaMetrics metrics(registry);
  ReplicaOptions o;
  o.raft.id = 1;
  o.raft.members = {1, 2, 3};
  SqliteLogStore store(":memory:");
  Replica r(o, store, 1);
  proto::AppendEntries hb;
  hb.term = 2;
  hb.leader = 3;
  r.on_peer(proto::encode(hb), 5);
  r.flush();
  metrics.sample(r, 5);
  EXPECT_EQ(metric(registry, "bazaar_order_role", "role", "follower"), 1);
  EXPECT_EQ(metric(registry, "bazaar_order_term"), 2);
  EXPECT_EQ(metric(registry, "bazaar_order_follower_lag_entries"), -1);
}

}  // namespace
}  // namespace bazaar::order
