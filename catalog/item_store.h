// The catalog's items in SQLite: lookup, list, trade (at most once per request id) and restock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/seed.h"
#include "proto_msgs/messages.h"

namespace SQLite {
class Database;
}

namespace bazaar::catalog {

/// Outcome of lookup(): status kOk with the item, kUnknownItem, or kInternal (disk error).
struct LookupResult {
  proto::Status status = proto::Status::kOk;
  proto::Item item;
};

/// Outcome of list(): status kOk with every item in seed order, or kInternal.
struct ListResult {
  proto::Status status = proto::Status::kOk;
  std::vector<proto::Item> items;
};

/// Outcome of trade().
///  kOk           applied; `item` is the item right after this trade.
///  kInsufficient a buy of more than was left; nothing changed; `item` is the item as it was.
///  kUnknownItem  no such item; nothing changed, nothing recorded.
///  kConflict     the request id was applied before with another name, side or quantity;
///                nothing changed.
///  kBadRequest   the trade would overflow a 64-bit quantity or volume; nothing changed.
///  kInternal     a disk or database error; nothing changed (the transaction rolled back).
/// `duplicate` is true when the request id had been applied already: `status` and `item` are
/// then the first outcome, as recorded, and nothing changed. `changed` is true exactly when this
/// call modified the item (so an invalidation must be published).
struct TradeResult {
  proto::Status status = proto::Status::kOk;
  proto::Item item;
  bool duplicate = false;
  bool changed = false;
};

/// Outcome of reconcile(): kOk with one page of unconfirmed trades of older terms (`more` when
/// another page follows the last one's request id); kNotLeader when the term is below the fence;
/// kInternal on a database error.
struct ReconcileResult {
  proto::Status status = proto::Status::kOk;
  std::vector<proto::TradeRequest> trades;
  bool more = false;
};

/// Outcome of resolve(): kOk with the trades among those asked about that changed stock (as
/// recorded); kNotLeader when the term is below the fence; kInternal on a database error.
struct ResolveResult {
  proto::Status status = proto::Status::kOk;
  std::vector<proto::TradeRequest> applied;
};

/// Outcome of restock(): the items it refilled, as they are afterwards.
struct RestockResult {
  proto::Status status = proto::Status::kOk;
  std::vector<proto::Item> changed;
};

/// Outcome of read_only_items(): the items in seed order, or why they could not be read.
struct DumpResult {
  bool ok = false;
  std::vector<proto::Item> items;
  std::string error;  // one line, when !ok
};

/// One connection to the catalog database.
///
/// Not thread-safe: each thread owns its own ItemStore (its own SQLite connection) on the same
/// file. Correctness across threads and processes rests on SQLite's locking: every change runs in
/// one BEGIN IMMEDIATE transaction, which takes the database's single write lock before it reads
/// anything, so two trades can never both see the same quantity. The busy timeout bounds how long
/// a call waits for that lock.
///
/// Every item has a version: 1 when seeded, +1 with every change (trade or restock).
/// After the constructor, no member function throws: failures come back as proto::Status values.
class ItemStore {
 public:
  /// How long a call waits for another connection's write lock before giving up (kInternal).
  static constexpr int kBusyTimeoutMs = 5000;

  /// Opens the database at `path`, creating it when missing. A new database gets the schema and
  /// the `seed` items (labelled `seed_label`, e.g. "toys"); an existing one is used as it is,
  /// whatever `seed` says: after its creation the database is the truth. Journal mode is WAL and
  /// synchronous FULL, so a trade, once answered, survives a crash of the process or the machine.
  /// Throws common::StartupError (unopenable file, not a catalog database, unknown schema).
  ItemStore(const std::string& path, const std::vector<SeedItem>& seed,
            const std::string& seed_label);
  ~ItemStore();
  ItemStore(const ItemStore&) = delete;
  ItemStore& operator=(const ItemStore&) = delete;

  /// True when this constructor created and seeded the database.
  bool created() const { return created_; }

  /// The label the database was seeded with ("toys", "stocks", "csv:<path>").
  const std::string& seed_label() const { return seed_label_; }

  LookupResult lookup(const std::string& name);
  ListResult list();

  /// Number of items, or -1 on a database error.
  std::int64_t count();

  /// Applies `request` at most once per request id (see TradeResult), on behalf of the order
  /// leader of `term`. The request is assumed to be valid (proto::validate): quantity
  /// 1..kMaxQuantity, a name and a request id.
  ///
  /// Fencing (G2): the database keeps the highest term it has seen (the fence). A trade whose
  /// term is below it is refused with kNotLeader and nothing changes: a deposed leader cannot
  /// move stock behind its successor's back. An applied trade is recorded unconfirmed, with its
  /// term, until trade_batch() is told its order committed.
  TradeResult trade(const proto::TradeRequest& request, std::uint64_t term = 0);

  /// Marks the `confirmed` request ids' trades confirmed, then applies every trade of
  /// `requests` in order, each exactly as trade() would, all in ONE transaction: one disk sync
  /// for the whole batch (group commit). A database error fails the whole batch (every result
  /// kInternal, nothing changed). A batch named `batch` (> 0) of `term` that resolve() abandoned
  /// applies nothing: every result is kUnavailable (its leader no longer waits for it).
  std::vector<TradeResult> trade_batch(const std::vector<proto::TradeRequest>& requests,
                                       std::uint64_t term = 0,
                                       const std::vector<std::string>& confirmed = {},
                                       std::uint64_t batch = 0);

  /// For the order leader of `term`, about its batch `batch` (> 0) whose answer it never got: in
  /// one transaction, abandons the batch for good (see trade_batch) and lists which of
  /// `request_ids` have changed stock, by any batch (see ResolveResult). Also raises the fence to
  /// `term`, like a trade.
  ResolveResult resolve(std::uint64_t term, std::uint64_t batch,
                        const std::vector<std::string>& request_ids);

  /// For a new order leader of `term` (> 0): raises the fence to `term`, then lists up to `limit`
  /// applied, unconfirmed trades of older terms with request ids after `after`, in request-id
  /// order, in one transaction (see ReconcileResult).
  ReconcileResult reconcile(std::uint64_t term, const std::string& after, std::uint32_t limit);

  /// Sets every item whose quantity is 0 to `to` (1..kMaxQuantity), raising its version and
  /// recording the amount in the restocks table, in one transaction.
  RestockResult restock(std::int64_t to);

  /// Opens the database at `path` read-only (never creating it, never writing) and reads every
  /// item in seed order. Safe while a catalog process has the database open.
  static DumpResult read_only_items(const std::string& path);

  /// Called with the duration of every trade transaction's commit (metrics). Set before the
  /// store's thread uses it; runs on that thread.
  void set_commit_observer(std::function<void(std::chrono::steady_clock::duration)> observer) {
    commit_observer_ = std::move(observer);
  }

 private:
  /// The check-and-apply of one trade inside an open IMMEDIATE transaction. Writes nothing on
  /// any path that returns early, so one trade's refusal never undoes another's in a batch.
  TradeResult apply_trade_locked(const proto::TradeRequest& request, std::uint64_t term);
  /// True when resolve() abandoned batch (`term`, `batch`), inside an open transaction.
  bool abandoned_locked(std::uint64_t term, std::uint64_t batch);
  /// The fence (0 when no leader ever reconciled), inside an open transaction.
  std::uint64_t fence_locked();
  /// False when `term` is below the fence; raises the fence to `term` when above it. Inside an
  /// open IMMEDIATE transaction.
  bool admit_term_locked(std::uint64_t term);
  /// Stores `item`'s quantity, volume and version, inside an open transaction.
  void write_item_locked(const proto::Item& item);

  struct Statements;

  void open_schema(const std::vector<SeedItem>& seed, const std::string& seed_label);

  std::string path_;
  // Shared by every ItemStore of this process on the same file: taken around each write
  // transaction so writers queue here instead of in SQLite's sleeping busy handler.
  std::mutex* write_lock_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<Statements> stmts_;  // prepared on db_; destroyed before it
  bool created_ = false;
  std::string seed_label_;
  std::function<void(std::chrono::steady_clock::duration)> commit_observer_;
};

}  // namespace bazaar::catalog
