// Order logic against a real SQLite log and a fake catalog.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "order/order_handler.h"
#include "proto_msgs/codec.h"

namespace bazaar::order {
namespace {

// A catalog that keeps stock in a map and remembers applied ids, like the real one.
class FakeCatalog : public CatalogGateway {
 public:
  std::map<std::string, std::int64_t> stock{{"Tux", 10}};
  std::map<std::string, proto::TradeReply> applied;
  bool down = false;
  int calls = 0;

  common::CallResult<proto::TradeReply> trade(const proto::TradeRequest& t) override {
    ++calls;
    common::CallResult<proto::TradeReply> r;
    if (down) return r;  // kTimeout
    r.outcome = common::CallOutcome::kOk;
    if (auto it = applied.find(t.request_id); it != applied.end()) {
      r.reply = it->second;
      r.reply.duplicate = true;
      return r;
    }
    auto it = stock.find(t.name);
    if (it == stock.end()) {
      r.reply.status = proto::Status::kUnknownItem;
    } else if (t.side == proto::Side::kBuy && t.quantity > it->second) {
      r.reply.status = proto::Status::kInsufficient;
    } else {
      it->second += t.side == proto::Side::kBuy ? -t.quantity : t.quantity;
    }
    applied[t.request_id] = r.reply;
    return r;
  }
};

class OrderHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("order-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    log_ = std::make_unique<OrderLog>(path_.string());
    handler_ = std::make_unique<OrderHandler>(3, 1, *log_, catalog_);
  }
  void TearDown() override {
    handler_.reset();
    log_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  proto::PlaceOrderReply place(const std::string& id, const std::string& name, std::int64_t q,
                               proto::Side side = proto::Side::kBuy) {
    return handler_->place({id, name, side, q});
  }

  std::filesystem::path path_;
  FakeCatalog catalog_;
  std::unique_ptr<OrderLog> log_;
  std::unique_ptr<OrderHandler> handler_;
};

TEST_F(OrderHandlerTest, NumbersOrdersFromZeroWithoutGaps) {
  EXPECT_EQ(place("a", "Tux", 2).order_number, 0);
  EXPECT_EQ(place("b", "Nope", 1).status, proto::Status::kUnknownItem);
  EXPECT_EQ(place("c", "Tux", 100).status, proto::Status::kInsufficient);
  EXPECT_EQ(place("d", "Tux", 1, proto::Side::kSell).order_number, 1);
  EXPECT_EQ(place("e", "Tux", 9).order_number, 2);
  EXPECT_EQ(catalog_.stock["Tux"], 0);
  EXPECT_EQ(log_->size(), 3);
  auto got = handler_->get({1});
  ASSERT_EQ(got.status, proto::Status::kOk);
  EXPECT_EQ(got.order.name, "Tux");
  EXPECT_EQ(got.order.side, proto::Side::kSell);
  EXPECT_EQ(got.order.quantity, 1);
  EXPECT_EQ(handler_->get({3}).status, proto::Status::kNotFound);
}

TEST_F(OrderHandlerTest, RepeatedRequestIdReturnsFirstOutcomeOnce) {
  EXPECT_EQ(place("k", "Tux", 2).order_number, 0);
  const int calls = catalog_.calls;
  auto again = place("k", "Tux", 2);
  EXPECT_EQ(again.status, proto::Status::kOk);
  EXPECT_EQ(again.order_number, 0);
  EXPECT_EQ(catalog_.calls, calls);  // answered from the log
  EXPECT_EQ(log_->size(), 1);
  EXPECT_EQ(catalog_.stock["Tux"], 8);
  EXPECT_EQ(place("k", "Tux", 3).status, proto::Status::kConflict);
}

TEST_F(OrderHandlerTest, CatalogDownMeansUnavailableAndNothingCommitted) {
  catalog_.down = true;
  EXPECT_EQ(place("x", "Tux", 1).status, proto::Status::kUnavailable);
  EXPECT_EQ(log_->size(), 0);
  catalog_.down = false;
  EXPECT_EQ(place("x", "Tux", 1).order_number, 0);  // retry with the same id succeeds once
  EXPECT_EQ(catalog_.stock["Tux"], 9);
}

TEST_F(OrderHandlerTest, OrdersSurviveReopen) {
  place("a", "Tux", 1);
  place("b", "Tux", 2, proto::Side::kSell);
  handler_.reset();
  log_ = std::make_unique<OrderLog>(path_.string());
  EXPECT_EQ(log_->size(), 2);
  EXPECT_EQ(log_->find_by_request_id("b")->number, 1);
  std::vector<std::string> lines;
  OrderLog::dump(path_.string(), [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(lines, (std::vector<std::string>{"0 Tux buy 1", "1 Tux sell 2"}));
}

TEST_F(OrderHandlerTest, HandlesBytesAndRejectsGarbage) {
  auto rep = proto::decode<proto::PlaceOrderReply>(
      handler_->handle(proto::encode(proto::PlaceOrderRequest{"z", "Tux", proto::Side::kBuy, 1})));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->order_number, 0);
  auto st = proto::decode<proto::StatusReply>(handler_->handle(proto::encode(proto::StatusRequest{})));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->role, "leader");
  EXPECT_EQ(st->id, 3u);
  EXPECT_EQ(st->log_size, 1u);
  for (const std::string& bad :
       {std::string("garbage"), std::string(), proto::encode(proto::LookupRequest{"Tux"})}) {
    auto err = proto::decode<proto::ErrorReply>(handler_->handle(bad));
    ASSERT_TRUE(err);
    EXPECT_EQ(err->status, proto::Status::kBadRequest);
  }
  EXPECT_EQ(log_->size(), 1);
}

}  // namespace
}  // namespace bazaar::order
