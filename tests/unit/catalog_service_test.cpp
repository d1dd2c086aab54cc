// The catalog service end to end inside one process: real sockets on loopback, real SQLite file.
#include "catalog/catalog_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>
#include <zmq_addon.hpp>

#include "catalog/seed.h"
#include "common/cli.h"
#include "common/rpc_client.h"
#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::catalog {
namespace {

using namespace std::chrono_literals;

class CatalogServiceTest : public testing::Test {
 protected:
  CatalogServiceTest() : bus_(ctx_, zmq::socket_type::sub) {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = testing::TempDir() + "bazaar_catalog_service_" + info->name() + "_" +
            std::to_string(::getpid()) + ".db";
    remove_files();
    // The test plays the broker: a SUB bound where the catalog's PUB connects.
    common::configure_socket(bus_);
    bus_.set(zmq::sockopt::subscribe, proto::kTopicInvalidation);
    bus_.bind("tcp://127.0.0.1:*");
  }
  ~CatalogServiceTest() override {
    stop();
    remove_files();
  }

  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  CatalogConfig config() {
    CatalogConfig c;
    c.endpoint = "tcp://127.0.0.1:*";
    c.bus = bus_.get(zmq::sockopt::last_endpoint);
    c.db_path = path_;
    c.seed = toys_seed();
    c.seed_label = "toys";
    c.workers = 2;
    return c;
  }

  void start(CatalogConfig c) {
    service_ = std::make_unique<CatalogService>(std::move(c));
    runner_ = std::thread([this] { service_->run(); });
    client_ = std::make_unique<common::RpcClient>(ctx_, service_->bound_endpoint());
  }

  void stop() {
    if (!service_) return;
    service_->stop();
    if (runner_.joinable()) runner_.join();
    service_.reset();
  }

  // One trade as the order leader sends it, in a batch (here of one: term 0, batch 0); its
  // one reply as the outcome.
  common::CallResult<proto::TradeReply> trade(proto::TradeRequest t) {
    proto::TradeBatchRequest batch;
    batch.trades = {std::move(t)};
    auto r = client_->call<proto::TradeBatchReply>(batch, 2000ms);
    common::CallResult<proto::TradeReply> out;
    out.outcome = r.outcome;
    out.error = r.error;
    if (r.ok() && r.reply.replies.size() != 1) {
      out.outcome = common::CallOutcome::kBadReply;
      out.error = "not one reply for one trade";
    } else if (r.ok()) {
      out.reply = r.reply.replies[0];
    }
    return out;
  }

  // The next invalidation on the bus, if one arrives within `timeout`.
  std::optional<proto::Invalidation> next_invalidation(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{bus_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(bus_, std::back_inserter(parts))) return std::nullopt;
    EXPECT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].to_string(), proto::kTopicInvalidation);
    auto inv = proto::decode<proto::Invalidation>(parts.back().to_string_view());
    EXPECT_TRUE(inv) << proto::to_string(inv.error);
    if (!inv) return std::nullopt;
    return *inv;
  }

  zmq::context_t ctx_;
  zmq::socket_t bus_;
  std::string path_;
  std::unique_ptr<CatalogService> service_;
  std::thread runner_;
  std::unique_ptr<common::RpcClient> client_;
};

TEST_F(CatalogServiceTest, AnswersStatusLookupListAndGarbage) {
  start(config());
  auto status = client_->call<proto::StatusReply>(proto::StatusRequest{}, 2000ms);
  ASSERT_TRUE(status.ok()) << status.error;
  EXPECT_EQ(status.reply.service, "catalog");
  EXPECT_EQ(status.reply.incarnation, service_->incarnation());
  EXPECT_EQ(status.reply.log_size, 10u);

  auto tux = client_->call<proto::LookupReply>(proto::LookupRequest{"Tux"}, 2000ms);
  ASSERT_TRUE(tux.ok()) << tux.error;
  EXPECT_EQ(tux.reply.status, proto::Status::kOk);
  EXPECT_EQ(tux.reply.item.price_cents, 2599);

  auto all = client_->call<proto::ListReply>(proto::ListRequest{}, 2000ms);
  ASSERT_TRUE(all.ok()) << all.error;
  EXPECT_EQ(all.reply.items.size(), 10u);

  std::string reply;
  ASSERT_EQ(client_->call_raw("garbage", 2000ms, reply), common::CallOutcome::kOk);
  auto err = proto::decode<proto::ErrorReply>(reply);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, proto::Status::kBadRequest);

  // Still serving after the garbage.
  EXPECT_TRUE(client_->call<proto::StatusReply>(proto::StatusRequest{}, 2000ms).ok());
}

TEST_F(CatalogServiceTest, MultiFrameRequestGetsAnErrorReply) {
  start(config());
  zmq::socket_t req(ctx_, zmq::socket_type::req);
  common::configure_socket(req);
  req.connect(service_->bound_endpoint());
  ASSERT_TRUE(req.send(zmq::str_buffer("one"), zmq::send_flags::sndmore));
  ASSERT_TRUE(req.send(zmq::str_buffer("two"), zmq::send_flags::none));
  zmq::pollitem_t item{req.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, 2000ms), 1);
  zmq::message_t msg;
  ASSERT_TRUE(req.recv(msg));
  auto err = proto::decode<proto::ErrorReply>(msg.to_string_view());
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, proto::Status::kBadRequest);
}

TEST_F(CatalogServiceTest, TradePublishesAnInvalidationWithTheNewVersion) {
  start(config());
  // PUB/SUB connects in the background: trade until the first invalidation gets through.
  std::optional<proto::Invalidation> inv;
  std::uint64_t version = 0;
  for (int i = 0; i < 20 && !inv; ++i) {
    auto r = trade(proto::TradeRequest{"req-" + std::to_string(i), "Tux", proto::Side::kBuy, 1});
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.reply.status, proto::Status::kOk);
    version = r.reply.item.version;
    inv = next_invalidation(200ms);
  }
  ASSERT_TRUE(inv) << "no invalidation arrived";
  EXPECT_EQ(inv->name, "Tux");
  EXPECT_LE(inv->version, version);
  EXPECT_EQ(inv->header.publisher, "catalog");
  EXPECT_EQ(inv->header.incarnation, service_->incarnation());

  // Now the link is up: the next trade's invalidation carries exactly its version.
  while (next_invalidation(50ms)) {
  }
  auto r = trade(proto::TradeRequest{"req-last", "Uno", proto::Side::kSell, 3});
  ASSERT_TRUE(r.ok()) << r.error;
  auto last = next_invalidation(2000ms);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->name, "Uno");
  EXPECT_EQ(last->version, r.reply.item.version);

  // A repeated request changes nothing and publishes nothing.
  auto dup = trade(proto::TradeRequest{"req-last", "Uno", proto::Side::kSell, 3});
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup.reply.duplicate);
  EXPECT_FALSE(next_invalidation(200ms));
}

TEST_F(CatalogServiceTest, ABatchPublishesOneInvalidationPerItemWithItsNewestVersion) {
  start(config());
  // Wait for the bus link with trades of one, as above.
  bool linked = false;
  for (int i = 0; i < 20 && !linked; ++i) {
    auto r = trade(proto::TradeRequest{"warm-" + std::to_string(i), "Tux", proto::Side::kSell, 1});
    ASSERT_TRUE(r.ok()) << r.error;
    linked = next_invalidation(200ms).has_value();
  }
  ASSERT_TRUE(linked) << "no invalidation arrived";
  while (next_invalidation(50ms)) {
  }
  proto::TradeBatchRequest batch;
  batch.term = 1;
  batch.trades = {{"b-1", "Tux", proto::Side::kBuy, 1},
                  {"b-2", "Uno", proto::Side::kBuy, 1},
                  {"b-3", "Tux", proto::Side::kSell, 2},
                  {"b-4", "Tux", proto::Side::kBuy, 1}};
  auto r = client_->call<proto::TradeBatchReply>(batch, 2000ms);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.reply.replies.size(), 4u);
  std::map<std::string, std::vector<std::uint64_t>> seen;
  while (auto inv = next_invalidation(300ms)) seen[inv->name].push_back(inv->version);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["Tux"], std::vector<std::uint64_t>{r.reply.replies[3].item.version});
  EXPECT_EQ(seen["Uno"], std::vector<std::uint64_t>{r.reply.replies[1].item.version});
}

TEST_F(CatalogServiceTest, RestockRefillsSoldOutItemsAndPublishes) {
  CatalogConfig c = config();
  c.restock_interval = 100ms;
  c.restock_to = 50;
  start(std::move(c));
  auto r = trade(proto::TradeRequest{"all-clue", "Clue", proto::Side::kBuy, 100});
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.reply.item.quantity, 0);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  std::int64_t quantity = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto clue = client_->call<proto::LookupReply>(proto::LookupRequest{"Clue"}, 2000ms);
    ASSERT_TRUE(clue.ok());
    quantity = clue.reply.item.quantity;
    if (quantity != 0) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(quantity, 50);
}

TEST_F(CatalogServiceTest, StopsPromptly) {
  start(config());
  ASSERT_TRUE(client_->call<proto::StatusReply>(proto::StatusRequest{}, 2000ms).ok());
  const auto t0 = std::chrono::steady_clock::now();
  stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST_F(CatalogServiceTest, RestockDefaultFollowsWhatTheDatabaseHolds) {
  {
    CatalogService toys(config());  // creates a toys database
    EXPECT_TRUE(toys.created_database());
    EXPECT_EQ(toys.restock_interval(), 10s);
  }
  CatalogConfig c = config();
  c.seed = stocks_seed();
  c.seed_label = "stocks";
  {
    CatalogService reopened(c);  // the database still holds toys: toys' default
    EXPECT_FALSE(reopened.created_database());
    EXPECT_EQ(reopened.database_seed_label(), "toys");
    EXPECT_EQ(reopened.restock_interval(), 10s);
  }
  c.restock_interval = 0ms;
  EXPECT_EQ(CatalogService(c).restock_interval(), 0ms);
  EXPECT_EQ(CatalogService::default_restock_interval("stocks"), 0ms);
  EXPECT_EQ(CatalogService::default_restock_interval("csv:/x.csv"), 0ms);
}

TEST_F(CatalogServiceTest, BusyEndpointIsAStartupError) {
  start(config());
  CatalogConfig c = config();
  c.endpoint = service_->bound_endpoint();
  EXPECT_THROW(CatalogService{std::move(c)}, common::StartupError);
}

}  // namespace
}  // namespace bazaar::catalog
