// CURVE on the internal sockets (docs/SECURITY.md): a cluster started with a key set serves
// through every hop, and a peer without the keys, or with keys of its own, gets no answer from
// any service and changes nothing. A service will not bind a non-loopback address in clear.
#include <gtest/gtest.h>
#include <zmq.h>

#include <filesystem>
#include <thread>
#include <zmq.hpp>

#include "client/http_client.h"
#include "cluster.h"
#include "common/curve_keys.h"
#include "common/rpc_client.h"
#include "common/socket_policy.h"
#include "proto_msgs/codec.h"

namespace bazaar::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string make_key_dir() {
  std::string tmpl = (fs::temp_directory_path() / "bazaar-curve-keys-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  const std::string dir = tmpl + "/keys";
  auto [rc, out] = Cluster::run_binary({Cluster::bin("bazaar-keygen"), dir});
  EXPECT_EQ(rc, 0) << out;
  return dir;
}

// How a stranger talks: a REQ socket made by hand, not through configure_socket and
// connect_or_throw, so the test process's own policy does not lend it the keys.
enum class Stranger { kNoKeys, kOwnKeys };

bool stranger_gets_answer(const std::string& endpoint, const std::string& request, Stranger who,
                          const std::string& server_public) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::req);
  s.set(zmq::sockopt::linger, 0);
  if (who == Stranger::kOwnKeys) {
    // Knows the server's public key (it is public), but its own key is not the cluster's.
    char pub[41], sec[41];
    EXPECT_EQ(zmq_curve_keypair(pub, sec), 0);
    s.set(zmq::sockopt::curve_serverkey, server_public);
    s.set(zmq::sockopt::curve_publickey, std::string(pub));
    s.set(zmq::sockopt::curve_secretkey, std::string(sec));
  }
  s.connect(endpoint);
  if (!s.send(zmq::buffer(request), zmq::send_flags::dontwait)) return false;
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  return zmq::poll(&item, 1, 1500ms) > 0;
}

class CurveTest : public ::testing::Test {
 protected:
  void TearDown() override { common::set_socket_policy({}); }
};

TEST_F(CurveTest, KeyedClusterServesAndStrangersGetNoAnswerAndChangeNothing) {
  const std::string keys = make_key_dir();
  // The harness's own status checks go through RpcClient, so they use the keys like a service.
  common::SocketPolicy policy;
  policy.curve = common::load_curve_keys(keys);
  const std::string server_public = policy.curve->server_public;
  common::set_socket_policy(policy);

  ClusterOptions options;
  options.service_args = {"--curve-dir", keys};
  Cluster cluster(options);
  cluster.start_all();

  // Every hop works with the keys: frontend -> order leader -> catalog, and the bus.
  client::HttpClient http("http://127.0.0.1:" + std::to_string(cluster.http_port()), 5000ms);
  auto buy = http.request("POST", "/orders", R"({"name":"Tux","quantity":2})", {});
  ASSERT_TRUE(buy.ok()) << buy.message;
  ASSERT_EQ(buy.reply.status, 200u) << buy.reply.body;

  proto::TradeBatchRequest stranger_batch;
  stranger_batch.trades = {proto::TradeRequest{"stranger-1", "Tux", proto::Side::kBuy, 50}};
  const std::string trade = proto::encode(stranger_batch);
  const std::string order =
      proto::encode(proto::PlaceOrderRequest{"stranger-2", "Tux", proto::Side::kBuy, 50});
  const std::string status = proto::encode(proto::StatusRequest{});
  for (Stranger who : {Stranger::kNoKeys, Stranger::kOwnKeys}) {
    SCOPED_TRACE(who == Stranger::kNoKeys ? "no keys" : "own keys");
    EXPECT_FALSE(stranger_gets_answer(cluster.endpoint("catalog"), trade, who, server_public));
    EXPECT_FALSE(stranger_gets_answer(cluster.endpoint("order-3"), order, who, server_public));
    EXPECT_FALSE(stranger_gets_answer(cluster.endpoint("broker"), status, who, server_public));
  }

  // Nothing changed: one order, Tux down by its 2 only.
  EXPECT_EQ(cluster.converged_orders().size(), 1u);
  bool seen = false;
  for (const auto& line : cluster.dump_catalog()) {
    if (line.rfind("Tux ", 0) == 0) {
      seen = true;
      EXPECT_EQ(line, "Tux 25.99 98");
    }
  }
  EXPECT_TRUE(seen);
  // And a client with the keys is still answered.
  zmq::context_t ctx(1);
  common::RpcClient keyed(ctx, cluster.endpoint("catalog"));
  EXPECT_TRUE(keyed.call<proto::StatusReply>(proto::StatusRequest{}, 2000ms).ok());
}

TEST_F(CurveTest, NonLoopbackBindNeedsCurveOrInsecure) {
  const int base = find_free_port_range(0);
  const auto ep = [base](int k) { return "tcp://0.0.0.0:" + std::to_string(base + k); };
  const std::vector<std::string> broker = {
      Cluster::bin("bazaar-broker"), "--xsub", ep(0), "--xpub", ep(1), "--control", ep(2)};
  auto [rc, out] = Cluster::run_binary(broker, 10s);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("without CURVE"), std::string::npos) << out;

  // With --insecure it serves (on every address, so also on loopback).
  auto argv = broker;
  argv.push_back("--insecure");
  Process p("broker", argv, "/dev/null");
  p.start();
  zmq::context_t ctx(1);
  common::RpcClient client(ctx, "tcp://127.0.0.1:" + std::to_string(base + 2));
  bool answered = false;
  for (int i = 0; i < 50 && !answered && p.running(); ++i) {
    answered = client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms).ok();
  }
  EXPECT_TRUE(answered);
  p.stop(SIGTERM);

  // With keys it needs no --insecure.
  const std::string keys = make_key_dir();
  argv = broker;
  argv.insert(argv.end(), {"--curve-dir", keys});
  Process q("broker", argv, "/dev/null");
  q.start();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(q.running());
  q.stop(SIGTERM);
}

}  // namespace
}  // namespace bazaar::testing
