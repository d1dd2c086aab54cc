// The order replica's durable Raft state in SQLite, behind raft::LogStore: the log, the term and
// vote, the commit index, and where the committed orders are, in one database file.
// Opening reads the hard state, the commit index, the count of committed orders, the index of the
// last numbered order and the last entry's index and term, never the log itself, so it takes the
// same time whatever the history.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/log_store.h"

namespace bazaar::order {

/// An order the replica numbered as its entry committed.
struct AppliedOrder {
  /// Log index of a kOrder entry, at or below the commit index after the write.
  std::uint64_t index = 0;
  /// committed_orders() before it: numbers go up by one, in index order.
  std::int64_t number = 0;
};

/// A request id's entry in the log (committed or not).
struct RequestEntry {
  std::uint64_t index = 0;
  /// entry.order_number is its number once it is numbered (applied by a write), -1 before.
  proto::LogEntry entry;
};

/// One SQLite database per replica (WAL, synchronous=FULL: what a replica acknowledges is on
/// disk). Not thread-safe: the replica's service thread owns it.
///
/// Schema versions (the current one last). 2, the first: tables meta (schema_version, term,
/// voted_for, commit_index)
/// and entries (one row per log index), every order entry carrying the number its leader gave it
/// at propose time. 3 keeps both tables and every column, and holds:
///  - the indexes entries_by_order and entries_by_request, which find an order by number and a
///    request by id without a scan;
///  - meta 'orders', the count of committed orders (the next order number);
///  - order numbers written as entries commit: an order entry is appended with the number it
///    carries (-1: the core does not number orders), and its row gets its number,
///    committed_orders() before it, in the same transaction as the commit index that committed
///    it (write(w, applied)). So the first committed_orders() order entries are numbered 0, 1,
///    2, ... in index order; any other entry's number means nothing (past the commit index, or
///    committed by a write that did not apply it yet).
/// 4 admits configuration entries (kind 2; docs/REPLICATION.md "Membership") in entries, and
/// holds meta 'config_index', the latest committed one (absent: none has committed, the
/// replica starts from the configuration of its --peers). Version 4 files written since may
/// also hold meta 'cluster_id' and 'known_peers' (absent: 0); older code ignores them.
/// 5 states the same CHECK constraints of entries as ranges (`kind BETWEEN 0 AND 2`) rather than
/// lists (`kind IN (0,1,2)`): SQLite evaluates a list by building a temporary B-tree for every
/// row it inserts (docs/PERFORMANCE.md, "Cheaper inserts: schema 5"). The rows and their format are
/// the same.
/// 6 keeps the numbering rule of 3 and stores where the numbered orders are as runs rather than a
/// number in each row: table order_runs (first_idx, first_number), one row for the first order
/// and one for each order whose index does not follow the one before it (a no-op or a
/// configuration entry between them: a few a term). Order first_number + k is at first_idx + k,
/// up to the next run. Numbering a commit then writes the count of orders and, rarely, a run,
/// not an UPDATE of every row with an index entry moved (docs/PERFORMANCE.md, "Order runs:
/// schema 6"). The index entries_by_order is gone; the column order_number keeps what the
/// leader sent (-1 from schema 3 on), and is not read.
/// Opening an older file migrates it step by step, one transaction a step: a version-2 file to
/// 3 after checking the whole log once (no holes, order numbers in sequence: version 2's numbers
/// follow version 3's rule) and counting the orders at or below its commit index; a version-3
/// file to 5 by copying its entries into the current table; a version-4 file to 5 by rewriting
/// the table's declaration in place (constant time: SQLite's documented procedure for changing a
/// CHECK constraint that every stored row meets); a version-5 file to 6 by one pass over its
/// committed orders, writing their runs. There is no way back (a newer log may hold entries
/// that an older version refuses), but dump() reads every version.
class SqliteLogStore final : public raft::LogStore {
 public:
  /// The schema this store writes; files of versions 2 to 5 are migrated to it, others refused.
  static constexpr int kSchemaVersion = 6;

  /// Opens (creating when missing) the database at `path`. Throws common::StartupError when the
  /// file cannot be opened, is not an order database, has a version other than 2 to 6, or (while
  /// migrating it) fails its consistency checks; a failed step of a migration leaves the file as
  /// the step before left it.
  explicit SqliteLogStore(const std::string& path);
  ~SqliteLogStore() override;
  SqliteLogStore(const SqliteLogStore&) = delete;
  SqliteLogStore& operator=(const SqliteLogStore&) = delete;

  raft::HardState hard_state() const override { return hard_; }
  std::uint64_t commit_index() const override { return commit_; }
  /// Kept as meta 'config_index' (absent: 0), written with the commit index that put it in force.
  std::uint64_t config_index() const override { return config_; }
  std::uint64_t first_index() const override { return 1; }
  std::uint64_t last_index() const override { return last_index_; }
  /// Reads the disk for any entry but the last.
  std::optional<std::uint64_t> term(std::uint64_t index) const override;
  [[nodiscard]] raft::EntriesRead entries(std::uint64_t lo, std::uint64_t hi,
                                          std::size_t max_bytes) const override;
  /// write(w, {}): the core's writes number nothing.
  [[nodiscard]] raft::WriteOutcome write(const raft::LogWrite& w) override { return write(w, {}); }

  /// As write(w), and in the same transaction numbers the applied entries (the count of committed
  /// orders, and a run when one starts). Checks `w` first (a refused write returns its outcome
  /// and stores nothing). Throws std::logic_error (storing nothing) when `applied` breaks its
  /// rules: numbers not consecutive from committed_orders(), indexes not ascending, an index past
  /// the commit index after the write, not an order entry, or an order entry left out (every
  /// order entry between the last numbered one and the last of `applied` must be in it). One
  /// transaction (one sync); a write that stores no entry and no hard state is not synced at
  /// once (see the definition). Throws SQLite::Exception on a disk error, storing nothing.
  [[nodiscard]] raft::WriteOutcome write(const raft::LogWrite& w,
                                         const std::vector<AppliedOrder>& applied);

  /// Orders whose entries committed and were applied (the next order number). Read at open:
  /// constant time.
  std::int64_t committed_orders() const { return committed_orders_; }
  /// The committed order numbered `number`, or nullopt (not committed/applied, or out of
  /// range). Two indexed reads (its run, its entry); throws std::runtime_error when the entry is
  /// not where the runs place it (a damaged file).
  std::optional<proto::LogEntry> committed_order(std::int64_t number) const;
  /// The number of the order at `index`, or -1 (not an order entry, or not numbered yet).
  std::int64_t order_number_at(std::uint64_t index) const;
  /// The latest order entry (kind kOrder) with this request id, committed or not, or nullopt.
  /// One indexed read, and one more for the number of a numbered one.
  std::optional<RequestEntry> find_request(const std::string& request_id) const;

  /// The cluster this replica belongs to (meta 'cluster_id'; 0: none recorded, an empty
  /// database or one written before identities existed) and the peers it has had Raft messages
  /// from (meta 'known_peers': bit k for replica k). See order/cluster_identity.h.
  std::uint64_t cluster_id() const { return cluster_id_; }
  std::uint32_t known_peers() const { return known_peers_; }
  /// Records both, synced, in a transaction of its own: the one write not made by write(), rare
  /// (when the identity is first learnt, and at most once per peer). Call between writes.
  void write_identity(std::uint64_t cluster_id, std::uint32_t known_peers);
  /// No hard state, no entry and no cluster id: a replica that never ran, or lost its disk.
  bool empty() const { return cluster_id_ == 0 && hard_.term == 0 && last_index_ == 0; }

  /// Called after every write that reached the disk with the time it took (the replica's sync
  /// histogram); none by default.
  using WriteObserver = std::function<void(std::chrono::steady_clock::duration)>;
  void set_write_observer(WriteObserver observer) { observer_ = std::move(observer); }

  /// Prints every committed order, ascending, as "<number> <name> <type> <quantity>" lines
  /// through `line`. Opens `path` read-only (a file of any version, not migrating it);
  /// throws common::StartupError when it cannot (missing file, not an order database).
  static void dump(const std::string& path, const std::function<void(const std::string&)>& line);

 private:
  void create_schema();
  void migrate_from_2(const std::string& where);
  void migrate_from_3();
  void migrate_from_4(const std::string& where);
  void migrate_from_5(const std::string& where);
  void put_meta(const char* key, std::int64_t value);
  /// Reads run inside one read transaction (a snapshot), opened by the first read after a write
  /// and ended by the next write (release_snapshot()): the only writer is this store, so the
  /// snapshot is always the latest state. Other connections (dump(), a reader of a live file)
  /// are not held up by it: in WAL mode readers do not block each other or a writer.
  void hold_snapshot() const;
  void release_snapshot();
  /// Throws std::logic_error when `applied` breaks a rule that can be checked before writing.
  void check_applied(const raft::LogWrite& w, const std::vector<AppliedOrder>& applied) const;
  /// Numbers the `applied` entries inside the caller's transaction, after its entries are
  /// stored; throws std::logic_error (the caller's transaction then rolls back) on a rule only
  /// the stored log can show broken.
  void number_orders(const std::vector<AppliedOrder>& applied);
  /// Where the runs place order `number` (0: before the first run), and the number the runs give
  /// the order at `index` (-1: before the first run). Neither checks the entry itself.
  std::uint64_t index_of(std::int64_t number) const;
  std::int64_t number_at(std::uint64_t index) const;
  /// The entry at `index` when it is an order entry, else nullopt.
  std::optional<proto::LogEntry> order_at(std::uint64_t index) const;

  SQLite::Database db_;
  WriteObserver observer_;
  // Prepared once (made after the schema exists): write() runs for every group commit, term()
  // and entries() for every append a leader sends from disk, committed_order() and
  // find_request() for every read and every placement.
  std::unique_ptr<SQLite::Statement> begin_txn_;
  std::unique_ptr<SQLite::Statement> commit_txn_;
  std::unique_ptr<SQLite::Statement> rollback_txn_;
  std::unique_ptr<SQLite::Statement> put_meta_;
  std::unique_ptr<SQLite::Statement> truncate_;
  std::unique_ptr<SQLite::Statement> append_;
  std::unique_ptr<SQLite::Statement> kinds_;
  std::unique_ptr<SQLite::Statement> put_run_;
  mutable std::unique_ptr<SQLite::Statement> term_;
  mutable std::unique_ptr<SQLite::Statement> range_;
  mutable std::unique_ptr<SQLite::Statement> run_of_number_;
  mutable std::unique_ptr<SQLite::Statement> run_of_index_;
  mutable std::unique_ptr<SQLite::Statement> by_index_;
  mutable std::unique_ptr<SQLite::Statement> by_request_;
  // What is on disk, kept in memory: read at open, updated after each committed write.
  raft::HardState hard_;
  std::uint64_t commit_ = 0;
  std::uint64_t config_ = 0;
  std::uint64_t cluster_id_ = 0;
  std::uint32_t known_peers_ = 0;
  std::uint64_t last_index_ = 0;
  std::uint64_t last_term_ = 0;
  std::int64_t committed_orders_ = 0;
  std::uint64_t last_numbered_ = 0;  // index of the order numbered committed_orders_ - 1, or 0
  bool relaxed_ = false;             // synchronous=NORMAL is in force (see write())
};

}  // namespace bazaar::order
