#include "order/replica_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace bazaar::order {

namespace {
constexpr std::size_t kMaxTracked = 100000;  // uncommitted batches timed at once

// Seconds, 0.5 ms .. 5 s: a local commit takes about a millisecond, a fail-over up to a second.
prometheus::Histogram::BucketBoundaries latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}
}  // namespace

ReplicaMetrics::ReplicaMetrics(prometheus::Registry& registry)
    : role_(prometheus::BuildGauge()
                .Name("bazaar_order_role")
                .Help("1 for the Raft role this replica is in, 0 for the others")
                .Register(registry)),
      term_(prometheus::BuildGauge()
                .Name("bazaar_order_term")
                .Help("Current Raft term")
                .Register(registry)
                .Add({})),
      commit_index_(prometheus::BuildGauge()
                        .Name("bazaar_order_commit_index")
                        .Help("Highest log index known committed")
                        .Register(registry)
                        .Add({})),
      last_index_(prometheus::BuildGauge()
                      .Name("bazaar_order_last_index")
                      .Help("Index of the last entry in this replica's log")
                      .Register(registry)
                      .Add({})),
      cached_entries_(prometheus::BuildGauge()
                          .Name("bazaar_order_log_cached_entries")
                          .Help("Log entries held in memory (the tail; older ones are read from "
                                "the database)")
                          .Register(registry)
                          .Add({})),
      lag_(prometheus::BuildGauge()
               .Name("bazaar_order_follower_lag_entries")
               .Help("Leader only: entries of the leader's log a follower is not known to hold")
               .Register(registry)),
      propose_to_commit_(prometheus::BuildHistogram()
                             .Name("bazaar_order_propose_to_commit_seconds")
                             .Help("Leader only: time from logging an entry to its commit")
                             .Register(registry)
                             .Add({}, latency_buckets())),
      disk_sync_(prometheus::BuildHistogram()
                     .Name("bazaar_order_disk_sync_seconds")
                     .Help("Time of one durable write of the log (SQLite transaction and sync)")
                     .Register(registry)
                     .Add({}, latency_buckets())),
      elections_started_(prometheus::BuildCounter()
                             .Name("bazaar_order_elections_started_total")
                             .Help("Elections this replica started (pre-votes not counted)")
                             .Register(registry)
                             .Add({})),
      elections_won_(prometheus::BuildCounter()
                         .Name("bazaar_order_elections_won_total")
                         .Help("Elections this replica won")
                         .Register(registry)
                         .Add({})),
      transfers_(prometheus::BuildCounter()
                     .Name("bazaar_order_leadership_transfers_total")
                     .Help("Leadership transfers this replica began as leader")
                     .Register(registry)
                     .Add({})),
      rolled_forward_(prometheus::BuildCounter()
                          .Name("bazaar_order_trades_rolled_forward_total")
                          .Help("Orders logged for trades a previous leader left unconfirmed")
                          .Register(registry)
                          .Add({})),
      in_doubt_(prometheus::BuildCounter()
                    .Name("bazaar_order_trades_in_doubt_total")
                    .Help("Trades whose outcome at the catalog this leader lost track of")
                    .Register(registry)
                    .Add({})),
      waiting_(prometheus::BuildGauge()
                   .Name("bazaar_order_orders_waiting")
                   .Help("Client orders waiting on the catalog or on commit")
                   .Register(registry)
                   .Add({})),
      catalog_reachable_(prometheus::BuildGauge()
                             .Name("bazaar_order_catalog_reachable")
                             .Help("1 while the catalog answers this replica's probes (a leader "
                                   "it does not answer hands office to a follower it answers)")
                             .Register(registry)
                             .Add({})) {
  // Own names: to_string() calls a pre-candidate a candidate.
  role_gauges_[raft::RaftRole::kFollower] = &role_.Add({{"role", "follower"}});
  role_gauges_[raft::RaftRole::kPreCandidate] = &role_.Add({{"role", "pre_candidate"}});
  role_gauges_[raft::RaftRole::kCandidate] = &role_.Add({{"role", "candidate"}});
  role_gauges_[raft::RaftRole::kLeader] = &role_.Add({{"role", "leader"}});
}

void ReplicaMetrics::sample(const Replica& replica, std::uint64_t now_ms) {
  const raft::RaftCore& core = replica.core();
  for (auto& [r, gauge] : role_gauges_) gauge->Set(core.role() == r ? 1 : 0);
  term_.Set(static_cast<double>(core.term()));
  commit_index_.Set(static_cast<double>(core.commit_index()));
  last_index_.Set(static_cast<double>(core.last_index()));
  cached_entries_.Set(static_cast<double>(core.cached_entries()));
  waiting_.Set(static_cast<double>(replica.waiting()));
  catalog_reachable_.Set(replica.catalog_reachable() ? 1 : 0);

  const raft::RaftCore::Counters& c = core.counters();
  elections_started_.Increment(static_cast<double>(c.elections_started - fed_.elections_started));
  elections_won_.Increment(static_cast<double>(c.elections_won - fed_.elections_won));
  transfers_.Increment(static_cast<double>(c.transfers_started - fed_.transfers_started));
  fed_ = c;
  rolled_forward_.Increment(static_cast<double>(replica.rolled_forward() - fed_rolled_forward_));
  fed_rolled_forward_ = replica.rolled_forward();
  in_doubt_.Increment(static_cast<double>(replica.trades_doubted() - fed_in_doubt_));
  fed_in_doubt_ = replica.trades_doubted();

  const bool leader = core.role() == raft::RaftRole::kLeader;
  // Follower lag: one series per follower while leading; none otherwise (a stale series would
  // claim a lag nobody measures).
  const auto matches = core.match_indexes();
  for (auto it = lag_gauges_.begin(); it != lag_gauges_.end();) {
    if (matches.count(it->first) == 0) {
      lag_.Remove(it->second);
      it = lag_gauges_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [peer, match] : matches) {
    auto [it, fresh] = lag_gauges_.try_emplace(peer, nullptr);
    if (fresh) it->second = &lag_.Add({{"follower", std::to_string(peer)}});
    it->second->Set(static_cast<double>(core.last_index() - std::min(match, core.last_index())));
  }

  // Propose to commit, at the granularity of the server loop: entries that appeared in the log
  // since the last sample were proposed now; each is timed once the commit index passes it.
  if (!leader || !was_leader_) proposed_.clear();
  if (leader && was_leader_ && core.last_index() > seen_last_index_) {
    if (proposed_.size() >= kMaxTracked) proposed_.pop_front();
    proposed_.push_back({seen_last_index_ + 1, core.last_index(), now_ms});
  }
  while (!proposed_.empty() && proposed_.front().last <= core.commit_index()) {
    const Proposed p = proposed_.front();
    proposed_.pop_front();
    const double seconds = static_cast<double>(now_ms - p.at_ms) / 1000.0;
    for (std::uint64_t k = p.first; k <= p.last; ++k) propose_to_commit_.Observe(seconds);
  }
  seen_last_index_ = core.last_index();
  was_leader_ = leader;
}

void ReplicaMetrics::observe_sync(std::chrono::steady_clock::duration elapsed) {
  disk_sync_.Observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace bazaar::order
