#include "order/sqlite_log_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

#include "common/cli.h"
#include "common/sqlite_growth.h"

namespace bazaar::order {

namespace {

constexpr int kBusyTimeoutMs = 5000;

SQLite::Database open_db(const std::string& path) {
  try {
    // No mutex: the store has one owner thread (see raft::LogStore), so SQLite's per-call
    // locking of the connection would only cost time on every statement.
    return SQLite::Database(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs);
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("order database " + path + ": " + e.what());
  }
}

std::int64_t meta(SQLite::Database& db, const char* key, std::int64_t fallback) {
  SQLite::Statement q(db, "SELECT value FROM meta WHERE key=?");
  q.bind(1, key);
  return q.executeStep() ? q.getColumn(0).getInt64() : fallback;
}

// The columns of the entries table, the same in every schema.
constexpr const char* kColumns = "idx, term, kind, order_number, request_id, name, side, quantity";

proto::LogEntry read_entry(SQLite::Statement& q) {
  proto::LogEntry e;
  e.term = static_cast<std::uint64_t>(q.getColumn(1).getInt64());
  e.kind = static_cast<std::uint8_t>(q.getColumn(2).getInt());
  e.order_number = q.getColumn(3).getInt64();
  e.request_id = q.getColumn(4).getString();
  e.name = q.getColumn(5).getString();
  e.side = q.getColumn(6).getInt() == 1 ? proto::Side::kSell : proto::Side::kBuy;
  e.quantity = q.getColumn(7).getInt64();
  return e;
}

// Runs a statement that returns no row, and leaves it ready to run again.
void run(SQLite::Statement& s) {
  try {
    s.exec();
  } catch (...) {
    s.reset();
    throw;
  }
  s.reset();
}

// A write transaction through the store's prepared BEGIN/COMMIT/ROLLBACK (SQLite::Transaction
// compiles each of them again on every write). Rolls back when it goes out of scope uncommitted.
class WriteTransaction {
 public:
  WriteTransaction(SQLite::Statement& begin, SQLite::Statement& commit, SQLite::Statement& rollback)
      : commit_(commit), rollback_(rollback) {
    run(begin);
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction() {
    if (open_) {
      try {
        run(rollback_);
      } catch (...) {  // the connection rolls back by itself when a statement failed it
      }
    }
  }
  void commit() {
    run(commit_);
    open_ = false;
  }

 private:
  SQLite::Statement& commit_;
  SQLite::Statement& rollback_;
  bool open_ = true;
};

// Whether the order numbered `number` at `index` starts a run of order_runs: the first order
// does, and so does one whose index does not follow `previous`, the index of the order before it.
bool starts_run(std::int64_t number, std::uint64_t index, std::uint64_t previous) {
  return number == 0 || index != previous + 1;
}

// The index of the row that `q` read (kColumns).
std::uint64_t row_index(SQLite::Statement& q) {
  return static_cast<std::uint64_t>(q.getColumn(0).getInt64());
}

// Finding a request by its id (the dedupe of retries) without a scan, once the entries no longer
// all live in memory. `kind=1` is written out in the queries, not bound, so that the planner can
// use this partial index.
constexpr const char* kIndexes =
    "CREATE INDEX IF NOT EXISTS entries_by_request ON entries(request_id) WHERE kind=1";

// Schema 6: where the numbered orders are (see kSchemaVersion). first_number is UNIQUE, so both
// columns have an index: a number finds its run, and so does an index.
constexpr const char* kRunsTable =
    "CREATE TABLE order_runs(first_idx INTEGER PRIMARY KEY, first_number INTEGER NOT NULL UNIQUE)";

}  // namespace

SqliteLogStore::SqliteLogStore(const std::string& path) : db_(open_db(path)) {
  const std::string where = "order database " + path + ": ";
  try {
    db_.exec("PRAGMA journal_mode=WAL");
    // FULL: an acknowledged order (or vote) must survive power loss, not only a process crash.
    db_.exec("PRAGMA synchronous=FULL");
    common::grow_in_chunks(db_);
    const bool has_meta = db_.tableExists("meta");
    const std::int64_t version = has_meta ? meta(db_, "schema_version", -1) : -1;
    if (!has_meta) {
      if (db_.tableExists("entries")) throw common::StartupError(where + "not an order database");
      create_schema();
    } else if (version == -1) {
      throw common::StartupError(where + "not an order database (no schema version)");
    } else if (version < 2 || version > kSchemaVersion) {
      throw common::StartupError(where + "unsupported schema version " + std::to_string(version));
    } else if (version < kSchemaVersion) {
      // One step a transaction: a crash between two leaves a file of the version in between,
      // which the next open migrates on from there.
      if (version == 2) migrate_from_2(where);
      if (version <= 3) migrate_from_3();
      if (version == 4) migrate_from_4(where);
      migrate_from_5(where);
    }
    if (!db_.tableExists("entries")) throw common::StartupError(where + "not an order database");
    hard_.term = static_cast<std::uint64_t>(meta(db_, "term", 0));
    hard_.voted_for = static_cast<std::int32_t>(meta(db_, "voted_for", -1));
    commit_ = static_cast<std::uint64_t>(meta(db_, "commit_index", 0));
    // Both read one end of the primary key's B-tree: constant time, whatever the history.
    SQLite::Statement last(db_, "SELECT idx, term FROM entries ORDER BY idx DESC LIMIT 1");
    if (last.executeStep()) {
      last_index_ = static_cast<std::uint64_t>(last.getColumn(0).getInt64());
      last_term_ = static_cast<std::uint64_t>(last.getColumn(1).getInt64());
      SQLite::Statement first(db_, "SELECT idx FROM entries ORDER BY idx LIMIT 1");
      if (!first.executeStep() || first.getColumn(0).getInt64() != 1) {
        throw common::StartupError(where + "the log does not start at index 1");
      }
    }
    if (commit_ > last_index_) throw common::StartupError(where + "commit index past the log");
    config_ = static_cast<std::uint64_t>(meta(db_, "config_index", 0));
    if (config_ > commit_) {
      throw common::StartupError(where + "configuration index past the commit index");
    }
    committed_orders_ = meta(db_, "orders", 0);
    // The id is stored as SQLite's signed 64-bit integer, bit for bit.
    cluster_id_ = static_cast<std::uint64_t>(meta(db_, "cluster_id", 0));
    const std::int64_t known = meta(db_, "known_peers", 0);
    if (known < 0 || known > 0x3ff) throw common::StartupError(where + "a bad known_peers mask");
    known_peers_ = static_cast<std::uint32_t>(known);
    if (committed_orders_ < 0) throw common::StartupError(where + "a negative count of orders");
    begin_txn_ = std::make_unique<SQLite::Statement>(db_, "BEGIN");
    commit_txn_ = std::make_unique<SQLite::Statement>(db_, "COMMIT");
    rollback_txn_ = std::make_unique<SQLite::Statement>(db_, "ROLLBACK");
    put_meta_ = std::make_unique<SQLite::Statement>(
        db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
    truncate_ = std::make_unique<SQLite::Statement>(db_, "DELETE FROM entries WHERE idx >= ?");
    append_ = std::make_unique<SQLite::Statement>(
        db_, std::string("INSERT INTO entries(") + kColumns + ") VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    term_ = std::make_unique<SQLite::Statement>(db_, "SELECT term FROM entries WHERE idx=?");
    range_ = std::make_unique<SQLite::Statement>(
        db_, std::string("SELECT ") + kColumns +
                 " FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx");
    kinds_ = std::make_unique<SQLite::Statement>(
        db_, "SELECT idx, kind FROM entries WHERE idx > ? AND idx <= ? ORDER BY idx");
    put_run_ = std::make_unique<SQLite::Statement>(
        db_, "INSERT INTO order_runs(first_idx, first_number) VALUES(?, ?)");
    run_of_number_ = std::make_unique<SQLite::Statement>(
        db_,
        "SELECT first_idx, first_number FROM order_runs WHERE first_number <= ? "
        "ORDER BY first_number DESC LIMIT 1");
    run_of_index_ = std::make_unique<SQLite::Statement>(
        db_,
        "SELECT first_idx, first_number FROM order_runs WHERE first_idx <= ? "
        "ORDER BY first_idx DESC LIMIT 1");
    by_index_ = std::make_unique<SQLite::Statement>(
        db_, std::string("SELECT ") + kColumns + " FROM entries WHERE idx=?");
    // The latest of a request's entries: the index holds equal request ids in rowid order, so
    // the descending read stops at the first row.
    by_request_ = std::make_unique<SQLite::Statement>(
        db_, std::string("SELECT ") + kColumns +
                 " FROM entries WHERE request_id=? AND kind=1 ORDER BY idx DESC LIMIT 1");
    // The next order must come after the last numbered one (see number_orders()).
    if (committed_orders_ > 0) {
      const std::uint64_t at = index_of(committed_orders_ - 1);
      if (at == 0 || at > commit_ || !order_at(at)) {
        throw common::StartupError(where + std::to_string(committed_orders_) +
                                   " committed orders, but no order numbered " +
                                   std::to_string(committed_orders_ - 1));
      }
      last_numbered_ = at;
    }
  } catch (const SQLite::Exception& e) {
    throw common::StartupError(where + e.what());
  }
}

namespace {
// The entries table of schema 5 (kinds 0 noop, 1 order, 2 configuration), named `table`.
// Ranges, not lists, in the CHECK constraints: see kSchemaVersion.
std::string entries_table(const char* table) {
  return std::string("CREATE TABLE ") + table +
         "("
         "  idx INTEGER PRIMARY KEY,"
         "  term INTEGER NOT NULL,"
         "  kind INTEGER NOT NULL CHECK(kind BETWEEN 0 AND 2),"
         "  order_number INTEGER NOT NULL,"
         "  request_id TEXT NOT NULL,"
         "  name TEXT NOT NULL,"
         "  side INTEGER NOT NULL CHECK(side BETWEEN 0 AND 1),"
         "  quantity INTEGER NOT NULL)";
}
}  // namespace

void SqliteLogStore::create_schema() {
  SQLite::Transaction txn(db_);
  db_.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  db_.exec(entries_table("entries"));
  db_.exec(kIndexes);
  db_.exec(kRunsTable);
  db_.exec("INSERT INTO meta(key, value) VALUES('schema_version', " +
           std::to_string(kSchemaVersion) + "), ('orders', 0)");
  txn.commit();
}

void SqliteLogStore::migrate_from_2(const std::string& where) {
  // Version 2 was checked in full at every open (its reader loaded the whole log); from 3 on the
  // store's own writes keep it whole (raft::check_write), so the check runs once, here. One
  // transaction: a file that fails it, or a crash meanwhile, stays at version 2.
  // The orders at or below the commit index are the committed ones; their numbers already follow
  // version 3's rule (checked here), so they need no rewrite, only their count.
  SQLite::Transaction txn(db_);
  const auto commit = static_cast<std::uint64_t>(meta(db_, "commit_index", 0));
  SQLite::Statement q(db_, "SELECT idx, kind, order_number FROM entries ORDER BY idx");
  std::uint64_t expected = 1;
  std::int64_t orders = 0;
  std::int64_t committed_orders = 0;
  while (q.executeStep()) {
    const auto idx = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    if (idx != expected) {
      throw common::StartupError(where + "the log has a hole at " + std::to_string(expected));
    }
    ++expected;
    if (q.getColumn(1).getInt() == proto::LogEntry::kOrder &&
        q.getColumn(2).getInt64() != orders++) {
      throw common::StartupError(where + "order numbers out of sequence at entry " +
                                 std::to_string(idx));
    }
    if (idx <= commit) committed_orders = orders;
  }
  db_.exec(kIndexes);
  db_.exec("INSERT OR REPLACE INTO meta(key, value) VALUES('orders', " +
           std::to_string(committed_orders) + ")");
  db_.exec("UPDATE meta SET value=3 WHERE key='schema_version'");
  txn.commit();
}

void SqliteLogStore::migrate_from_3() {
  // SQLite cannot change a CHECK constraint in place: the table is copied into one that admits
  // configuration entries, once (a bulk copy in primary-key order; docs/OPERATIONS.md gives the
  // time it takes at 1,000,000 entries). One transaction: a crash meanwhile leaves version 3 as it
  // was.
  SQLite::Transaction txn(db_);
  db_.exec(entries_table("entries_new"));
  db_.exec("INSERT INTO entries_new SELECT * FROM entries ORDER BY idx");
  db_.exec("DROP TABLE entries");
  db_.exec("ALTER TABLE entries_new RENAME TO entries");
  db_.exec(kIndexes);
  db_.exec("UPDATE meta SET value=5 WHERE key='schema_version'");
  txn.commit();
}

void SqliteLogStore::migrate_from_4(const std::string& where) {
  // Schema 5 writes schema 4's CHECK constraints as ranges; every stored row meets both forms.
  // SQLite's procedure for such a change (lang_altertable.html, "Making Other Kinds Of Table
  // Schema Changes"): rewrite the declaration in sqlite_schema and bump the schema cookie, in one
  // transaction, without touching a row. The declaration it replaces must be schema 4's, as this
  // store wrote it (created so, or renamed so by migrate_from_3: then the name is quoted).
  SQLite::Transaction txn(db_);
  const std::string current = entries_table("entries");
  {
    SQLite::Statement q(db_,
                        "SELECT replace(replace(replace(sql, 'CREATE TABLE \"entries\"', "
                        "'CREATE TABLE entries'), 'kind IN (0,1,2)', 'kind BETWEEN 0 AND 2'), "
                        "'side IN (0,1)', 'side BETWEEN 0 AND 1') "
                        "FROM sqlite_schema WHERE type='table' AND name='entries'");
    if (!q.executeStep() || q.getColumn(0).getString() != current) {
      throw common::StartupError(where + "the entries table is not the one of schema 4");
    }
  }
  const int cookie = db_.execAndGet("PRAGMA schema_version").getInt();
  db_.exec("PRAGMA writable_schema=ON");
  SQLite::Statement rewrite(db_,
                            "UPDATE sqlite_schema SET sql=? WHERE type='table' AND name='entries'");
  rewrite.bind(1, current);
  rewrite.exec();
  db_.exec("PRAGMA schema_version=" + std::to_string(cookie + 1));
  db_.exec("PRAGMA writable_schema=OFF");
  db_.exec("UPDATE meta SET value=5 WHERE key='schema_version'");
  txn.commit();
}

void SqliteLogStore::migrate_from_5(const std::string& where) {
  // The first 'orders' order entries of the log are numbered 0, 1, 2, ... in index order
  // (schema 3's rule): one pass over them in primary-key order writes a run wherever one does not
  // follow the index of the one before. Linear in the log, once. One transaction: a crash
  // meanwhile leaves version 5 as it was.
  SQLite::Transaction txn(db_);
  const std::int64_t orders = meta(db_, "orders", 0);
  db_.exec(kRunsTable);
  SQLite::Statement q(db_, "SELECT idx FROM entries WHERE kind=1 AND idx<=? ORDER BY idx LIMIT ?");
  q.bind(1, static_cast<int64_t>(meta(db_, "commit_index", 0)));
  q.bind(2, static_cast<int64_t>(orders));
  SQLite::Statement put(db_, "INSERT INTO order_runs(first_idx, first_number) VALUES(?, ?)");
  std::int64_t number = 0;
  std::uint64_t previous = 0;
  while (q.executeStep()) {
    const auto idx = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
    if (starts_run(number, idx, previous)) {
      put.bind(1, static_cast<int64_t>(idx));
      put.bind(2, static_cast<int64_t>(number));
      run(put);
    }
    previous = idx;
    ++number;
  }
  if (number != orders) {
    throw common::StartupError(where + std::to_string(orders) + " committed orders, but " +
                               std::to_string(number) +
                               " order entries at or below the commit index");
  }
  db_.exec("DROP INDEX IF EXISTS entries_by_order");
  db_.exec("UPDATE meta SET value=6 WHERE key='schema_version'");
  txn.commit();
}

void SqliteLogStore::write_identity(std::uint64_t cluster_id, std::uint32_t known_peers) {
  release_snapshot();
  if (relaxed_) {
    db_.exec("PRAGMA synchronous=FULL");
    relaxed_ = false;
  }
  WriteTransaction txn(*begin_txn_, *commit_txn_, *rollback_txn_);
  put_meta("cluster_id", static_cast<std::int64_t>(cluster_id));
  put_meta("known_peers", known_peers);
  txn.commit();
  cluster_id_ = cluster_id;
  known_peers_ = known_peers;
}

void SqliteLogStore::put_meta(const char* key, std::int64_t value) {
  put_meta_->bind(1, key);
  put_meta_->bind(2, static_cast<int64_t>(value));
  put_meta_->exec();
  put_meta_->reset();
}

std::optional<std::uint64_t> SqliteLogStore::term(std::uint64_t index) const {
  if (index == 0) return 0;
  if (index > last_index_) return std::nullopt;
  if (index == last_index_) return last_term_;
  hold_snapshot();
  term_->bind(1, static_cast<int64_t>(index));
  std::optional<std::uint64_t> t;
  if (term_->executeStep()) t = static_cast<std::uint64_t>(term_->getColumn(0).getInt64());
  term_->reset();
  if (!t) throw std::runtime_error("order database: no entry " + std::to_string(index));
  return t;
}

raft::EntriesRead SqliteLogStore::entries(std::uint64_t lo, std::uint64_t hi,
                                          std::size_t max_bytes) const {
  raft::EntriesRead out;
  if (lo < first_index()) {
    out.outcome = raft::ReadOutcome::kCompacted;
    return out;
  }
  if (lo > hi || hi > last_index_ + 1) {
    out.outcome = raft::ReadOutcome::kUnavailable;
    return out;
  }
  if (lo == hi) return out;
  hold_snapshot();
  range_->bind(1, static_cast<int64_t>(lo));
  range_->bind(2, static_cast<int64_t>(hi));
  std::size_t bytes = 0;
  std::uint64_t expected = lo;
  try {
    while (range_->executeStep()) {
      if (static_cast<std::uint64_t>(range_->getColumn(0).getInt64()) != expected++) {
        throw std::runtime_error("order database: the log has a hole at " +
                                 std::to_string(expected - 1));
      }
      proto::LogEntry e = read_entry(*range_);
      bytes += raft::entry_bytes(e);
      if (bytes > max_bytes && !out.entries.empty()) break;
      out.entries.push_back(std::move(e));
    }
  } catch (...) {
    range_->reset();
    throw;
  }
  range_->reset();
  if (out.entries.empty())
    throw std::runtime_error("order database: no entry " + std::to_string(lo));
  return out;
}

void SqliteLogStore::check_applied(const raft::LogWrite& w,
                                   const std::vector<AppliedOrder>& applied) const {
  const std::uint64_t commit = w.commit_index.value_or(commit_);
  std::uint64_t after = last_numbered_;
  for (std::size_t k = 0; k < applied.size(); ++k) {
    const AppliedOrder& a = applied[k];
    const std::string what = "order database: applied order at " + std::to_string(a.index) + " ";
    if (a.number != committed_orders_ + static_cast<std::int64_t>(k)) {
      throw std::logic_error(what + "numbered " + std::to_string(a.number) + ", expected " +
                             std::to_string(committed_orders_ + static_cast<std::int64_t>(k)));
    }
    if (a.index <= after) {
      throw std::logic_error(what +
                             (k == 0 ? "not after the last numbered order, at "
                                     : "not after the applied order before it, at ") +
                             std::to_string(after));
    }
    if (a.index > commit) {
      throw std::logic_error(what + "past the commit index " + std::to_string(commit));
    }
    // Entries of this write are checked here; the stored ones by number_orders(), which reads their
    // kinds.
    if (!w.entries.empty() && a.index >= w.first_index &&
        a.index - w.first_index < w.entries.size() &&
        w.entries[a.index - w.first_index].kind != proto::LogEntry::kOrder) {
      throw std::logic_error(what + "not an order entry");
    }
    after = a.index;
  }
}

void SqliteLogStore::number_orders(const std::vector<AppliedOrder>& applied) {
  // The entries after the last numbered order up to the last applied one (those that committed
  // since the last write, about; this write's are stored already): each order entry among them
  // must be the next applied one, or the numbers would stop counting the committed orders before
  // them, and each applied one must be an order entry. One range of the primary key.
  auto next = applied.begin();
  kinds_->bind(1, static_cast<int64_t>(last_numbered_));
  kinds_->bind(2, static_cast<int64_t>(applied.back().index));
  std::optional<std::string> broken;
  try {
    while (!broken && kinds_->executeStep()) {
      const auto idx = static_cast<std::uint64_t>(kinds_->getColumn(0).getInt64());
      const bool order = kinds_->getColumn(1).getInt() == proto::LogEntry::kOrder;
      const bool named = next != applied.end() && next->index == idx;
      if (order && !named) {
        broken = "order entry at " + std::to_string(idx) + " left out of the applied orders";
      } else if (!order && named) {
        broken = "applied order at " + std::to_string(idx) + " is not an order entry";
      } else if (named) {
        ++next;
      }
    }
  } catch (...) {
    kinds_->reset();
    throw;
  }
  kinds_->reset();
  if (!broken && next != applied.end()) {
    broken = "applied order at " + std::to_string(next->index) + " is not in the log";
  }
  if (broken) throw std::logic_error("order database: " + *broken);
  std::uint64_t previous = last_numbered_;
  for (const AppliedOrder& a : applied) {
    if (starts_run(a.number, a.index, previous)) {
      put_run_->bind(1, static_cast<int64_t>(a.index));
      put_run_->bind(2, static_cast<int64_t>(a.number));
      run(*put_run_);
    }
    previous = a.index;
  }
  put_meta("orders", committed_orders_ + static_cast<std::int64_t>(applied.size()));
}

raft::WriteOutcome SqliteLogStore::write(const raft::LogWrite& w,
                                         const std::vector<AppliedOrder>& applied) {
  const raft::WriteOutcome check = raft::check_write(*this, w);
  if (check != raft::WriteOutcome::kWritten) return check;
  check_applied(w, applied);
  if (w.empty() && applied.empty()) return check;
  // A write that stores no entry and no hard state need not reach the platter now: the commit
  // index is a lower bound a restart may find a little behind (Raft keeps it in memory only),
  // and the order numbers follow from the log, so a restart that lost them numbers the same
  // entries the same way again. The next synced transaction carries both to disk. Everything
  // else is synced before it is acted on.
  const bool commit_only = !w.hard_state && !w.truncate_from && w.entries.empty();
  release_snapshot();
  if (commit_only != relaxed_) {
    // Not prepared: SQLite applies a pragma while compiling it, so a prepared one is compiled
    // again whenever it runs.
    db_.exec(commit_only ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
    relaxed_ = commit_only;
  }
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t last = last_index_;
  std::uint64_t last_term = last_term_;
  // Rolls back when it goes out of scope uncommitted (a throw): the members below change only
  // after the commit, so a refused or failed write leaves the store as it was.
  WriteTransaction txn(*begin_txn_, *commit_txn_, *rollback_txn_);
  if (w.hard_state) {
    put_meta("term", static_cast<std::int64_t>(w.hard_state->term));
    put_meta("voted_for", w.hard_state->voted_for);
  }
  // Entries that overlap the log cut its tail, as a truncation does (check_write: not below the
  // commit index). Deleting at the end of the primary key costs one B-tree seek.
  std::optional<std::uint64_t> cut = w.truncate_from;
  if (!w.entries.empty() && w.first_index <= last) {
    cut = cut ? std::min(*cut, w.first_index) : w.first_index;
  }
  if (cut && *cut <= last) {
    truncate_->bind(1, static_cast<int64_t>(*cut));
    truncate_->exec();
    truncate_->reset();
    last = *cut - 1;
    last_term = last == 0 ? 0 : term(last).value_or(0);
  }
  for (std::size_t k = 0; k < w.entries.size(); ++k) {
    const auto& e = w.entries[k];
    append_->bind(1, static_cast<int64_t>(w.first_index + k));
    append_->bind(2, static_cast<int64_t>(e.term));
    append_->bind(3, static_cast<int>(e.kind));
    append_->bind(4, static_cast<int64_t>(e.order_number));
    // Not copied: `e` outlives the statement's use of them (exec and reset below).
    append_->bindNoCopy(5, e.request_id);
    append_->bindNoCopy(6, e.name);
    append_->bind(7, static_cast<int>(e.side));
    append_->bind(8, static_cast<int64_t>(e.quantity));
    append_->exec();
    append_->reset();
  }
  if (!w.entries.empty()) {
    last = w.first_index + w.entries.size() - 1;
    last_term = w.entries.back().term;
  }
  if (w.commit_index) put_meta("commit_index", static_cast<std::int64_t>(*w.commit_index));
  if (w.config_index) put_meta("config_index", static_cast<std::int64_t>(*w.config_index));
  if (!applied.empty()) number_orders(applied);
  txn.commit();
  if (w.hard_state) hard_ = *w.hard_state;
  if (w.commit_index) commit_ = *w.commit_index;
  if (w.config_index) config_ = *w.config_index;
  last_index_ = last;
  last_term_ = last_term;
  if (!applied.empty()) {
    committed_orders_ += static_cast<std::int64_t>(applied.size());
    last_numbered_ = applied.back().index;
  }
  if (observer_) observer_(std::chrono::steady_clock::now() - started);
  return raft::WriteOutcome::kWritten;
}

std::uint64_t SqliteLogStore::index_of(std::int64_t number) const {
  hold_snapshot();
  run_of_number_->bind(1, static_cast<int64_t>(number));
  std::uint64_t index = 0;
  if (run_of_number_->executeStep()) {
    index = static_cast<std::uint64_t>(run_of_number_->getColumn(0).getInt64()) +
            static_cast<std::uint64_t>(number - run_of_number_->getColumn(1).getInt64());
  }
  run_of_number_->reset();
  return index;
}

std::int64_t SqliteLogStore::number_at(std::uint64_t index) const {
  hold_snapshot();
  run_of_index_->bind(1, static_cast<int64_t>(index));
  std::int64_t number = -1;
  if (run_of_index_->executeStep()) {
    number = run_of_index_->getColumn(1).getInt64() +
             static_cast<std::int64_t>(
                 index - static_cast<std::uint64_t>(run_of_index_->getColumn(0).getInt64()));
  }
  run_of_index_->reset();
  return number;
}

std::optional<proto::LogEntry> SqliteLogStore::order_at(std::uint64_t index) const {
  hold_snapshot();
  by_index_->bind(1, static_cast<int64_t>(index));
  std::optional<proto::LogEntry> e;
  try {
    if (by_index_->executeStep()) e = read_entry(*by_index_);
  } catch (...) {
    by_index_->reset();
    throw;
  }
  by_index_->reset();
  if (e && e->kind != proto::LogEntry::kOrder) e.reset();
  return e;
}

std::optional<proto::LogEntry> SqliteLogStore::committed_order(std::int64_t number) const {
  if (number < 0 || number >= committed_orders_) return std::nullopt;
  const std::uint64_t index = index_of(number);
  std::optional<proto::LogEntry> e;
  if (index != 0 && index <= last_numbered_) e = order_at(index);
  // The runs say where every number below committed_orders() is: a miss is a damaged file.
  if (!e) {
    throw std::runtime_error("order database: order " + std::to_string(number) +
                             " is not where the order runs place it (index " +
                             std::to_string(index) + ")");
  }
  e->order_number = number;
  return e;
}

std::int64_t SqliteLogStore::order_number_at(std::uint64_t index) const {
  if (index == 0 || index > last_numbered_ || !order_at(index)) return -1;
  return number_at(index);
}

std::optional<RequestEntry> SqliteLogStore::find_request(const std::string& request_id) const {
  hold_snapshot();
  by_request_->bind(1, request_id);
  std::optional<RequestEntry> r;
  try {
    if (by_request_->executeStep()) {
      r = RequestEntry{row_index(*by_request_), read_entry(*by_request_)};
    }
  } catch (...) {
    by_request_->reset();
    throw;
  }
  by_request_->reset();
  if (r) r->entry.order_number = r->index <= last_numbered_ ? number_at(r->index) : -1;
  return r;
}

SqliteLogStore::~SqliteLogStore() {
  try {
    release_snapshot();
  } catch (...) {  // closing the connection ends the read transaction all the same
  }
}

void SqliteLogStore::hold_snapshot() const {
  // A read outside a transaction opens and closes one of its own, and in WAL mode each open
  // takes and each close drops a lock on the shared-memory index (fcntl calls): most of the cost
  // of a dedupe lookup. So reads share one transaction, open until the next write.
  if (sqlite3_get_autocommit(db_.getHandle()) != 0) run(*begin_txn_);
}

void SqliteLogStore::release_snapshot() {
  if (sqlite3_get_autocommit(db_.getHandle()) == 0) run(*commit_txn_);
}

void SqliteLogStore::dump(const std::string& path,
                          const std::function<void(const std::string&)>& line) {
  const std::string where = "order database " + path + ": ";
  // Read-only would fail on a missing file too, but with SQLite's vaguer message.
  if (!std::filesystem::exists(path)) throw common::StartupError(where + "no such file");
  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    if (!db.tableExists("meta") || !db.tableExists("entries")) {
      throw common::StartupError(where + "not an order database");
    }
    const std::int64_t version = meta(db, "schema_version", -1);
    if (version < 2 || version > kSchemaVersion) {
      throw common::StartupError(where + "unsupported schema version " + std::to_string(version));
    }
    // Version 2 numbers every order and commits them in index order: the committed orders are
    // those at or below the commit index. Version 3 numbers them as they are applied, which may
    // lag the commit index: the committed orders are the first 'orders' of them.
    const std::int64_t limit = version == 2 ? -1 : meta(db, "orders", 0);
    SQLite::Statement q(db, std::string("SELECT ") + kColumns +
                                " FROM entries WHERE kind=1 AND idx<=? ORDER BY idx LIMIT ?");
    q.bind(1, static_cast<int64_t>(meta(db, "commit_index", 0)));
    q.bind(2, static_cast<int64_t>(limit));
    // Every version numbers the committed orders 0, 1, 2, ... in index order (schema 2 at propose
    // time, checked by its migration; the others as they commit), so the count is the number.
    std::int64_t number = 0;
    while (q.executeStep()) {
      const proto::LogEntry e = read_entry(q);
      line(std::to_string(number++) + " " + e.name + " " + proto::to_string(e.side) + " " +
           std::to_string(e.quantity));
    }
  } catch (const SQLite::Exception& e) {
    throw common::StartupError(where + e.what());
  }
}

}  // namespace bazaar::order
