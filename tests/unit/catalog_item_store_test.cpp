#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "catalog/item_store.h"
#include "catalog/seed.h"
#include "common/cli.h"

namespace bazaar::catalog {
namespace {

// A database file of its own per test, removed (with its WAL files) before and after.
class CatalogItemStore : public testing::Test {
 protected:
  CatalogItemStore() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = testing::TempDir() + "bazaar_catalog_store_" + info->name() + "_" +
            std::to_string(::getpid()) + ".db";
    remove_files();
  }
  ~CatalogItemStore() override { remove_files(); }

  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  std::unique_ptr<ItemStore> open(const std::vector<SeedItem>& seed = toys_seed(),
                                  const std::string& label = "toys") {
    return std::make_unique<ItemStore>(path_, seed, label);
  }

  static proto::TradeRequest trade(const std::string& id, const std::string& name, proto::Side side,
                                   std::int64_t quantity) {
    return proto::TradeRequest{id, name, side, quantity};
  }

  std::string path_;
};

TEST_F(CatalogItemStore, NewDatabaseIsSeededInOrder) {
  auto store = open(stocks_seed(), "stocks");
  EXPECT_TRUE(store->created());
  EXPECT_EQ(store->seed_label(), "stocks");
  const ListResult all = store->list();
  ASSERT_EQ(all.status, proto::Status::kOk);
  const auto seed = stocks_seed();
  ASSERT_EQ(all.items.size(), seed.size());
  for (std::size_t i = 0; i < seed.size(); ++i) {
    EXPECT_EQ(all.items[i].name, seed[i].name);
    EXPECT_EQ(all.items[i].price_cents, seed[i].price_cents);
    EXPECT_EQ(all.items[i].quantity, 100);
    EXPECT_EQ(all.items[i].version, 1u);
    EXPECT_EQ(all.items[i].volume, 0);
  }
  EXPECT_EQ(store->count(), 10);
}

TEST_F(CatalogItemStore, LookupKnownAndUnknown) {
  auto store = open();
  const LookupResult tux = store->lookup("Tux");
  ASSERT_EQ(tux.status, proto::Status::kOk);
  EXPECT_EQ(tux.item.name, "Tux");
  EXPECT_EQ(tux.item.price_cents, 2599);
  EXPECT_EQ(tux.item.quantity, 100);
  EXPECT_EQ(store->lookup("Nope").status, proto::Status::kUnknownItem);
  EXPECT_EQ(store->lookup("tux").status, proto::Status::kUnknownItem);  // names are exact
}

TEST_F(CatalogItemStore, BuyReducesQuantityAndRaisesVersionAndVolume) {
  auto store = open();
  const TradeResult r = store->trade(trade("r1", "Tux", proto::Side::kBuy, 3));
  ASSERT_EQ(r.status, proto::Status::kOk);
  EXPECT_TRUE(r.changed);
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.item.quantity, 97);
  EXPECT_EQ(r.item.version, 2u);
  EXPECT_EQ(r.item.volume, 3);
  EXPECT_EQ(r.item.price_cents, 2599);
  const LookupResult after = store->lookup("Tux");
  EXPECT_EQ(after.item.quantity, 97);
  EXPECT_EQ(after.item.version, 2u);
  EXPECT_EQ(after.item.volume, 3);
}

TEST_F(CatalogItemStore, BuyOfExactlyWhatIsLeftSucceeds) {
  auto store = open();
  const TradeResult r = store->trade(trade("r1", "Clue", proto::Side::kBuy, 100));
  ASSERT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(r.item.quantity, 0);
}

TEST_F(CatalogItemStore, BuyOfMoreThanLeftIsRefusedAndChangesNothing) {
  auto store = open();
  const TradeResult r = store->trade(trade("r1", "Tux", proto::Side::kBuy, 101));
  EXPECT_EQ(r.status, proto::Status::kInsufficient);
  EXPECT_FALSE(r.changed);
  const LookupResult after = store->lookup("Tux");
  EXPECT_EQ(after.item.quantity, 100);
  EXPECT_EQ(after.item.version, 1u);
  EXPECT_EQ(after.item.volume, 0);
}

TEST_F(CatalogItemStore, SellAddsQuantity) {
  auto store = open();
  const TradeResult r = store->trade(trade("r1", "Uno", proto::Side::kSell, 5));
  ASSERT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(r.item.quantity, 105);
  EXPECT_EQ(r.item.version, 2u);
  EXPECT_EQ(r.item.volume, 5);
  EXPECT_EQ(store->lookup("Uno").item.quantity, 105);
}

TEST_F(CatalogItemStore, TradeOfUnknownItem) {
  auto store = open();
  const TradeResult r = store->trade(trade("r1", "Nope", proto::Side::kBuy, 1));
  EXPECT_EQ(r.status, proto::Status::kUnknownItem);
  EXPECT_FALSE(r.changed);
  // The request id is bound to that order like any other outcome (issue 14, E): a repeat gets
  // the same answer, and reusing it for another order is a conflict, not a new trade.
  const TradeResult again = store->trade(trade("r1", "Nope", proto::Side::kBuy, 1));
  EXPECT_EQ(again.status, proto::Status::kUnknownItem);
  EXPECT_TRUE(again.duplicate);
  const TradeResult reused = store->trade(trade("r1", "Tux", proto::Side::kBuy, 1));
  EXPECT_EQ(reused.status, proto::Status::kConflict);
  EXPECT_FALSE(reused.changed);
  EXPECT_EQ(store->lookup("Tux").item.quantity, 100);
}

TEST_F(CatalogItemStore, DuplicateRequestIdReturnsFirstOutcomeAndChangesNothing) {
  auto store = open();
  const TradeResult first = store->trade(trade("r1", "Tux", proto::Side::kBuy, 2));
  ASSERT_EQ(first.status, proto::Status::kOk);
  // Another trade in between: the repeat must still answer with the first outcome.
  ASSERT_EQ(store->trade(trade("r2", "Tux", proto::Side::kBuy, 1)).status, proto::Status::kOk);
  const TradeResult again = store->trade(trade("r1", "Tux", proto::Side::kBuy, 2));
  EXPECT_EQ(again.status, proto::Status::kOk);
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.item.name, "Tux");
  EXPECT_EQ(again.item.quantity, first.item.quantity);
  EXPECT_EQ(again.item.version, first.item.version);
  EXPECT_EQ(again.item.volume, first.item.volume);
  EXPECT_EQ(again.item.price_cents, 2599);
  const LookupResult after = store->lookup("Tux");
  EXPECT_EQ(after.item.quantity, 97);
  EXPECT_EQ(after.item.version, 3u);
}

TEST_F(CatalogItemStore, DuplicateOfRefusedBuyIsRefusedAgainEvenAfterARestock) {
  auto store = open();
  ASSERT_EQ(store->trade(trade("big", "Tux", proto::Side::kBuy, 150)).status,
            proto::Status::kInsufficient);
  // Now there would be enough: the repeat must not become a second, different answer.
  ASSERT_EQ(store->trade(trade("s", "Tux", proto::Side::kSell, 100)).status, proto::Status::kOk);
  const TradeResult again = store->trade(trade("big", "Tux", proto::Side::kBuy, 150));
  EXPECT_EQ(again.status, proto::Status::kInsufficient);
  EXPECT_TRUE(again.duplicate);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(store->lookup("Tux").item.quantity, 200);
}

TEST_F(CatalogItemStore, RequestIdReusedWithAnotherBodyIsAConflict) {
  auto store = open();
  ASSERT_EQ(store->trade(trade("r1", "Tux", proto::Side::kBuy, 2)).status, proto::Status::kOk);
  EXPECT_EQ(store->trade(trade("r1", "Tux", proto::Side::kBuy, 3)).status,
            proto::Status::kConflict);
  EXPECT_EQ(store->trade(trade("r1", "Uno", proto::Side::kBuy, 2)).status,
            proto::Status::kConflict);
  EXPECT_EQ(store->trade(trade("r1", "Tux", proto::Side::kSell, 2)).status,
            proto::Status::kConflict);
  EXPECT_EQ(store->lookup("Tux").item.quantity, 98);
  EXPECT_EQ(store->lookup("Uno").item.quantity, 100);
}

TEST_F(CatalogItemStore, RestockTouchesOnlySoldOutItems) {
  auto store = open();
  ASSERT_EQ(store->trade(trade("a", "Tux", proto::Side::kBuy, 100)).status, proto::Status::kOk);
  ASSERT_EQ(store->trade(trade("b", "Clue", proto::Side::kBuy, 100)).status, proto::Status::kOk);
  ASSERT_EQ(store->trade(trade("c", "Uno", proto::Side::kBuy, 99)).status, proto::Status::kOk);
  const RestockResult r = store->restock(100);
  ASSERT_EQ(r.status, proto::Status::kOk);
  ASSERT_EQ(r.changed.size(), 2u);
  EXPECT_EQ(r.changed[0].name, "Tux");  // seed order
  EXPECT_EQ(r.changed[1].name, "Clue");
  for (const auto& item : r.changed) {
    EXPECT_EQ(item.quantity, 100);
    EXPECT_EQ(item.version, 3u);  // seed 1, buy 2, restock 3
  }
  EXPECT_EQ(store->lookup("Tux").item.quantity, 100);
  EXPECT_EQ(store->lookup("Tux").item.version, 3u);
  EXPECT_EQ(store->lookup("Tux").item.volume, 100);  // a restock is not a trade
  EXPECT_EQ(store->lookup("Uno").item.quantity, 1);
  EXPECT_EQ(store->lookup("Uno").item.version, 2u);
  EXPECT_EQ(store->lookup("Bird").item.version, 1u);
  EXPECT_TRUE(store->restock(100).changed.empty());  // nothing sold out any more

  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM restocks").getInt(), 2);
  EXPECT_EQ(db.execAndGet("SELECT SUM(amount) FROM restocks").getInt(), 200);
}

TEST_F(CatalogItemStore, DataSurvivesReopeningAndSeedingHappensOnlyOnce) {
  {
    auto store = open();
    ASSERT_EQ(store->trade(trade("r1", "Tux", proto::Side::kBuy, 10)).status, proto::Status::kOk);
  }
  // Reopened with another seed: the database is the truth, the seed is ignored.
  auto store = open(stocks_seed(), "stocks");
  EXPECT_FALSE(store->created());
  EXPECT_EQ(store->seed_label(), "toys");
  const LookupResult tux = store->lookup("Tux");
  ASSERT_EQ(tux.status, proto::Status::kOk);
  EXPECT_EQ(tux.item.quantity, 90);
  EXPECT_EQ(tux.item.version, 2u);
  EXPECT_EQ(store->lookup("GameStart").status, proto::Status::kUnknownItem);
  EXPECT_EQ(store->count(), 10);
  // The applied request ids survived too.
  const TradeResult again = store->trade(trade("r1", "Tux", proto::Side::kBuy, 10));
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(store->lookup("Tux").item.quantity, 90);
}

TEST_F(CatalogItemStore, ConcurrentBuysFromSeparateStoresNeverOversell) {
  constexpr int kThreads = 4;
  constexpr int kBuysPerThread = 50;
  std::vector<std::unique_ptr<ItemStore>> stores;
  for (int t = 0; t < kThreads; ++t) stores.push_back(open());
  // Few items, so contention is real: 200 buys of 1 against 100 Tux.
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBuysPerThread; ++i) {
        // Built piecewise: GCC 12 warns (-Wrestrict, a false positive) on the chained form.
        std::string id = std::to_string(t);
        id += '-';
        id += std::to_string(i);
        const TradeResult r =
            stores[static_cast<std::size_t>(t)]->trade(trade(id, "Tux", proto::Side::kBuy, 1));
        if (r.status == proto::Status::kOk) {
          ++ok;
        } else if (r.status == proto::Status::kInsufficient) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(refused.load(), 100);
  EXPECT_EQ(other.load(), 0);
  const LookupResult tux = stores[0]->lookup("Tux");
  EXPECT_EQ(tux.item.quantity, 0);
  EXPECT_EQ(tux.item.volume, 100);
  EXPECT_EQ(tux.item.version, 101u);
}

TEST_F(CatalogItemStore, ReadOnlyItemsReadsWithoutWritingOrCreating) {
  const DumpResult missing = ItemStore::read_only_items(path_);
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.error.find("no such file"), std::string::npos) << missing.error;
  EXPECT_NE(::access(path_.c_str(), F_OK), 0);  // not created

  auto store = open();
  ASSERT_EQ(store->trade(trade("r1", "Whale", proto::Side::kBuy, 4)).status, proto::Status::kOk);
  const DumpResult d = ItemStore::read_only_items(path_);  // while the store is open
  ASSERT_TRUE(d.ok) << d.error;
  ASSERT_EQ(d.items.size(), 10u);
  EXPECT_EQ(d.items[0].name, "Tux");
  EXPECT_EQ(d.items[1].name, "Whale");
  EXPECT_EQ(d.items[1].quantity, 96);
}

TEST_F(CatalogItemStore, NotACatalogDatabaseIsAStartupError) {
  {
    std::FILE* f = std::fopen(path_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not sqlite, just text long enough to be looked at as a header......", f);
    std::fclose(f);
  }
  EXPECT_THROW(open(), common::StartupError);
  EXPECT_FALSE(ItemStore::read_only_items(path_).ok);
  remove_files();
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("CREATE TABLE other (x INTEGER)");
  }
  EXPECT_THROW(open(), common::StartupError);
  const DumpResult d = ItemStore::read_only_items(path_);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.error.find("not a catalog database"), std::string::npos) << d.error;
}

TEST_F(CatalogItemStore, UnopenablePathIsAStartupError) {
  EXPECT_THROW(
      std::make_unique<ItemStore>(testing::TempDir() + "no/such/dir/x.db", toys_seed(), "toys"),
      common::StartupError);
}

}  // namespace
}  // namespace bazaar::catalog
