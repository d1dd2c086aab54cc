// The order replica's durable state in SQLite: committed orders and the current term.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "proto_msgs/messages.h"

namespace bazaar::order {

/// One SQLite database per replica (WAL, synchronous=FULL: an order acknowledged to a client
/// is on disk). Orders are numbered by position: the first is 0 and each append takes the next
/// number, so the log has no gap by construction. Not thread-safe: the replica's single service
/// thread owns it.
class OrderLog {
 public:
  /// Opens (creating when missing) the database at `path`. Throws common::StartupError when the
  /// file cannot be opened or is not an order database.
  explicit OrderLog(const std::string& path);

  /// Number of committed orders (= the number the next order gets).
  std::int64_t size() const { return size_; }

  /// Appends `order` (its number is set to size()) in its own transaction, durably, tagged with
  /// `term`. Returns the order as stored.
  proto::Order append(proto::Order order, std::uint64_t term);

  std::optional<proto::Order> get(std::int64_t number);
  std::optional<proto::Order> find_by_request_id(const std::string& request_id);

  /// The persisted current term (0 for a new database).
  std::uint64_t term();
  /// Persists `term` as the current term before anything is done in it.
  void set_term(std::uint64_t term);

  /// Prints every committed order, ascending, as "<number> <name> <type> <quantity>" lines
  /// through `line`. Opens `path` read-only; throws common::StartupError when it cannot.
  static void dump(const std::string& path, const std::function<void(const std::string&)>& line);

 private:
  SQLite::Database db_;
  std::int64_t size_ = 0;
};

}  // namespace bazaar::order
