// The catalog's half of G2: term fencing, confirmations and the reconciliation scan.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "catalog/item_store.h"
#include "catalog/request_handler.h"
#include "catalog/seed.h"
#include "proto_msgs/codec.h"

namespace bazaar::catalog {
namespace {

class CatalogReconcile : public testing::Test {
 protected:
  CatalogReconcile() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = testing::TempDir() + "bazaar_catalog_reconcile_" + info->name() + "_" +
            std::to_string(::getpid()) + ".db";
    remove_files();
    store_ = std::make_unique<ItemStore>(path_, stocks_seed(), "stocks");
  }
  ~CatalogReconcile() override {
    store_.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }
  static proto::TradeRequest buy(const std::string& id, std::int64_t q) {
    return {id, "GameStart", proto::Side::kBuy, q};
  }
  std::int64_t quantity() { return store_->lookup("GameStart").item.quantity; }
  static std::vector<std::string> ids(const ReconcileResult& r) {
    std::vector<std::string> out;
    for (const auto& t : r.trades) out.push_back(t.request_id);
    return out;
  }

  std::string path_;
  std::unique_ptr<ItemStore> store_;
};

TEST_F(CatalogReconcile, AppliedTradesStayUnconfirmedUntilConfirmed) {
  store_->trade_batch({buy("a", 1), buy("b", 2), buy("big", 1000)}, 3);
  // Only the applied ones, and only those of terms below the asking leader's.
  EXPECT_TRUE(store_->reconcile(3, "", 10).trades.empty());
  auto r = store_->reconcile(4, "", 10);
  ASSERT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(ids(r), (std::vector<std::string>{"a", "b"}));  // the refused buy moved nothing
  EXPECT_EQ(r.trades[1].quantity, 2);
  EXPECT_EQ(r.trades[1].name, "GameStart");
  // Confirmations travel with the next batch (here: alone).
  store_->trade_batch({}, 4, {"a"});
  EXPECT_EQ(ids(store_->reconcile(5, "", 10)), std::vector<std::string>{"b"});
}

TEST_F(CatalogReconcile, ReconcileRaisesTheFenceAndOlderTermsAreRefused) {
  EXPECT_EQ(store_->trade_batch({buy("a", 1)}, 2)[0].status, proto::Status::kOk);
  store_->reconcile(5, "", 10);
  const std::int64_t before = quantity();
  auto late = store_->trade_batch({buy("late", 1)}, 4);  // a deposed leader's trade
  EXPECT_EQ(late[0].status, proto::Status::kNotLeader);
  EXPECT_EQ(store_->trade(buy("late2", 1), 2).status, proto::Status::kNotLeader);
  EXPECT_EQ(quantity(), before);
  // A refused trade is not recorded: at the new leader the same id applies.
  EXPECT_EQ(store_->trade_batch({buy("late", 1)}, 5)[0].status, proto::Status::kOk);
  EXPECT_EQ(quantity(), before - 1);
  // An older leader cannot reconcile either.
  EXPECT_EQ(store_->reconcile(4, "", 10).status, proto::Status::kNotLeader);
  // Confirmations are accepted from anyone: they name committed orders.
  store_->trade_batch({}, 1, {"a"});
  EXPECT_EQ(ids(store_->reconcile(6, "", 10)), std::vector<std::string>{"late"});
}

TEST_F(CatalogReconcile, PagesFollowTheCursor) {
  store_->trade_batch({buy("k1", 1), buy("k2", 1), buy("k3", 1)}, 1);
  auto p1 = store_->reconcile(2, "", 2);
  EXPECT_EQ(ids(p1), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_TRUE(p1.more);
  auto p2 = store_->reconcile(2, "k2", 2);
  EXPECT_EQ(ids(p2), std::vector<std::string>{"k3"});
  EXPECT_FALSE(p2.more);
}

TEST_F(CatalogReconcile, SchemaOneIsMigratedWithOldTradesConfirmed) {
  store_.reset();
  remove_files();
  {
    // A catalog written by schema 1: trades had no term and no confirmation flag.
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
        price_cents INTEGER NOT NULL, quantity INTEGER NOT NULL,
        volume INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1);
      CREATE TABLE applied_trades (request_id TEXT PRIMARY KEY, name TEXT NOT NULL,
        side INTEGER NOT NULL, quantity INTEGER NOT NULL, status INTEGER NOT NULL,
        version_after INTEGER NOT NULL, quantity_after INTEGER NOT NULL,
        volume_after INTEGER NOT NULL, at_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE restocks (id INTEGER PRIMARY KEY, item TEXT NOT NULL,
        amount INTEGER NOT NULL, at_ms INTEGER NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1'), ('seed', 'stocks');
      INSERT INTO items (name, price_cents, quantity, volume, version)
        VALUES ('GameStart', 1599, 99, 1, 2);
      INSERT INTO applied_trades VALUES ('old', 'GameStart', 0, 1, 0, 2, 99, 1, 0);
    )sql");
  }
  store_ = std::make_unique<ItemStore>(path_, stocks_seed(), "stocks");
  EXPECT_TRUE(store_->reconcile(2, "", 10).trades.empty());  // old trades count as confirmed
  auto again = store_->trade_batch({buy("old", 1)}, 2);
  EXPECT_TRUE(again[0].duplicate);
  EXPECT_EQ(quantity(), 99);
  store_->trade_batch({buy("new", 1)}, 2);
  EXPECT_EQ(ids(store_->reconcile(3, "", 10)), std::vector<std::string>{"new"});
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString(), "2");
}

TEST_F(CatalogReconcile, HandlerAnswersReconcileAndRefusesABadOne) {
  RequestHandler handler(*store_, 7);
  proto::TradeBatchRequest batch;
  batch.term = 1;
  batch.trades = {buy("h1", 1)};
  auto out = handler.handle(proto::encode(batch));
  ASSERT_EQ(out.changed.size(), 1u);
  auto rep = proto::decode<proto::ReconcileReply>(
      handler.handle(proto::encode(proto::ReconcileRequest{2, "", 100})).reply);
  ASSERT_TRUE(rep);
  ASSERT_EQ(rep->unconfirmed.size(), 1u);
  EXPECT_EQ(rep->unconfirmed[0].request_id, "h1");
  // Term 0 is no leader's; a limit of 0 is no page.
  for (const auto& bad : {proto::ReconcileRequest{0, "", 10}, proto::ReconcileRequest{2, "", 0}}) {
    auto err = proto::decode<proto::ErrorReply>(handler.handle(proto::encode(bad)).reply);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->status, proto::Status::kBadRequest);
  }
}

// A batch in doubt (issue 13, V1): the leader gave up waiting; resolve() says what applied and
// makes sure the rest never does, whichever of the two the catalog sees first.
TEST_F(CatalogReconcile, ResolveListsWhatAppliedAndAbandonsTheRestForGood) {
  // Applied before the resolution reached the catalog (a paused catalog that resumes).
  ASSERT_EQ(store_->trade_batch({buy("a", 1), buy("big", 1000)}, 3, {}, 7)[0].status,
            proto::Status::kOk);
  auto r = store_->resolve(3, 7, {"a", "big"});
  ASSERT_EQ(r.status, proto::Status::kOk);
  ASSERT_EQ(r.applied.size(), 1u);  // the refused buy moved nothing
  EXPECT_EQ(r.applied[0].request_id, "a");
  EXPECT_EQ(r.applied[0].quantity, 1);
  EXPECT_EQ(r.applied[0].name, "GameStart");
  // Resolved before it arrived: the batch is abandoned, and applies nothing when it comes.
  EXPECT_TRUE(store_->resolve(3, 8, {"b"}).applied.empty());
  const auto late = store_->trade_batch({buy("b", 5)}, 3, {"a"}, 8);
  EXPECT_EQ(late.at(0).status, proto::Status::kUnavailable);
  EXPECT_FALSE(late.at(0).changed);
  EXPECT_EQ(quantity(), 99);
  // Its confirmations still count, and a new attempt of the same request id (a retry, in a new
  // batch) applies as usual.
  EXPECT_TRUE(store_->reconcile(4, "", 10).trades.empty());
  EXPECT_EQ(store_->trade_batch({buy("b", 5)}, 4, {}, 9).at(0).status, proto::Status::kOk);
  EXPECT_EQ(quantity(), 94);
  EXPECT_EQ(store_->resolve(4, 9, {"b"}).applied.size(), 1u);
}

TEST_F(CatalogReconcile, ResolveOfAFencedTermIsRefusedAndAbandonmentsOfOldTermsAreForgotten) {
  EXPECT_TRUE(store_->resolve(3, 1, {"x"}).applied.empty());
  ASSERT_EQ(store_->reconcile(4, "", 10).status, proto::Status::kOk);
  EXPECT_EQ(store_->resolve(3, 2, {"x"}).status, proto::Status::kNotLeader);
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM abandoned_batches").getInt(), 0);
  // The handler speaks it on the wire, and refuses a request that names no batch.
  RequestHandler handler(*store_, 7);
  auto rep = proto::decode<proto::ResolveReply>(
      handler.handle(proto::encode(proto::ResolveRequest{4, 3, {"x"}})).reply);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, proto::Status::kOk);
  auto err = proto::decode<proto::ErrorReply>(
      handler.handle(proto::encode(proto::ResolveRequest{4, 0, {"x"}})).reply);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, proto::Status::kBadRequest);
}

TEST_F(CatalogReconcile, NamesNoCatalogCouldHoldNeverReachTheDatabase) {
  const std::string bad = "Game\nStart";
  {
    // Planted behind the catalog's back: no seed or CSV could load such a name.
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    SQLite::Statement put(db, "INSERT INTO items (name, price_cents, quantity) VALUES (?, 1, 5)");
    put.bind(1, bad);
    put.exec();
  }
  // Refused before SQLite is asked: the planted row is never found, traded or recorded.
  EXPECT_EQ(store_->lookup(bad).status, proto::Status::kUnknownItem);
  EXPECT_EQ(store_->lookup(std::string(65, 'x')).status, proto::Status::kUnknownItem);
  auto r = store_->trade_batch({{"bad-1", bad, proto::Side::kBuy, 1}}, 1);
  EXPECT_EQ(r.at(0).status, proto::Status::kUnknownItem);
  EXPECT_TRUE(store_->reconcile(2, "", 10).trades.empty());
}

}  // namespace
}  // namespace bazaar::catalog
