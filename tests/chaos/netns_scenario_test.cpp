// Single network faults on the cluster in network namespaces (`launch/bazaar up --netns`), each
// placed where it matters, with what a client sees through it. The nemesis (bazaar-chaos) draws
// faults at random; these are the cases whose outcome is known in advance. Needs root: each test
// skips without it.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "client/http_client.h"
#include "tests/chaos/netns_cluster.h"

namespace bazaar::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A cluster in namespaces in a directory of its own, taken down (namespaces, rules and all)
// when the test ends, also when it fails.
class NetnsScenario : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces and iptables need root";
    if (std::system("ip netns add bzscenario-probe 2>/dev/null && ip netns del bzscenario-probe") !=
        0) {
      GTEST_SKIP() << "cannot create network namespaces here";
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "bazaar-scenario-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    net_ = std::make_unique<NetnsCluster>(
        NetnsOptions{.launch = std::string(BAZAAR_SOURCE_DIR) + "/launch/bazaar",
                     .dir = dir_,
                     .replicas = 3,
                     .frontends = 1});
    std::string error;
    ASSERT_TRUE(net_->up(error)) << error;
  }
  void TearDown() override {
    if (HasFailure() && !dir_.empty()) {
      // What the replicas said about terms and office, for the reader of a failed run.
      const std::string cmd =
          "grep -hE 'leads|hands office|term|catalog' " + dir_ + "/order-*.log | tail -n 40";
      std::printf("--- replica logs (%s)\n", cmd.c_str());
      std::fflush(stdout);
      [[maybe_unused]] const int rc = std::system(cmd.c_str());
    }
    if (net_) {
      net_->heal();
      EXPECT_TRUE(net_->leftover_rules().empty());
    }
    net_.reset();  // launch/bazaar down: namespaces, veths and bridge go
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  /// Places one keyed sell order through front end 1; true when it answered 200. `number`
  /// gets the order number.
  bool place(const std::string& key, std::int64_t* number = nullptr) {
    const std::string body = json{{"name", "FishCo"}, {"quantity", 1}, {"type", "sell"}}.dump();
    auto r = http().post_json("/orders", body, {{"Idempotency-Key", key}});
    if (!r.ok() || r.reply.status != 200) return false;
    if (number) *number = json::parse(r.reply.body)["data"]["order_number"].get<std::int64_t>();
    return true;
  }

  struct Placing {
    int placed = 0;
    double first_placed_s = -1;  // seconds from the start to the first order placed; -1: none
    std::int64_t last_number = -1;
  };
  /// Places keyed orders one at a time for `seconds`, each retried with its key every 100 ms
  /// until it is placed, as a client that wants its order would; prints what it got.
  Placing keep_placing(double seconds, const char* what) {
    Placing p;
    const auto start = Clock::now();
    for (int k = 0; seconds_since(start) < seconds; ++k) {
      const std::string key = std::string(what) + "-" + std::to_string(k);
      bool ok = false;
      while (seconds_since(start) < seconds && !(ok = place(key, &p.last_number))) {
        std::this_thread::sleep_for(100ms);
      }
      if (!ok) break;
      ++p.placed;
      if (p.first_placed_s < 0) p.first_placed_s = seconds_since(start);
    }
    std::printf("%s: first order placed %.2f s after the fault; %d placed in %.0f s\n", what,
                p.first_placed_s, p.placed, seconds);
    return p;
  }

  /// Waits up to `budget` for `name` to lead in one term for a whole second (after up, a lower
  /// id may lead until the highest has been caught up for a stable while, and on a busy machine
  /// the first term may not last) and returns that term; 0 when it did not.
  std::uint64_t wait_for_leader(const std::string& name, std::chrono::seconds budget = 10s) {
    const auto start = Clock::now();
    std::uint64_t term = 0, since_term = 0;
    auto since = Clock::now();
    while (Clock::now() - start < budget) {
      if (net_->leader(&term) != name) {
        since_term = 0;
      } else if (term != since_term) {
        since_term = term;
        since = Clock::now();
      } else if (Clock::now() - since >= 1s) {
        return term;
      }
      std::this_thread::sleep_for(100ms);
    }
    return 0;
  }

  client::HttpClient& http() {
    // Longer than the front end's order deadline (3 s), so every attempt gets its answer.
    if (!http_) http_ = std::make_unique<client::HttpClient>(net_->url(1), 5s);
    return *http_;
  }

  std::string dir_;
  std::unique_ptr<NetnsCluster> net_;
  std::unique_ptr<client::HttpClient> http_;
};

// Issue 13, item 5: the leader cut off from the catalog while both followers reach it. Before,
// every order failed (503) for as long as the cut lasted, with a healthy majority and a catalog
// that answers everyone else. Now the leader notices that its catalog probes go unanswered and
// hands office to the highest follower the catalog answers; keyed orders go through again within
// a few seconds, and once the cut heals the highest id leads again.
TEST_F(NetnsScenario, LeaderCutOffFromTheCatalogHandsOfficeToAFollowerThatReachesIt) {
  ASSERT_TRUE(place("before"));
  const std::string leader = "order-3";
  const std::uint64_t term = wait_for_leader(leader);
  ASSERT_GT(term, 0u) << leader << " does not lead";

  net_->cut({leader}, {"catalog"});
  const Placing p = keep_placing(8, "leader|catalog");
  std::uint64_t new_term = 0;
  EXPECT_EQ(net_->leader(&new_term), "order-2") << "the highest replica the catalog answers leads";
  EXPECT_GT(new_term, term);
  EXPECT_GE(p.first_placed_s, 0) << "no order was placed while the leader was cut off";
  EXPECT_LT(p.first_placed_s, 5);
  EXPECT_GE(p.placed, 10);

  // Healed: order-3 answers the catalog again and, once it has for a stable while, leads again.
  net_->heal();
  EXPECT_GT(wait_for_leader("order-3", 15s), new_term);
  EXPECT_TRUE(place("after"));
}

// Issue 13, item 5: a front end cut off from the leader, which still reaches everyone else.
// Nothing is wrong with the leader, so office stays; the front end gives up on it after its
// leader timeout and goes through a follower, which forwards to its leader. Orders and reads of
// them are served; before forwarding, every order through this front end failed for the cut.
TEST_F(NetnsScenario, FrontEndCutOffFromTheLeaderIsServedThroughAFollower) {
  ASSERT_TRUE(place("before"));
  const std::string leader = "order-3";
  const std::uint64_t term = wait_for_leader(leader);
  ASSERT_GT(term, 0u) << leader << " does not lead";

  net_->cut({"frontend-1"}, {leader});
  const Placing p = keep_placing(8, "frontend|leader");
  EXPECT_GE(p.first_placed_s, 0) << "no order was placed while the front end was cut off";
  EXPECT_LT(p.first_placed_s, 5);
  EXPECT_GE(p.placed, 10);
  ASSERT_GE(p.last_number, 0);
  auto read = http().get("/orders/" + std::to_string(p.last_number));
  ASSERT_TRUE(read.ok()) << read.message;
  EXPECT_EQ(read.reply.status, 200u) << read.reply.body;
  // Office should stay where it was: nothing is wrong with the leader. Not asserted on the term:
  // on a loaded machine a check-quorum step-down (a stalled loop) may add a term or two, and
  // order-3 then leads again by priority.
  const std::uint64_t now_term = wait_for_leader("order-3");
  EXPECT_GT(now_term, 0u) << "order-3 does not lead";
  if (now_term != term)
    std::printf("note: term %llu -> %llu during the cut\n", static_cast<unsigned long long>(term),
                static_cast<unsigned long long>(now_term));
}

}  // namespace
}  // namespace bazaar::chaos
