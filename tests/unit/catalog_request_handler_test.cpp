#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "catalog/item_store.h"
#include "catalog/request_handler.h"
#include "catalog/seed.h"
#include "proto_msgs/codec.h"

namespace bazaar::catalog {
namespace {

constexpr std::uint64_t kIncarnation = 0xC0FFEE;

class CatalogRequestHandler : public testing::Test {
 protected:
  CatalogRequestHandler() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = testing::TempDir() + "bazaar_catalog_handler_" + info->name() + "_" +
            std::to_string(::getpid()) + ".db";
    remove_files();
    store_ = std::make_unique<ItemStore>(path_, toys_seed(), "toys");
    handler_ = std::make_unique<RequestHandler>(*store_, kIncarnation);
  }
  ~CatalogRequestHandler() override {
    handler_.reset();
    store_.reset();
    remove_files();
  }
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  // Expects `result` to be an ErrorReply with kBadRequest, and nothing changed.
  static void expect_bad_request(const HandlerResult& result, const std::string& what) {
    auto err = proto::decode<proto::ErrorReply>(result.reply);
    ASSERT_TRUE(err) << what << ": reply is not an ErrorReply";
    EXPECT_EQ(err->status, proto::Status::kBadRequest) << what;
    EXPECT_FALSE(err->message.empty()) << what;
    EXPECT_TRUE(result.changed.empty()) << what;
  }

  // Packs [version, type, body] by hand, for envelopes encode() would never produce.
  template <class Body>
  static std::string raw_envelope(std::uint64_t version, std::uint64_t type, const Body& body) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(3);
    pk.pack(version);
    pk.pack(type);
    pk.pack(body);
    return std::string(buf.data(), buf.size());
  }

  // A trade as the order leader sends it: in a batch, here of one (term 0, batch 0).
  static std::string one_trade(proto::TradeRequest trade) {
    proto::TradeBatchRequest batch;
    batch.trades = {std::move(trade)};
    return proto::encode(batch);
  }

  // The reply to the batch of one in `bytes`: its one TradeReply.
  static proto::Decoded<proto::TradeReply> trade_reply(const std::string& bytes) {
    auto batch = proto::decode<proto::TradeBatchReply>(bytes);
    if (!batch || batch->replies.size() != 1) return {std::nullopt, batch.error};
    return {batch->replies[0], proto::DecodeError::kNone};
  }

  std::string path_;
  std::unique_ptr<ItemStore> store_;
  std::unique_ptr<RequestHandler> handler_;
};

TEST_F(CatalogRequestHandler, StatusReplyDescribesTheCatalog) {
  const HandlerResult r = handler_->handle(proto::encode(proto::StatusRequest{}));
  auto rep = proto::decode<proto::StatusReply>(r.reply);
  ASSERT_TRUE(rep) << proto::to_string(rep.error);
  EXPECT_EQ(rep->service, "catalog");
  EXPECT_EQ(rep->id, 0u);
  EXPECT_EQ(rep->role, "serving");
  EXPECT_EQ(rep->leader_id, -1);
  EXPECT_EQ(rep->incarnation, kIncarnation);
  EXPECT_EQ(rep->log_size, 10u);
  EXPECT_TRUE(r.changed.empty());
}

TEST_F(CatalogRequestHandler, LookupKnownAndUnknown) {
  auto rep = proto::decode<proto::LookupReply>(
      handler_->handle(proto::encode(proto::LookupRequest{"Bird"})).reply);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, proto::Status::kOk);
  EXPECT_EQ(rep->item.name, "Bird");
  EXPECT_EQ(rep->item.price_cents, 3999);
  EXPECT_EQ(rep->item.quantity, 100);
  EXPECT_EQ(rep->item.version, 1u);
  EXPECT_EQ(rep->incarnation, kIncarnation);

  auto unknown = proto::decode<proto::LookupReply>(
      handler_->handle(proto::encode(proto::LookupRequest{"Nope"})).reply);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, proto::Status::kUnknownItem);
  EXPECT_EQ(unknown->incarnation, kIncarnation);
}

TEST_F(CatalogRequestHandler, ListInSeedOrder) {
  auto rep =
      proto::decode<proto::ListReply>(handler_->handle(proto::encode(proto::ListRequest{})).reply);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, proto::Status::kOk);
  ASSERT_EQ(rep->items.size(), 10u);
  EXPECT_EQ(rep->items.front().name, "Tux");
  EXPECT_EQ(rep->items.back().name, "Clue");
  EXPECT_EQ(rep->incarnation, kIncarnation);
}

TEST_F(CatalogRequestHandler, TradeReportsTheChangedItem) {
  const HandlerResult r =
      handler_->handle(one_trade(proto::TradeRequest{"id-1", "Jenga", proto::Side::kBuy, 4}));
  auto rep = trade_reply(r.reply);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, proto::Status::kOk);
  EXPECT_FALSE(rep->duplicate);
  EXPECT_EQ(rep->item.quantity, 96);
  EXPECT_EQ(rep->item.version, 2u);
  ASSERT_EQ(r.changed.size(), 1u);
  EXPECT_EQ(r.changed[0].name, "Jenga");
  EXPECT_EQ(r.changed[0].version, 2u);

  // The repeat changes nothing, so there is nothing to invalidate.
  const HandlerResult again =
      handler_->handle(one_trade(proto::TradeRequest{"id-1", "Jenga", proto::Side::kBuy, 4}));
  auto rep2 = trade_reply(again.reply);
  ASSERT_TRUE(rep2);
  EXPECT_EQ(rep2->status, proto::Status::kOk);
  EXPECT_TRUE(rep2->duplicate);
  EXPECT_EQ(rep2->item.version, 2u);
  EXPECT_TRUE(again.changed.empty());
}

TEST_F(CatalogRequestHandler, RefusedAndUnknownTradesChangeNothing) {
  const HandlerResult big =
      handler_->handle(one_trade(proto::TradeRequest{"a", "Tux", proto::Side::kBuy, 1000}));
  auto rep = trade_reply(big.reply);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, proto::Status::kInsufficient);
  EXPECT_TRUE(big.changed.empty());

  const HandlerResult unknown =
      handler_->handle(one_trade(proto::TradeRequest{"b", "Nope", proto::Side::kSell, 1}));
  auto rep2 = trade_reply(unknown.reply);
  ASSERT_TRUE(rep2);
  EXPECT_EQ(rep2->status, proto::Status::kUnknownItem);
  EXPECT_TRUE(unknown.changed.empty());
}

TEST_F(CatalogRequestHandler, GarbageGetsAnErrorReply) {
  expect_bad_request(handler_->handle(""), "empty");
  expect_bad_request(handler_->handle("hello, catalog"), "text");
  expect_bad_request(handler_->handle(std::string("\xC1\xC1\xC1", 3)), "reserved bytes");
  expect_bad_request(handler_->handle(std::string("\xDD\xFF\xFF\xFF\xFF", 5)), "huge array header");
  std::string truncated = proto::encode(proto::LookupRequest{"Tux"});
  truncated.pop_back();
  expect_bad_request(handler_->handle(truncated), "truncated");
  expect_bad_request(handler_->handle(proto::encode(proto::LookupRequest{"Tux"}) + "x"),
                     "trailing bytes");
  expect_bad_request(handler_->handle(std::string(proto::kMaxMessageBytes + 1, '\x90')),
                     "oversized");
}

TEST_F(CatalogRequestHandler, UnknownAndUnexpectedTypesGetAnErrorReply) {
  expect_bad_request(handler_->handle(raw_envelope(proto::kProtocolVersion, 999, 0)),
                     "unknown type");
  expect_bad_request(handler_->handle(raw_envelope(2, 10, std::make_tuple(std::string("Tux")))),
                     "other protocol version");
  expect_bad_request(handler_->handle(proto::encode(proto::GetOrderRequest{3})), "order request");
  expect_bad_request(handler_->handle(proto::encode(proto::LookupReply{})), "a reply");
  expect_bad_request(handler_->handle(proto::encode(proto::ErrorReply{})), "an error reply");
  // A trade alone: every trade travels in a batch (the order leader's group commit).
  expect_bad_request(
      handler_->handle(proto::encode(proto::TradeRequest{"id", "Tux", proto::Side::kBuy, 1})),
      "a trade outside a batch");
}

TEST_F(CatalogRequestHandler, WrongShapesAndBadFieldsGetAnErrorReply) {
  const auto lookup = static_cast<std::uint64_t>(proto::MessageType::kLookupRequest);
  const auto batch = static_cast<std::uint64_t>(proto::MessageType::kTradeBatchRequest);
  using RawTrade = std::tuple<std::string, std::string, int, int>;
  expect_bad_request(handler_->handle(raw_envelope(proto::kProtocolVersion, lookup, 42)),
                     "body not an array");
  expect_bad_request(
      handler_->handle(raw_envelope(proto::kProtocolVersion, lookup, std::make_tuple())),
      "missing field");
  expect_bad_request(
      handler_->handle(raw_envelope(proto::kProtocolVersion, lookup, std::make_tuple(7))),
      "name of the wrong type");
  expect_bad_request(
      handler_->handle(raw_envelope(proto::kProtocolVersion, batch,
                                    std::make_tuple(std::vector<RawTrade>{{"id", "Tux", 9, 1}}, 0,
                                                    std::vector<std::string>{}, 0))),
      "side out of range");
  expect_bad_request(
      handler_->handle(one_trade(proto::TradeRequest{"id", "Tux", proto::Side::kBuy, 0})),
      "quantity 0");
  expect_bad_request(
      handler_->handle(one_trade(proto::TradeRequest{"id", "Tux", proto::Side::kBuy, -5})),
      "negative quantity");
  expect_bad_request(
      handler_->handle(one_trade(proto::TradeRequest{"id", "Tux", proto::Side::kBuy, 1LL << 40})),
      "quantity over 2^31-1");
  expect_bad_request(
      handler_->handle(one_trade(proto::TradeRequest{"", "Tux", proto::Side::kBuy, 1})),
      "empty request id");
  expect_bad_request(handler_->handle(proto::encode(
                         proto::LookupRequest{std::string(proto::kMaxNameBytes + 1, 'x')})),
                     "name too long");
  // None of it changed anything.
  EXPECT_EQ(store_->lookup("Tux").item.quantity, 100);
  EXPECT_EQ(store_->lookup("Tux").item.version, 1u);
}

}  // namespace
}  // namespace bazaar::catalog
