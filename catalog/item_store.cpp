#include "catalog/item_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>

#include "common/cli.h"
#include "common/sqlite_growth.h"

namespace bazaar::catalog {

namespace {

// Bump when the schema changes, and teach open_schema() to migrate the old one.
constexpr const char* kSchemaVersion = "2";

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE items (
  id          INTEGER PRIMARY KEY,              -- seed order
  name        TEXT    NOT NULL UNIQUE,
  price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
  quantity    INTEGER NOT NULL CHECK (quantity >= 0),
  volume      INTEGER NOT NULL DEFAULT 0 CHECK (volume >= 0),
  version     INTEGER NOT NULL DEFAULT 1
);
-- One row per request id ever applied, refused buys included, so a repeat gets the same answer.
-- An applied trade stays unconfirmed until the order leader reports its order committed; a new
-- leader reconciles the unconfirmed ones of older terms (docs/REPLICATION.md, G2).
CREATE TABLE applied_trades (
  request_id     TEXT    PRIMARY KEY,
  name           TEXT    NOT NULL,
  side           INTEGER NOT NULL,   -- proto::Side
  quantity       INTEGER NOT NULL,
  status         INTEGER NOT NULL,   -- proto::Status: kOk or kInsufficient
  version_after  INTEGER NOT NULL,
  quantity_after INTEGER NOT NULL,
  volume_after   INTEGER NOT NULL,
  at_ms          INTEGER NOT NULL,   -- Unix time, milliseconds
  term           INTEGER NOT NULL DEFAULT 0,  -- the order leader's term that applied it
  confirmed      INTEGER NOT NULL DEFAULT 1   -- 0 while its order is not known committed
) WITHOUT ROWID;
CREATE TABLE restocks (
  id     INTEGER PRIMARY KEY,
  item   TEXT    NOT NULL,
  amount INTEGER NOT NULL,
  at_ms  INTEGER NOT NULL
);
)sql";

// Schema 1 -> 2: trades gained the leader's term and a confirmation flag. Trades applied under
// schema 1 count as confirmed: their orders were committed or answered long ago.
constexpr const char* kMigrateFrom1 = R"sql(
ALTER TABLE applied_trades ADD COLUMN term INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applied_trades ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1;
)sql";

// Trade batches an order leader gave up waiting for and then abandoned (ResolveRequest): when
// one arrives late, its trades are refused. Only the fence's term and newer matter (older terms
// are refused anyway), so reconcile() drops the rest. Created with either schema, and harmless to
// an older catalog binary, which never reads it: an addition, not a new schema version.
constexpr const char* kAbandonedTable =
    "CREATE TABLE IF NOT EXISTS abandoned_batches ("
    "term INTEGER NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (term, batch)) WITHOUT ROWID";

// Created with either schema: the reconciliation scan reads only unconfirmed trades.
constexpr const char* kUnconfirmedIndex =
    "CREATE INDEX IF NOT EXISTS unconfirmed_trades ON applied_trades (request_id) "
    "WHERE confirmed = 0";

constexpr const char* kItemColumns = "name, price_cents, quantity, version, volume";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads the kItemColumns of the current row, starting at column `first`.
proto::Item read_item(const SQLite::Statement& s, int first = 0) {
  proto::Item item;
  item.name = s.getColumn(first).getString();
  item.price_cents = s.getColumn(first + 1).getInt64();
  item.quantity = s.getColumn(first + 2).getInt64();
  item.version = static_cast<std::uint64_t>(s.getColumn(first + 3).getInt64());
  item.volume = s.getColumn(first + 4).getInt64();
  return item;
}

// Reads a trade (request_id, name, side, quantity) from the current row's first four columns.
proto::TradeRequest read_trade(const SQLite::Statement& s) {
  proto::TradeRequest t;
  t.request_id = s.getColumn(0).getString();
  t.name = s.getColumn(1).getString();
  t.side = static_cast<proto::Side>(s.getColumn(2).getInt());
  t.quantity = s.getColumn(3).getInt64();
  return t;
}

// Resets a cached statement when it goes out of scope, whatever happened: a statement left
// mid-way would pin an old read snapshot of the WAL and keep the next read from seeing changes.
class ResetOnExit {
 public:
  explicit ResetOnExit(SQLite::Statement& s) : s_(s) {}
  ~ResetOnExit() { s_.tryReset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  SQLite::Statement& s_;
};

// One write lock per database file for the whole process. The catalog's workers each have their
// own connection; left to SQLite, a writer that finds the file locked polls with sleeps of 1, 2,
// 5, 10 ... ms (its busy handler), which under load put tens of milliseconds on trades. Queued on
// a mutex, the next writer starts the moment the last one commits. SQLite's lock (and the busy
// timeout) still guards against other processes.
std::mutex& write_lock_for(const std::string& path) {
  static std::mutex registry_lock;
  static std::map<std::string, std::unique_ptr<std::mutex>> locks;  // guarded by registry_lock
  std::error_code ec;
  std::string key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) key = path;
  std::lock_guard<std::mutex> guard(registry_lock);
  auto& lock = locks[key];
  if (!lock) lock = std::make_unique<std::mutex>();
  return *lock;
}

}  // namespace

// Prepared once per connection: trades are the hot path, and parsing SQL each time is not free.
struct ItemStore::Statements {
  explicit Statements(SQLite::Database& db)
      : lookup(db, std::string("SELECT ") + kItemColumns + " FROM items WHERE name = ?"),
        list(db, std::string("SELECT ") + kItemColumns + " FROM items ORDER BY id"),
        count(db, "SELECT COUNT(*) FROM items"),
        applied_get(db,
                    "SELECT a.name, a.side, a.quantity, a.status, a.version_after, "
                    "a.quantity_after, a.volume_after, COALESCE(i.price_cents, 0) "
                    "FROM applied_trades a LEFT JOIN items i ON i.name = a.name "
                    "WHERE a.request_id = ?"),
        applied_put(db,
                    "INSERT INTO applied_trades (request_id, name, side, quantity, status, "
                    "version_after, quantity_after, volume_after, at_ms, term, confirmed) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        confirm(db,
                "UPDATE applied_trades SET confirmed = 1 WHERE request_id = ? AND confirmed = 0"),
        unconfirmed(db,
                    "SELECT request_id, name, side, quantity FROM applied_trades "
                    "WHERE confirmed = 0 AND term < ? AND request_id > ? "
                    "ORDER BY request_id LIMIT ?"),
        applied_trade(db,
                      "SELECT request_id, name, side, quantity FROM applied_trades "
                      "WHERE request_id = ? AND status = 0"),
        abandon(db, "INSERT OR IGNORE INTO abandoned_batches (term, batch) VALUES (?, ?)"),
        abandoned(db, "SELECT 1 FROM abandoned_batches WHERE term = ? AND batch = ?"),
        abandoned_prune(db, "DELETE FROM abandoned_batches WHERE term < ?"),
        fence_get(db, "SELECT value FROM meta WHERE key = 'fence_term'"),
        fence_put(db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('fence_term', ?)"),
        item_update(db, "UPDATE items SET quantity = ?, volume = ?, version = ? WHERE name = ?"),
        sold_out(db, std::string("SELECT ") + kItemColumns +
                         " FROM items WHERE quantity = 0 ORDER BY id"),
        restock_put(db, "INSERT INTO restocks (item, amount, at_ms) VALUES (?, ?, ?)") {}

  SQLite::Statement lookup;
  SQLite::Statement list;
  SQLite::Statement count;
  SQLite::Statement applied_get;
  SQLite::Statement applied_put;
  SQLite::Statement confirm;
  SQLite::Statement unconfirmed;
  SQLite::Statement applied_trade;
  SQLite::Statement abandon;
  SQLite::Statement abandoned;
  SQLite::Statement abandoned_prune;
  SQLite::Statement fence_get;
  SQLite::Statement fence_put;
  SQLite::Statement item_update;
  SQLite::Statement sold_out;
  SQLite::Statement restock_put;
};

ItemStore::ItemStore(const std::string& path, const std::vector<SeedItem>& seed,
                     const std::string& seed_label)
    : path_(path), write_lock_(&write_lock_for(path)) {
  try {
    db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                             kBusyTimeoutMs);
    // WAL: readers (lookups, list, --dump) never block the writer and the writer never blocks
    // them. The mode is stored in the file, so only the first connection really switches it.
    const std::string mode = db_->execAndGet("PRAGMA journal_mode=WAL").getString();
    if (mode != "wal") {
      spdlog::warn("database {}: journal mode is {}, not wal (file system without shared memory?)",
                   path, mode);
    }
    // FULL: a commit is on disk (WAL fsynced) before we answer. A trade the order service was
    // told about must survive a power cut, or G2 (conservation) breaks.
    db_->exec("PRAGMA synchronous=FULL");
    common::grow_in_chunks(*db_);
    open_schema(seed, seed_label);
    stmts_ = std::make_unique<Statements>(*db_);
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("database " + path + ": " + e.what());
  }
}

ItemStore::~ItemStore() = default;

void ItemStore::open_schema(const std::vector<SeedItem>& seed, const std::string& seed_label) {
  // IMMEDIATE: two connections opening a new file at once must not both seed it.
  SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
  if (!db_->tableExists("meta")) {
    const int tables = db_->execAndGet("SELECT COUNT(*) FROM sqlite_master").getInt();
    if (tables != 0) {
      throw common::StartupError("database " + path_ +
                                 ": not a catalog database (it has tables but no meta table)");
    }
    db_->exec(kSchema);
    SQLite::Statement meta(*db_, "INSERT INTO meta (key, value) VALUES (?, ?)");
    const auto put_meta = [&meta](const char* key, const std::string& value) {
      meta.bind(1, key);
      meta.bind(2, value);
      meta.exec();
      meta.reset();
    };
    put_meta("schema_version", kSchemaVersion);
    put_meta("seed", seed_label);
    put_meta("created_at_ms", std::to_string(now_ms()));
    SQLite::Statement insert(
        *db_,
        "INSERT INTO items (name, price_cents, quantity, volume, version) VALUES (?, ?, ?, 0, 1)");
    for (const SeedItem& item : seed) {
      insert.bind(1, item.name);
      insert.bind(2, item.price_cents);
      insert.bind(3, item.quantity);
      insert.exec();
      insert.reset();
    }
    created_ = true;
    seed_label_ = seed_label;
  } else {
    SQLite::Statement get(*db_, "SELECT value FROM meta WHERE key = ?");
    get.bind(1, "schema_version");
    std::string version = get.executeStep() ? get.getColumn(0).getString() : "";
    if (version == "1") {
      get.reset();
      db_->exec(kMigrateFrom1);
      db_->exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'");
      spdlog::info("database {}: schema 1 migrated to 2 (trade confirmations)", path_);
      version = kSchemaVersion;
    }
    if (version != kSchemaVersion) {
      throw common::StartupError("database " + path_ + ": unsupported schema version '" + version +
                                 "' (this catalog knows " + kSchemaVersion + ")");
    }
    get.reset();
    get.bind(1, "seed");
    seed_label_ = get.executeStep() ? get.getColumn(0).getString() : "";
  }
  db_->exec(kUnconfirmedIndex);
  db_->exec(kAbandonedTable);
  tx.commit();
}

LookupResult ItemStore::lookup(const std::string& name) {
  LookupResult out;
  // Checked before SQLite sees it (defence in depth: the statements bind it as a parameter and
  // the front end checks too): no item of the catalog can have such a name.
  if (!valid_item_name(name)) {
    out.status = proto::Status::kUnknownItem;
    return out;
  }
  try {
    SQLite::Statement& s = stmts_->lookup;
    ResetOnExit reset(s);
    s.bind(1, name);
    if (s.executeStep()) {
      out.item = read_item(s);
    } else {
      out.status = proto::Status::kUnknownItem;
    }
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: lookup {}: {}", path_, name, e.what());
    out = LookupResult{proto::Status::kInternal, {}};
  }
  return out;
}

ListResult ItemStore::list() {
  ListResult out;
  try {
    SQLite::Statement& s = stmts_->list;
    ResetOnExit reset(s);
    while (s.executeStep()) out.items.push_back(read_item(s));
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: list: {}", path_, e.what());
    out = ListResult{proto::Status::kInternal, {}};
  }
  return out;
}

std::int64_t ItemStore::count() {
  try {
    SQLite::Statement& s = stmts_->count;
    ResetOnExit reset(s);
    return s.executeStep() ? s.getColumn(0).getInt64() : 0;
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: count: {}", path_, e.what());
    return -1;
  }
}

void ItemStore::write_item_locked(const proto::Item& item) {
  SQLite::Statement& s = stmts_->item_update;
  ResetOnExit reset(s);
  s.bind(1, item.quantity);
  s.bind(2, item.volume);
  s.bind(3, static_cast<std::int64_t>(item.version));
  s.bind(4, item.name);
  s.exec();
}

std::uint64_t ItemStore::fence_locked() {
  SQLite::Statement& s = stmts_->fence_get;
  ResetOnExit reset(s);
  return s.executeStep() ? static_cast<std::uint64_t>(s.getColumn(0).getInt64()) : 0;
}

bool ItemStore::admit_term_locked(std::uint64_t term) {
  const std::uint64_t fence = fence_locked();
  if (term < fence) return false;
  if (term > fence) {
    SQLite::Statement& s = stmts_->fence_put;
    ResetOnExit reset(s);
    s.bind(1, static_cast<std::int64_t>(term));
    s.exec();
  }
  return true;
}

TradeResult ItemStore::apply_trade_locked(const proto::TradeRequest& request, std::uint64_t term) {
  TradeResult out;
  if (!valid_item_name(request.name)) {
    out.status = proto::Status::kUnknownItem;  // as for any name not in the catalog: unrecorded
    return out;
  }
  {
    {
      SQLite::Statement& s = stmts_->applied_get;
      ResetOnExit reset(s);
      s.bind(1, request.request_id);
      if (s.executeStep()) {
        const std::string name = s.getColumn(0).getString();
        const auto side = static_cast<proto::Side>(s.getColumn(1).getInt());
        const std::int64_t quantity = s.getColumn(2).getInt64();
        if (name != request.name || side != request.side || quantity != request.quantity) {
          // Same id, different order: a client bug or a key collision. Refuse rather than guess.
          out.status = proto::Status::kConflict;
          return out;  // nothing written
        }
        out.status = static_cast<proto::Status>(s.getColumn(3).getInt());
        out.item.name = name;
        out.item.version = static_cast<std::uint64_t>(s.getColumn(4).getInt64());
        out.item.quantity = s.getColumn(5).getInt64();
        out.item.volume = s.getColumn(6).getInt64();
        out.item.price_cents = s.getColumn(7).getInt64();
        out.duplicate = true;
        return out;
      }
    }
    proto::Item item;
    bool known = false;
    {
      SQLite::Statement& s = stmts_->lookup;
      ResetOnExit reset(s);
      s.bind(1, request.name);
      if (s.executeStep()) {
        item = read_item(s);
        known = true;
      }
    }
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    if (!known) {
      // Recorded like a refused buy: the request id stays bound to this order, so reusing it for
      // another order is a conflict, whatever the first answer was (issue 14, E).
      out.status = proto::Status::kUnknownItem;
      item.name = request.name;
      item.version = 0;
    } else if (request.side == proto::Side::kBuy) {
      if (request.quantity > item.quantity) {
        out.status = proto::Status::kInsufficient;
      } else {
        item.quantity -= request.quantity;
      }
    } else {
      if (item.quantity > kMax - request.quantity) {
        out.status = proto::Status::kBadRequest;
        return out;
      }
      item.quantity += request.quantity;
    }
    if (out.status == proto::Status::kOk) {
      if (item.volume > kMax - request.quantity) {
        out.status = proto::Status::kBadRequest;
        return out;
      }
      item.volume += request.quantity;
      item.version += 1;
      write_item_locked(item);
    }
    {
      // A refused buy is recorded too, so that a repeat of it is refused again (and does not
      // succeed later, after a restock or a sell, as a second, different answer).
      SQLite::Statement& s = stmts_->applied_put;
      ResetOnExit reset(s);
      s.bind(1, request.request_id);
      s.bind(2, request.name);
      s.bind(3, static_cast<int>(request.side));
      s.bind(4, request.quantity);
      s.bind(5, static_cast<int>(out.status));
      s.bind(6, static_cast<std::int64_t>(item.version));
      s.bind(7, item.quantity);
      s.bind(8, item.volume);
      s.bind(9, now_ms());
      s.bind(10, static_cast<std::int64_t>(term));
      // Only a trade that moved stock needs its order confirmed; a refusal moved nothing.
      s.bind(11, out.status == proto::Status::kOk ? 0 : 1);
      s.exec();
    }
    out.item = std::move(item);
    out.changed = out.status == proto::Status::kOk;
  }
  return out;
}

TradeResult ItemStore::trade(const proto::TradeRequest& request, std::uint64_t term) {
  // A batch of one: the same lock, fence, transaction and record.
  return trade_batch({request}, term).front();
}

std::vector<TradeResult> ItemStore::trade_batch(const std::vector<proto::TradeRequest>& requests,
                                                std::uint64_t term,
                                                const std::vector<std::string>& confirmed,
                                                std::uint64_t batch) {
  std::vector<TradeResult> out;
  out.reserve(requests.size());
  try {
    // The whole check-and-apply is one IMMEDIATE transaction: it holds the write lock from the
    // first read, so no other connection can change a quantity between our check and update.
    std::lock_guard<std::mutex> writer(*write_lock_);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    // Confirmations are safe from any term: they name orders that have committed.
    for (const auto& id : confirmed) {
      SQLite::Statement& s = stmts_->confirm;
      ResetOnExit reset(s);
      s.bind(1, id);
      s.exec();
    }
    if (!admit_term_locked(term)) {
      out.assign(requests.size(), TradeResult{proto::Status::kNotLeader, {}, false, false});
    } else if (batch != 0 && abandoned_locked(term, batch)) {
      // Its leader gave up on it and resolved it as "not applied": it must never apply.
      out.assign(requests.size(), TradeResult{proto::Status::kUnavailable, {}, false, false});
    } else {
      for (const auto& r : requests) out.push_back(apply_trade_locked(r, term));
    }
    const auto commit_start = std::chrono::steady_clock::now();
    tx.commit();
    if (commit_observer_) commit_observer_(std::chrono::steady_clock::now() - commit_start);
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: batch of {} trades: {}", path_, requests.size(), e.what());
    out.assign(requests.size(), TradeResult{proto::Status::kInternal, {}, false, false});
  }
  return out;
}

ReconcileResult ItemStore::reconcile(std::uint64_t term, const std::string& after,
                                     std::uint32_t limit) {
  ReconcileResult out;
  try {
    // One IMMEDIATE transaction: every trade of an older term either committed before the fence
    // rose (and is listed) or comes after it (and is refused). Nothing falls in between.
    std::lock_guard<std::mutex> writer(*write_lock_);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (!admit_term_locked(term)) {
      out.status = proto::Status::kNotLeader;
      return out;
    }
    {
      // Batches of older terms can no longer apply (the fence refuses them): forget them.
      SQLite::Statement& s = stmts_->abandoned_prune;
      ResetOnExit reset(s);
      s.bind(1, static_cast<std::int64_t>(term));
      s.exec();
    }
    {
      SQLite::Statement& s = stmts_->unconfirmed;
      ResetOnExit reset(s);
      s.bind(1, static_cast<std::int64_t>(term));
      s.bind(2, after);
      s.bind(3, static_cast<std::int64_t>(limit) + 1);  // one more tells whether a page follows
      while (s.executeStep()) {
        if (out.trades.size() == limit) {
          out.more = true;
          break;
        }
        out.trades.push_back(read_trade(s));
      }
    }
    tx.commit();
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: reconcile for term {}: {}", path_, term, e.what());
    out = ReconcileResult{proto::Status::kInternal, {}, false};
  }
  return out;
}

bool ItemStore::abandoned_locked(std::uint64_t term, std::uint64_t batch) {
  SQLite::Statement& s = stmts_->abandoned;
  ResetOnExit reset(s);
  s.bind(1, static_cast<std::int64_t>(term));
  s.bind(2, static_cast<std::int64_t>(batch));
  return s.executeStep();
}

ResolveResult ItemStore::resolve(std::uint64_t term, std::uint64_t batch,
                                 const std::vector<std::string>& request_ids) {
  ResolveResult out;
  try {
    // One IMMEDIATE transaction, like a trade batch: the batch either applied before it (and its
    // trades are listed) or arrives after it (and is refused). Nothing falls in between.
    std::lock_guard<std::mutex> writer(*write_lock_);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (!admit_term_locked(term)) {
      out.status = proto::Status::kNotLeader;
      return out;
    }
    {
      SQLite::Statement& s = stmts_->abandon;
      ResetOnExit reset(s);
      s.bind(1, static_cast<std::int64_t>(term));
      s.bind(2, static_cast<std::int64_t>(batch));
      s.exec();
    }
    for (const auto& id : request_ids) {
      SQLite::Statement& s = stmts_->applied_trade;
      ResetOnExit reset(s);
      s.bind(1, id);
      if (s.executeStep()) out.applied.push_back(read_trade(s));
    }
    tx.commit();
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: resolve batch {} of term {}: {}", path_, batch, term, e.what());
    out = ResolveResult{proto::Status::kInternal, {}};
  }
  return out;
}

RestockResult ItemStore::restock(std::int64_t to) {
  RestockResult out;
  if (to <= 0) return out;
  try {
    std::lock_guard<std::mutex> writer(*write_lock_);
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    {
      SQLite::Statement& s = stmts_->sold_out;
      ResetOnExit reset(s);
      while (s.executeStep()) out.changed.push_back(read_item(s));
    }
    const std::int64_t at = now_ms();
    for (proto::Item& item : out.changed) {
      item.quantity = to;
      item.version += 1;
      write_item_locked(item);
      SQLite::Statement& s = stmts_->restock_put;
      ResetOnExit reset(s);
      s.bind(1, item.name);
      s.bind(2, to);
      s.bind(3, at);
      s.exec();
    }
    if (!out.changed.empty()) tx.commit();
  } catch (const SQLite::Exception& e) {
    spdlog::error("database {}: restock: {}", path_, e.what());
    out = RestockResult{proto::Status::kInternal, {}};
  }
  return out;
}

DumpResult ItemStore::read_only_items(const std::string& path) {
  DumpResult out;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    out.error = "database " + path + ": " +
                (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
    return out;
  }
  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    if (!db.tableExists("meta") || !db.tableExists("items")) {
      out.error = "database " + path + ": not a catalog database";
      return out;
    }
    SQLite::Statement s(db, std::string("SELECT ") + kItemColumns + " FROM items ORDER BY id");
    while (s.executeStep()) out.items.push_back(read_item(s));
    out.ok = true;
  } catch (const SQLite::Exception& e) {
    out.items.clear();
    out.error = "database " + path + ": " + e.what();
  }
  return out;
}

}  // namespace bazaar::catalog
