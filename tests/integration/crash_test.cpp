// One test per crash kind (issue 5): the leader dying between the catalog's change and the log's
// commit, the catalog restarting under load, the broker restarting under load. Each ends with the
// G1-G3 ledger check on the quiet cluster.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <zmq.hpp>

#include "client/http_client.h"
#include "cluster.h"
#include "common/rpc_client.h"
#include "order_load.h"

namespace bazaar::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json order_body(const std::string& name, int quantity, const std::string& type) {
  return json{{"name", name}, {"quantity", quantity}, {"type", type}};
}

TEST(Crash, LeaderDyingAfterTheCatalogAppliedATradeLeavesNoOrphan) {
  Cluster c({.catalog = "stocks"});
  c.start_all();
  client::HttpClient http("http://127.0.0.1:" + std::to_string(c.http_port()), 5s);
  auto first = http.request("POST", "/orders", order_body("FishCo", 1, "buy").dump());
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.reply.status, 200u) << first.reply.body;

  const std::string leader = c.leader();
  ASSERT_FALSE(leader.empty());
  zmq::context_t ctx(1);
  common::RpcClient leader_rpc(ctx, c.endpoint(leader));
  auto st = leader_rpc.call<proto::StatusReply>(proto::StatusRequest{}, 2s);
  ASSERT_TRUE(st.ok()) << st.error;

  // Exactly what a leader does before it logs an order: the trade, under its term, at the
  // catalog. Then it dies, before the entry is written anywhere.
  common::RpcClient catalog_rpc(ctx, c.endpoint("catalog"));
  proto::TradeBatchRequest batch;
  batch.term = st.reply.term;
  batch.trades = {{"orphan-1", "FishCo", proto::Side::kBuy, 7}};
  auto applied = catalog_rpc.call<proto::TradeBatchReply>(batch, 2s);
  ASSERT_TRUE(applied.ok()) << applied.error;
  ASSERT_EQ(applied.reply.replies.at(0).status, proto::Status::kOk);
  c.kill(leader);

  // The next leader reconciles before it serves: the trade gets its order (number 1), and the
  // client's retry of the same key finds it instead of trading again.
  auto retry = http.request("POST", "/orders", order_body("FishCo", 7, "buy").dump(),
                            {{"Idempotency-Key", "orphan-1"}});
  ASSERT_TRUE(retry.ok()) << retry.message;
  ASSERT_EQ(retry.reply.status, 200u) << retry.reply.body;
  EXPECT_EQ(json::parse(retry.reply.body)["data"]["order_number"], 1);
  // The same key with another body is refused, and changes nothing.
  auto other = http.request("POST", "/orders", order_body("FishCo", 8, "buy").dump(),
                            {{"Idempotency-Key", "orphan-1"}});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other.reply.status, 422u) << other.reply.body;
  EXPECT_NE(other.reply.body.find("Idempotency"), std::string::npos) << other.reply.body;

  // The dead leader's term is fenced off: a late trade of it changes no stock.
  batch.trades = {{"late-1", "FishCo", proto::Side::kBuy, 5}};
  auto late = catalog_rpc.call<proto::TradeBatchReply>(batch, 2s);
  ASSERT_TRUE(late.ok()) << late.error;
  EXPECT_EQ(late.reply.replies.at(0).status, proto::Status::kNotLeader);

  c.start(leader);
  ASSERT_TRUE(c.wait_healthy(leader));
  EXPECT_EQ(check_log_and_stock(c), 2u);  // FishCo: 100 - 1 - 7, once
}

TEST(Crash, CatalogRestartUnderLoadDelaysOrdersAndAppliesEachOnce) {
  Cluster c({.catalog = "stocks"});
  c.start_all();
  OrderLoad load(c.http_port(), 4);
  std::this_thread::sleep_for(700ms);
  c.kill("catalog");
  std::this_thread::sleep_for(800ms);
  c.start("catalog");  // same database file
  ASSERT_TRUE(c.wait_healthy("catalog"));
  std::this_thread::sleep_for(1s);
  load.stop();
  // Orders waited (the front end retries within its 3 s deadline); none failed or doubled.
  EXPECT_EQ(load.errors(), 0) << load.error_sample();
  EXPECT_GT(load.acknowledged(), 10);
  EXPECT_EQ(check_log_and_stock(c), static_cast<std::size_t>(load.acknowledged()));
  load.print_figures("catalog restart");
}

TEST(Crash, BrokerRestartUnderLoadReconnectsEveryoneAndLosesNothing) {
  Cluster c({.catalog = "stocks"});
  c.start_all();
  client::HttpClient http("http://127.0.0.1:" + std::to_string(c.http_port()), 5s);
  const auto health = [&http] {
    auto r = http.request("GET", "/health", "");
    return r.ok() && r.reply.status == 200 ? json::parse(r.reply.body)["data"] : json::object();
  };
  ASSERT_LE(time_until([&] { return health().value("bus", false); }, 5000ms), 5000ms);
  const std::string leader = c.leader();

  OrderLoad load(c.http_port(), 4);
  std::this_thread::sleep_for(500ms);
  c.kill("broker");
  // Orders do not need the bus: the front end keeps the leader it knows.
  EXPECT_LE(time_until([&] { return !health().value("bus", true); }, 3000ms), 3000ms);
  std::this_thread::sleep_for(500ms);
  c.start("broker");
  ASSERT_TRUE(c.wait_healthy("broker"));
  // Everyone reconnects: heartbeats reach the front end again, and the leader's next
  // announcement names the same leader.
  EXPECT_LE(time_until([&] { return health().value("bus", false); }, 5000ms), 5000ms);
  std::this_thread::sleep_for(500ms);
  load.stop();
  EXPECT_EQ(c.leader(), leader);
  EXPECT_EQ(load.errors(), 0) << load.error_sample();
  EXPECT_GT(load.acknowledged(), 10);
  EXPECT_EQ(check_log_and_stock(c), static_cast<std::size_t>(load.acknowledged()));
}

}  // namespace
}  // namespace bazaar::testing
