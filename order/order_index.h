// Where the orders of a replica's log are, and their numbers: committed orders through the
// store's indexes (by number and by request id), the orders not yet committed by request id in
// memory. It also writes each Ready, numbering the orders it commits in the same transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "order/sqlite_log_store.h"
#include "proto_msgs/messages.h"
#include "raft/raft_core.h"

namespace bazaar::order {

/// Orders are numbered as their entries commit: the n-th order entry of the committed log is
/// order n-1, on every replica alike (the core never numbers them). Not thread-safe: the
/// Replica owns it. Memory: the request ids of the orders past the stored commit index only.
class OrderIndex {
 public:
  /// Reads the entries of `core`'s log past its applied index (what a restart must read: the
  /// uncommitted tail). Both must outlive the index; the index writes `store`, never `core`.
  OrderIndex(SqliteLogStore& store, const raft::RaftCore& core);

  /// Where request `id` is in the log: its entry, its index, and whether its order is committed
  /// and numbered (entry.order_number is valid then). nullopt when the log does not hold it.
  struct Found {
    std::uint64_t index = 0;
    proto::LogEntry entry;
    bool numbered = false;
  };
  std::optional<Found> find(const std::string& id) const;
  /// The leader proposed the order of `id` at `index`: known at once, before the next write, so
  /// a repeat never reaches the catalog again.
  void note_proposed(const std::string& id, std::uint64_t index);

  /// An order that committed, with the number it took.
  struct Committed {
    std::uint64_t index = 0;
    std::int64_t number = 0;
    std::string request_id;
  };
  /// Writes `ready` and the numbers of the orders it commits in one transaction (durable
  /// before anything of the Ready may leave), follows the log's changes, and returns the orders
  /// it committed, in log order. Throws std::logic_error when the store refuses the write (a
  /// broken Raft rule), SQLite::Exception on a disk error: the replica must stop either way.
  std::vector<Committed> persist(const raft::Ready& ready);

  /// The committed order numbered `number` (one indexed read), or nullopt.
  std::optional<proto::LogEntry> committed(std::int64_t number) const {
    return store_.committed_order(number);
  }
  /// Orders numbered so far (the next number).
  std::int64_t committed_orders() const { return store_.committed_orders(); }
  /// Orders in the log not numbered yet (not committed, or committed since the last write).
  std::size_t unnumbered() const { return uncommitted_.size(); }

 private:
  SqliteLogStore& store_;
  const raft::RaftCore& core_;
  // The order entries past the stored commit index, by request id: what the store's index of
  // committed orders cannot answer yet. They leave as they commit or are cut.
  std::unordered_map<std::string, std::uint64_t> uncommitted_;
};

}  // namespace bazaar::order
