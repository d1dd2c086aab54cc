// The order replica's Prometheus metrics (docs/OPERATIONS.md "Metrics"). Fed from the server
// loop (sample() once an iteration reads the replica's state and outcomes) and from the persist
// callback (observe_sync()); nothing in Replica or RaftCore knows about it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "order/replica.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace bazaar::order {

/// Not thread-safe to call: the server thread owns it (the metrics themselves are safe to scrape
/// from the exposer's thread).
class ReplicaMetrics {
 public:
  /// Registers every family in `registry`, which must outlive this object.
  explicit ReplicaMetrics(prometheus::Registry& registry);

  /// Reads role, term, indexes, follower lag, orders waiting and the replica's cumulative
  /// outcomes (elections, transfers, roll-forwards, trades in doubt); times propose-to-commit of
  /// the entries this replica logged as leader. Call once per loop iteration, after the replica was
  /// flushed.
  void sample(const Replica& replica, std::uint64_t now_ms);

  /// One durable write of the log (SqliteLogStore::write) took `elapsed`.
  void observe_sync(std::chrono::steady_clock::duration elapsed);

 private:
  prometheus::Family<prometheus::Gauge>& role_;
  std::map<raft::RaftRole, prometheus::Gauge*> role_gauges_;
  prometheus::Gauge& term_;
  prometheus::Gauge& commit_index_;
  prometheus::Gauge& last_index_;
  prometheus::Gauge& cached_entries_;
  prometheus::Family<prometheus::Gauge>& lag_;
  std::map<std::uint32_t, prometheus::Gauge*> lag_gauges_;  // follower id -> series (leader only)
  prometheus::Histogram& propose_to_commit_;
  prometheus::Histogram& disk_sync_;
  prometheus::Counter& elections_started_;
  prometheus::Counter& elections_won_;
  prometheus::Counter& transfers_;
  prometheus::Counter& rolled_forward_;
  prometheus::Counter& in_doubt_;
  prometheus::Gauge& waiting_;
  prometheus::Gauge& catalog_reachable_;

  // What the counters were last fed from the replica's own totals (they only grow).
  raft::RaftCore::Counters fed_{};
  std::uint64_t fed_rolled_forward_ = 0;
  std::uint64_t fed_in_doubt_ = 0;
  // Entries logged as leader and not yet committed, one element per loop iteration that logged
  // some. Cleared when leadership ends; bounded by kMaxTracked.
  struct Proposed {
    std::uint64_t first = 0;  // log indexes first..last
    std::uint64_t last = 0;
    std::uint64_t at_ms = 0;  // the sample that first saw them
  };
  std::deque<Proposed> proposed_;
  std::uint64_t seen_last_index_ = 0;
  bool was_leader_ = false;
};

}  // namespace bazaar::order
