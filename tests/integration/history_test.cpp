// A store with a long history on real processes (issue 15): the leader keeps only a bounded tail
// of its log in memory (--log-cache-entries), so a follower that was down for many orders catches
// up from the leader's database, and an order far older than that tail is still read from disk.
//
// BAZAAR_HISTORY_ORDERS sets how many orders the follower misses (default 100,000; the figures it
// prints are the catch-up rate and the replicas' resident memory).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/http_client.h"
#include "cluster.h"
#include "order_load.h"

namespace bazaar::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kCacheEntries = 1000;

int history_orders() {
  const char* v = std::getenv("BAZAAR_HISTORY_ORDERS");
  return v ? std::atoi(v) : 100000;
}

TEST(History, AFollowerDownForManyOrdersCatchesUpFromTheLeadersDisk) {
  const int orders = history_orders();
  Cluster c(
      {.catalog = "stocks", .order_args = {"--log-cache-entries", std::to_string(kCacheEntries)}});
  c.start_all();
  ASSERT_EQ(c.leader(), "order-3");
  c.kill("order-1");

  // The follower misses `orders` orders: a hundred times the leader's tail, and more.
  const auto load_start = Clock::now();
  {
    OrderLoad load(c.http_port(), 16);
    const auto took = time_until([&] { return load.acknowledged() >= orders; }, 300000ms);
    load.stop();
    ASSERT_LE(took, 300000ms) << load.acknowledged() << " orders in 300 s";
    EXPECT_EQ(load.errors(), 0) << load.error_sample();
    load.print_figures("history load");
  }
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  const auto leader = c.status("order-3");
  ASSERT_TRUE(leader);
  ASSERT_GE(leader->log_size, static_cast<std::uint64_t>(orders));
  const long leader_kb = proc_status_kb(c.pid("order-3"), "VmRSS");

  // Back: everything it lacks is older than the leader's tail, so it streams from SQLite.
  const auto back = Clock::now();
  c.start("order-1");
  const auto caught_up = time_until(
      [&] {
        auto st = c.status("order-1");
        return st && st->commit_index >= leader->commit_index;
      },
      120000ms);
  ASSERT_LE(caught_up, 120000ms) << "order-1 did not catch up";
  const double catch_up_s = std::chrono::duration<double>(Clock::now() - back).count();
  const long follower_kb = proc_status_kb(c.pid("order-1"), "VmRSS");
  std::printf(
      "history: %llu orders in %.1f s; order-1 caught up %llu entries in %.2f s (restart "
      "included): %.0f entries/s; resident memory: leader %ld KiB, order-1 %ld KiB\n",
      static_cast<unsigned long long>(leader->log_size), load_s,
      static_cast<unsigned long long>(leader->commit_index), catch_up_s,
      static_cast<double>(leader->commit_index) / catch_up_s, leader_kb, follower_kb);

  // The oldest order, far below every replica's tail, and the newest, through the front end.
  client::HttpClient http("http://127.0.0.1:" + std::to_string(c.http_port()), 5s);
  for (std::uint64_t n : {std::uint64_t{0}, leader->log_size - 1}) {
    auto r = http.request("GET", "/orders/" + std::to_string(n));
    ASSERT_TRUE(r.ok()) << r.message;
    ASSERT_EQ(r.reply.status, 200u) << r.reply.body;
    EXPECT_EQ(json::parse(r.reply.body)["data"]["number"], n);
  }
  // The same logs everywhere, numbered 0..N-1, and stock that matches them (G2, G3).
  EXPECT_EQ(check_log_and_stock(c), leader->log_size);
}

}  // namespace
}  // namespace bazaar::testing
