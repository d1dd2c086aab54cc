// Reads what the chaos checker needs from the cluster's files: each replica's committed orders
// (through `bazaar-order --dump`, and from its SQLite file for the request ids the dump does not
// print), the catalog's quantities (`bazaar-catalog --dump`) and its applied trades (SQLite).
// Every read is read-only and safe beside the running services (WAL).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/chaos/consistency_checker.h"

namespace bazaar::chaos {

/// Reads from one cluster directory (the harness's layout: order-K.db, catalog.db).
class StateReader {
 public:
  explicit StateReader(std::string dir) : dir_(std::move(dir)) {}

  /// Replica `k`'s committed orders, by dump and from its database; sets `error` on failure.
  ReplicaState replica(int k) const;
  /// Every replica, read again until all agree or `patience` has passed (a follower learns the
  /// final commit index with the leader's next heartbeat).
  std::vector<ReplicaState> converged_replicas(int replicas,
                                               std::chrono::milliseconds patience) const;
  /// Item name -> quantity from the catalog's dump; empty with `error` set on failure.
  std::map<std::string, std::int64_t> catalog(std::string& error) const;
  /// The catalog's applied (status ok) trades; empty when its schema has no such table.
  std::vector<AppliedTrade> applied_trades() const;

 private:
  std::string dir_;
};

}  // namespace bazaar::chaos
