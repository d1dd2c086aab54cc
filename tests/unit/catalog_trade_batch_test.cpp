// A batch of trades in one transaction behaves exactly like the same trades one by one.
#include <gtest/gtest.h>

#include <cstdio>

#include "catalog/item_store.h"
#include "catalog/request_handler.h"
#include "catalog/seed.h"
#include "proto_msgs/codec.h"

namespace bazaar::catalog {
namespace {

class CatalogTradeBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "bazaar_trade_batch_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    remove_files();
    store_ = std::make_unique<ItemStore>(path_, toys_seed(), "toys");
  }
  void TearDown() override {
    store_.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }
  static proto::TradeRequest t(const std::string& id, const std::string& name, proto::Side side,
                               std::int64_t q) {
    return {id, name, side, q};
  }

  std::string path_;
  std::unique_ptr<ItemStore> store_;
};

TEST_F(CatalogTradeBatch, EachTradeIsJudgedInOrderAndRepeatsAreRecognised) {
  auto r = store_->trade_batch(
      {t("a", "Tux", proto::Side::kBuy, 60), t("b", "Tux", proto::Side::kBuy, 60),  // only 40 left
       t("c", "Tux", proto::Side::kSell, 5), t("d", "Nope", proto::Side::kBuy, 1),
       t("a", "Tux", proto::Side::kBuy, 60),    // repeat of a
       t("a", "Tux", proto::Side::kBuy, 61)});  // a, different order
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].status, proto::Status::kOk);
  EXPECT_EQ(r[0].item.quantity, 40);
  EXPECT_EQ(r[1].status, proto::Status::kInsufficient);
  EXPECT_EQ(r[2].status, proto::Status::kOk);
  EXPECT_EQ(r[2].item.quantity, 45);
  EXPECT_EQ(r[3].status, proto::Status::kUnknownItem);
  EXPECT_TRUE(r[4].duplicate);
  EXPECT_EQ(r[4].item.quantity, 40);  // the first outcome
  EXPECT_EQ(r[5].status, proto::Status::kConflict);
  EXPECT_EQ(store_->lookup("Tux").item.quantity, 45);
  // And a later single trade sees the batch's record of "b".
  EXPECT_TRUE(store_->trade(t("b", "Tux", proto::Side::kBuy, 60)).duplicate);
}

TEST_F(CatalogTradeBatch, HandlerAnswersABatchAndReportsChangedItems) {
  RequestHandler h(*store_, 7);
  proto::TradeBatchRequest req;
  req.trades = {t("x", "Whale", proto::Side::kBuy, 1), t("y", "Risk", proto::Side::kSell, 2),
                t("z", "Risk", proto::Side::kBuy, 1000)};
  HandlerResult out = h.handle(proto::encode(req));
  auto rep = proto::decode<proto::TradeBatchReply>(out.reply);
  ASSERT_TRUE(rep) << proto::to_string(rep.error);
  ASSERT_EQ(rep->replies.size(), 3u);
  EXPECT_EQ(rep->replies[0].item.quantity, 99);
  EXPECT_EQ(rep->replies[1].item.quantity, 102);
  EXPECT_EQ(rep->replies[2].status, proto::Status::kInsufficient);
  ASSERT_EQ(out.changed.size(), 2u);  // refused trades publish nothing
  // An empty batch is malformed.
  auto err =
      proto::decode<proto::ErrorReply>(h.handle(proto::encode(proto::TradeBatchRequest{})).reply);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, proto::Status::kBadRequest);
}

}  // namespace
}  // namespace bazaar::catalog
