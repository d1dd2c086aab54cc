#include "order/order_log.h"

#include <filesystem>

#include "common/cli.h"
#include "common/sqlite_growth.h"

namespace bazaar::order {

namespace {

constexpr int kSchemaVersion = 2;
constexpr int kBusyTimeoutMs = 5000;

SQLite::Database open_db(const std::string& path, int flags) {
  try {
    return SQLite::Database(path, flags, kBusyTimeoutMs);
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("order database " + path + ": " + e.what());
  }
}

std::int64_t meta(SQLite::Database& db, const char* key, std::int64_t fallback) {
  SQLite::Statement q(db, "SELECT value FROM meta WHERE key=?");
  q.bind(1, key);
  return q.executeStep() ? q.getColumn(0).getInt64() : fallback;
}

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

constexpr const char* kSelectEntries =
    "SELECT idx, term, kind, order_number, request_id, name, side, quantity FROM entries";

}  // namespace

OrderLog::OrderLog(const std::string& path)
    : db_(open_db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE)) {
  const std::string where = "order database " + path + ": ";
  try {
    db_.exec("PRAGMA journal_mode=WAL");
    // FULL: an acknowledged order (or vote) must survive power loss, not only a process crash.
    db_.exec("PRAGMA synchronous=FULL");
    common::grow_in_chunks(db_);
    db_.exec(
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS entries("
        "  idx INTEGER PRIMARY KEY,"
        "  term INTEGER NOT NULL,"
        "  kind INTEGER NOT NULL CHECK(kind IN (0,1)),"
        "  order_number INTEGER NOT NULL,"
        "  request_id TEXT NOT NULL,"
        "  name TEXT NOT NULL,"
        "  side INTEGER NOT NULL CHECK(side IN (0,1)),"
        "  quantity INTEGER NOT NULL)");
    put_meta_ = std::make_unique<SQLite::Statement>(
        db_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
    const std::int64_t version = meta(db_, "schema_version", -1);
    if (version == -1) {
      put_meta("schema_version", kSchemaVersion);
    } else if (version != kSchemaVersion) {
      throw common::StartupError(where + "unsupported schema version " + std::to_string(version));
    }
    hard_.term = static_cast<std::uint64_t>(meta(db_, "term", 0));
    hard_.voted_for = static_cast<std::int32_t>(meta(db_, "voted_for", -1));
    commit_ = static_cast<std::uint64_t>(meta(db_, "commit_index", 0));
    SQLite::Statement q(db_, std::string(kSelectEntries) + " ORDER BY idx");
    std::int64_t orders = 0;
    while (q.executeStep()) {
      const auto idx = static_cast<std::uint64_t>(q.getColumn(0).getInt64());
      if (idx != entries_.size() + 1)
        throw common::StartupError(where + "the log has a hole at " +
                                   std::to_string(entries_.size() + 1));
      entries_.push_back(read_entry(q));
      const auto& e = entries_.back();
      if (e.kind == proto::LogEntry::kOrder && e.order_number != orders++) {
        throw common::StartupError(where + "order numbers out of sequence at entry " +
                                   std::to_string(idx));
      }
    }
    if (commit_ > entries_.size()) throw common::StartupError(where + "commit index past the log");
    truncate_ = std::make_unique<SQLite::Statement>(db_, "DELETE FROM entries WHERE idx >= ?");
    append_ = std::make_unique<SQLite::Statement>(
        db_,
        "INSERT OR REPLACE INTO entries(idx, term, kind, order_number, request_id, "
        "name, side, quantity) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  } catch (const SQLite::Exception& e) {
    throw common::StartupError(where + e.what());
  }
}

void OrderLog::put_meta(const char* key, std::int64_t value) {
  put_meta_->bind(1, key);
  put_meta_->bind(2, static_cast<int64_t>(value));
  put_meta_->exec();
  put_meta_->reset();
}

void OrderLog::persist(const raft::Ready& ready) {
  if (!ready.hard_state && !ready.truncate_from && ready.entries.empty() && !ready.commit_changed) {
    return;
  }
  // A Ready that only moves the commit index need not reach the platter now: the index is a
  // lower bound a restart may find a little behind (Raft keeps it in memory only), and the next
  // synced transaction carries it to disk. Everything else is synced before it is acted on.
  const bool commit_only = !ready.hard_state && !ready.truncate_from && ready.entries.empty();
  if (commit_only != relaxed_) {
    db_.exec(commit_only ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
    relaxed_ = commit_only;
  }
  SQLite::Transaction txn(db_);
  if (ready.hard_state) {
    put_meta("term", static_cast<std::int64_t>(ready.hard_state->term));
    put_meta("voted_for", ready.hard_state->voted_for);
  }
  if (ready.truncate_from) {
    truncate_->bind(1, static_cast<int64_t>(*ready.truncate_from));
    truncate_->exec();
    truncate_->reset();
  }
  for (std::size_t k = 0; k < ready.entries.size(); ++k) {
    const auto& e = ready.entries[k];
    append_->bind(1, static_cast<int64_t>(ready.first_index + k));
    append_->bind(2, static_cast<int64_t>(e.term));
    append_->bind(3, static_cast<int>(e.kind));
    append_->bind(4, static_cast<int64_t>(e.order_number));
    append_->bind(5, e.request_id);
    append_->bind(6, e.name);
    append_->bind(7, static_cast<int>(e.side));
    append_->bind(8, static_cast<int64_t>(e.quantity));
    append_->exec();
    append_->reset();
  }
  if (ready.commit_changed) put_meta("commit_index", static_cast<std::int64_t>(ready.commit_index));
  txn.commit();
}

void OrderLog::dump(const std::string& path, const std::function<void(const std::string&)>& line) {
  if (!std::filesystem::exists(path)) {
    throw common::StartupError("order database " + path + ": no such file");
  }
  SQLite::Database db = open_db(path, SQLite::OPEN_READONLY);
  try {
    const std::int64_t commit = meta(db, "commit_index", 0);
    SQLite::Statement q(db, std::string(kSelectEntries) + " WHERE kind=1 AND idx<=? ORDER BY idx");
    q.bind(1, static_cast<int64_t>(commit));
    while (q.executeStep()) {
      const proto::LogEntry e = read_entry(q);
      line(std::to_string(e.order_number) + " " + e.name + " " + proto::to_string(e.side) + " " +
           std::to_string(e.quantity));
    }
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("order database " + path + ": " + e.what());
  }
}

}  // namespace bazaar::order
