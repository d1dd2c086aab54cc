// The order replica's durable Raft state in SQLite, behind raft::LogStore: the log, the term and
// vote, and the commit index, in the database file that OrderLog (order/order_log.h) writes
// today. Opening reads the hard state, the commit index and the last entry's index and term,
// never the log itself, so it takes the same time whatever the history.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <memory>
#include <string>

#include "raft/log_store.h"

namespace bazaar::order {

/// One SQLite database per replica (WAL, synchronous=FULL: what a replica acknowledges is on
/// disk). Schema versions: 2 is OrderLog's (tables meta and entries); 3 adds the indexes that
/// find an order by number and by request id without a scan. Opening a version-2 file migrates
/// it to 3 in one transaction, after checking the whole log once (no holes, order numbers in
/// sequence); the migrated file keeps every row and column, so `bazaar-order --dump` reads both
/// versions, but OrderLog refuses a version-3 file: there is no way back. Not thread-safe: the
/// replica's service thread owns it.
class SqliteLogStore final : public raft::LogStore {
 public:
  /// The schema this store writes; files of version 2 are migrated to it, others refused.
  static constexpr int kSchemaVersion = 3;

  /// Opens (creating when missing) the database at `path`. Throws common::StartupError when the
  /// file cannot be opened, is not an order database, has a version other than 2 or 3, or (a
  /// version-2 file, while migrating it) fails its consistency checks; a failed migration
  /// leaves the file as it was.
  explicit SqliteLogStore(const std::string& path);

  raft::HardState hard_state() const override { return hard_; }
  std::uint64_t commit_index() const override { return commit_; }
  std::uint64_t first_index() const override { return 1; }
  std::uint64_t last_index() const override { return last_index_; }
  /// Reads the disk for any entry but the last.
  std::optional<std::uint64_t> term(std::uint64_t index) const override;
  [[nodiscard]] raft::EntriesRead entries(std::uint64_t lo, std::uint64_t hi,
                                          std::size_t max_bytes) const override;
  /// One transaction (one sync); a write that only moves the commit index is not synced at
  /// once (see the definition). Throws SQLite::Exception on a disk error, storing nothing.
  [[nodiscard]] raft::WriteOutcome write(const raft::LogWrite& w) override;

 private:
  void create_schema();
  void migrate_from_2(const std::string& where);
  void put_meta(const char* key, std::int64_t value);

  SQLite::Database db_;
  // Prepared once (made after the schema exists): write() runs for every group commit, and
  // term() and entries() for every append a leader sends from disk.
  std::unique_ptr<SQLite::Statement> put_meta_;
  std::unique_ptr<SQLite::Statement> truncate_;
  std::unique_ptr<SQLite::Statement> append_;
  mutable std::unique_ptr<SQLite::Statement> term_;
  mutable std::unique_ptr<SQLite::Statement> range_;
  // What is on disk, kept in memory: read at open, updated after each committed write.
  raft::HardState hard_;
  std::uint64_t commit_ = 0;
  std::uint64_t last_index_ = 0;
  std::uint64_t last_term_ = 0;
  bool relaxed_ = false;  // synchronous=NORMAL is in force (see write())
};

}  // namespace bazaar::order
