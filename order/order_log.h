// An order replica's durable state in SQLite: the replicated log, the term and vote, and the
// commit index.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "raft/raft_core.h"

namespace bazaar::order {

/// One SQLite database per replica (WAL, synchronous=FULL: what a replica acknowledges is on
/// disk). Not thread-safe: the replica's service thread owns it.
class OrderLog {
 public:
  /// Opens (creating when missing) the database at `path`. Throws common::StartupError when the
  /// file cannot be opened, is not an order database, or fails its consistency checks.
  explicit OrderLog(const std::string& path);

  /// What was persisted: loaded once at start.
  const raft::HardState& hard_state() const { return hard_; }
  const std::vector<proto::LogEntry>& entries() const { return entries_; }
  std::uint64_t commit_index() const { return commit_; }

  /// Makes a Ready's records durable in one transaction (one fsync, whatever the batch size):
  /// hard state, truncation, appended entries, commit index. Throws SQLite::Exception on a disk
  /// error; the caller must then stop (it cannot promise anything it has not stored).
  void persist(const raft::Ready& ready);

  /// Prints every committed order, ascending, as "<number> <name> <type> <quantity>" lines
  /// through `line`. Opens `path` read-only; throws common::StartupError when it cannot.
  static void dump(const std::string& path, const std::function<void(const std::string&)>& line);

 private:
  /// Sets meta `key` to `value` (inside the caller's transaction, if any).
  void put_meta(const char* key, std::int64_t value);

  SQLite::Database db_;
  // Prepared once: persist() runs for every group commit, and compiling its SQL each time
  // showed up in profiles of a loaded leader. Made after the schema exists.
  std::unique_ptr<SQLite::Statement> put_meta_;
  std::unique_ptr<SQLite::Statement> truncate_;
  std::unique_ptr<SQLite::Statement> append_;
  raft::HardState hard_;
  std::vector<proto::LogEntry> entries_;  // as loaded at start; not kept up to date after
  std::uint64_t commit_ = 0;
  bool relaxed_ = false;  // synchronous=NORMAL is in force (see persist())
};

}  // namespace bazaar::order
