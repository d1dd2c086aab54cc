// End to end: the real binaries, over real HTTP and ZeroMQ, with real SQLite files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <zmq.hpp>

#include "client/http_client.h"
#include "cluster.h"
#include "common/rpc_client.h"

namespace bazaar::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  json body;
  std::string retry_after;
};

// One keep-alive HTTP connection to a frontend of the cluster.
class Http {
 public:
  explicit Http(int port) : client_("http://127.0.0.1:" + std::to_string(port), 5000ms) {}
  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const client::HeaderList& headers = {}) {
    auto r = client_.request(method, target, body, headers);
    Reply out;
    if (!r.ok()) {
      ADD_FAILURE() << method << " " << target << ": " << r.message;
      return out;
    }
    out.status = static_cast<int>(r.reply.status);
    out.body = json::parse(r.reply.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(out.body.is_discarded()) << "not JSON: " << r.reply.body;
    if (const std::string* ra = r.reply.header("Retry-After")) out.retry_after = *ra;
    return out;
  }
  Reply get(const std::string& target) { return call("GET", target); }
  Reply order(const std::string& name, int quantity, const std::string& type = "buy",
              const std::string& key = "") {
    json b{{"name", name}, {"quantity", quantity}, {"type", type}};
    client::HeaderList h;
    if (!key.empty()) h.emplace_back("Idempotency-Key", key);
    return call("POST", "/orders", b.dump(), h);
  }
  int quantity(const std::string& name) {
    auto r = get("/products/" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.body["data"]["quantity"].get<int>() : -1;
  }

 private:
  client::HttpClient client_;
};

TEST(EndToEnd, LookupServesBothEditionsRoutes) {
  Cluster c;
  c.start_all();
  Http http(c.http_port());
  auto r = http.get("/products/Tux");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json::parse(R"({"data":{"name":"Tux","price":25.99,"quantity":100}})"));
  EXPECT_EQ(http.get("/stocks/Whale").body["data"]["price"], 34.99);
  auto list = http.get("/products");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["data"].size(), 10u);
  auto missing = http.get("/products/Nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["error"]["code"], 404);
}

TEST(EndToEnd, BuySellAndOrderQuery) {
  Cluster c;
  c.start_all();
  Http http(c.http_port());
  auto buy = http.order("Tux", 3);
  ASSERT_EQ(buy.status, 200) << buy.body;
  EXPECT_EQ(buy.body, json::parse(R"({"data":{"transaction_number":0,"order_number":0}})"));
  auto sell = http.order("Tux", 1, "sell");
  ASSERT_EQ(sell.status, 200);
  EXPECT_EQ(sell.body["data"]["order_number"], 1);
  EXPECT_EQ(http.quantity("Tux"), 98);

  auto q = http.get("/orders/0");
  ASSERT_EQ(q.status, 200);
  EXPECT_EQ(q.body, json::parse(R"({"data":{"number":0,"name":"Tux","type":"buy","quantity":3}})"));
  EXPECT_EQ(http.get("/orders/1").body["data"]["type"], "sell");
  EXPECT_EQ(http.get("/orders/2").status, 404);

  // Refused orders change nothing and take no number.
  EXPECT_EQ(http.order("Tux", 99).status, 409);
  EXPECT_EQ(http.order("Nope", 1).status, 404);
  EXPECT_EQ(http.quantity("Tux"), 98);
  EXPECT_EQ(http.order("Tux", 98).body["data"]["order_number"], 2);
  EXPECT_EQ(http.quantity("Tux"), 0);

  EXPECT_EQ(c.converged_orders(),
            (std::vector<std::string>{"0 Tux buy 3", "1 Tux sell 1", "2 Tux buy 98"}));
  EXPECT_EQ(c.dump_catalog().front(), "Tux 25.99 0");
}

TEST(EndToEnd, IdempotencyKeyMakesOneOrder) {
  Cluster c;
  c.start_all();
  Http http(c.http_port());
  auto first = http.order("Whale", 2, "buy", "key-1");
  auto again = http.order("Whale", 2, "buy", "key-1");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(first.body, again.body);
  EXPECT_EQ(http.quantity("Whale"), 98);
  EXPECT_EQ(c.converged_orders().size(), 1u);
}

TEST(EndToEnd, DataSurvivesRestartOfCatalogAndOrderService) {
  Cluster c;
  c.start_all();
  {
    Http http(c.http_port());
    ASSERT_EQ(http.order("Jenga", 5).status, 200);
    ASSERT_EQ(http.order("Uno", 4, "sell").status, 200);
  }
  const auto before = c.converged_orders();
  EXPECT_EQ(before, (std::vector<std::string>{"0 Jenga buy 5", "1 Uno sell 4"}));
  c.kill("catalog");
  for (int k = 1; k <= c.replicas(); ++k) c.kill("order-" + std::to_string(k));
  EXPECT_EQ(c.dump_orders(2), before);  // dumps work on stopped replicas
  c.start("catalog");
  for (int k = 1; k <= c.replicas(); ++k) c.start("order-" + std::to_string(k));
  ASSERT_TRUE(c.wait_healthy("frontend-1"));
  Http http(c.http_port());
  EXPECT_EQ(http.quantity("Jenga"), 95);
  EXPECT_EQ(http.quantity("Uno"), 104);
  EXPECT_EQ(http.get("/orders/1").body["data"]["name"], "Uno");
  // Numbering continues after the restart.
  auto next = http.order("Jenga", 1);
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.body["data"]["order_number"], 2);
}

TEST(EndToEnd, StocksFlavourAndCsvCatalog) {
  {
    Cluster c({.catalog = "stocks"});
    c.start_all();
    Http http(c.http_port());
    EXPECT_EQ(http.get("/stocks/GameStart").body["data"]["price"], 15.99);
    EXPECT_EQ(http.get("/stocks/Tux").status, 404);
    ASSERT_EQ(http.order("MenhirCo", 10).status, 200);
    EXPECT_EQ(http.get("/stocks/MenhirCo").body["data"]["quantity"], 90);
  }
  const std::string csv = ::testing::TempDir() + "/bazaar-e2e-catalog.csv";
  std::ofstream(csv) << "name,price,quantity\nWidget,1.50,3\nGadget,20,7\n";
  Cluster c({.catalog = csv});
  c.start_all();
  Http http(c.http_port());
  EXPECT_EQ(http.get("/products/Widget").body,
            json::parse(R"({"data":{"name":"Widget","price":1.5,"quantity":3}})"));
  EXPECT_EQ(http.order("Widget", 4).status, 409);
  EXPECT_EQ(http.get("/products").body["data"].size(), 2u);
}

TEST(EndToEnd, RestockRefillsSoldOutToys) {
  Cluster c({.catalog_args = {"--restock-interval", "1"}});
  c.start_all();
  Http http(c.http_port());
  ASSERT_EQ(http.order("Clue", 100).status, 200);
  int q = -1;
  for (int i = 0; i < 40 && q != 100; ++i) {
    std::this_thread::sleep_for(100ms);
    q = http.quantity("Clue");
  }
  EXPECT_EQ(q, 100);
}

TEST(EndToEnd, CatalogDownMeansOrdersAnswer503WithRetryAfter) {
  Cluster c({.frontend_args = {"--request-timeout", "1000"}});
  c.start_all();
  Http http(c.http_port());
  c.kill("catalog");
  const auto start = std::chrono::steady_clock::now();
  auto r = http.order("Tux", 1, "buy", "outage-key");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_FALSE(r.retry_after.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  c.start("catalog");
  // A 503 does not say the order was not made (the catalog may have applied it just as the
  // deadline passed): the client retries with the same key, and gets exactly one order.
  Reply again;
  for (int i = 0; i < 20 && again.status != 200; ++i) {
    again = http.order("Tux", 1, "buy", "outage-key");
    if (again.status != 200) std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(c.converged_orders().size(), 1u);
  EXPECT_EQ(http.quantity("Tux"), 99);
}

TEST(EndToEnd, ServicesAnswerGarbageWithErrorsAndKeepServing) {
  Cluster c;
  c.start_all();
  zmq::context_t ctx(1);
  for (const std::string name : {"catalog", "order-1", "order-3", "broker"}) {
    common::RpcClient client(ctx, c.endpoint(name));
    for (const std::string& bytes :
         {std::string("garbage"), std::string(), std::string("\x93\x01\xcd\xff\xff\x90", 6)}) {
      std::string reply;
      ASSERT_EQ(client.call_raw(bytes, 2s, reply), common::CallOutcome::kOk) << name;
      auto err = proto::decode<proto::ErrorReply>(reply);
      ASSERT_TRUE(err) << name << ": " << proto::to_string(err.error);
      EXPECT_EQ(err->status, proto::Status::kBadRequest);
    }
    EXPECT_TRUE(client.call<proto::StatusReply>(proto::StatusRequest{}, 2s).ok()) << name;
  }
  Http http(c.http_port());
  EXPECT_EQ(http.quantity("Tux"), 100);
}

TEST(Binaries, HelpBadFlagsAndBusyPorts) {
  for (const char* b :
       {"bazaar-broker", "bazaar-catalog", "bazaar-order", "bazaar-frontend", "bazaar-client"}) {
    auto [rc_help, help] = Cluster::run_binary({Cluster::bin(b), "--help"});
    EXPECT_EQ(rc_help, 0) << b;
    EXPECT_NE(help.find("Usage"), std::string::npos) << b;
    auto [rc_bad, bad] = Cluster::run_binary({Cluster::bin(b), "--no-such-flag"});
    EXPECT_EQ(rc_bad, 2) << b;
    EXPECT_EQ(std::count(bad.begin(), bad.end(), '\n'), 1) << b << ": " << bad;
  }
  Cluster c;
  c.start_all();
  const std::string taken = c.endpoint("catalog");
  const std::string port = taken.substr(taken.rfind(':') + 1);
  const std::string db = c.dir() + "/other.db";
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {Cluster::bin("bazaar-broker"), "--xsub", taken, "--xpub", "tcp://127.0.0.1:1",
            "--control", "tcp://127.0.0.1:2"},
           {Cluster::bin("bazaar-catalog"), "--endpoint", taken, "--db", db},
           {Cluster::bin("bazaar-order"), "--endpoint", taken, "--db", db},
           {Cluster::bin("bazaar-frontend"), "--port", std::to_string(c.http_port())},
           {Cluster::bin("bazaar-catalog"), "--catalog", "/nonexistent.csv", "--db", db,
            "--endpoint", "tcp://127.0.0.1:*"},
       }) {
    auto [rc, out] = Cluster::run_binary(argv, 10s);
    EXPECT_EQ(rc, 1) << argv[0] << ": " << out;
    EXPECT_NE(out.find("error"), std::string::npos) << argv[0] << ": " << out;
  }
}

}  // namespace
}  // namespace bazaar::testing
