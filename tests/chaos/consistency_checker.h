// The chaos harness's verdict: G1-G4 and G7 checked on the quiet system from what the replicas, the
// catalog and the clients hold. Pure: the caller reads the databases and passes their contents.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/chaos/order_clients.h"

namespace bazaar::chaos {

/// One committed order as a replica's log holds it.
struct CommittedOrder {
  std::int64_t number = -1;
  std::string request_id;
  std::string name;
  bool sell = false;
  std::int64_t quantity = 0;
  bool operator==(const CommittedOrder&) const = default;
};

/// A trade the catalog applied (its applied_trades table); used to explain a G2 violation.
struct AppliedTrade {
  std::string request_id;
  std::string name;
  bool sell = false;
  std::int64_t quantity = 0;
};

/// One replica's committed state, read from its database when everything is quiet.
struct ReplicaState {
  std::string name;                    // "order-2"
  std::vector<std::string> dump;       // `bazaar-order --dump` lines (DESIGN.md section 6)
  std::vector<CommittedOrder> orders;  // the same orders with their request ids (SQLite)
  std::string error;                   // set when the database could not be read
};

struct CheckInput {
  std::vector<ReplicaState> replicas;
  std::map<std::string, std::int64_t> initial;  // catalog quantities before any order
  std::map<std::string, std::int64_t> current;  // catalog quantities on the quiet system
  std::vector<KeyRecord> keys;                  // every key the clients issued
  std::vector<AppliedTrade> applied;            // optional: the catalog's applied trades
};

/// Runs every check at construction. Each violation is one self-contained line; a category with
/// many is cut after a few lines and a count.
class ConsistencyChecker {
 public:
  explicit ConsistencyChecker(const CheckInput& input);

  bool passed() const { return violations_.empty(); }
  const std::vector<std::string>& violations() const { return violations_; }
  /// Orders committed (on the first replica that could be read).
  std::int64_t committed() const { return committed_; }

 private:
  void identical_logs(const CheckInput& in);
  void numbering(const std::vector<CommittedOrder>& log);
  void exactly_once(const CheckInput& in, const std::vector<CommittedOrder>& log);
  void conservation(const CheckInput& in, const std::vector<CommittedOrder>& log);
  /// G7: every acknowledged order read back 200 as acknowledged; G4: an owned item's lookup
  /// right after an acknowledged order shows exactly the quantity it left.
  void client_reads(const CheckInput& in);
  void add(const std::string& category, const std::string& line);

  std::vector<std::string> violations_;
  std::map<std::string, int> per_category_;
  std::int64_t committed_ = 0;
};

}  // namespace bazaar::chaos
