#include "order_load.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/http_client.h"

namespace bazaar::testing {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

OrderLoad::OrderLoad(int http_port, int clients) {
  for (int c = 0; c < clients; ++c) {
    threads_.emplace_back([this, http_port, c] { run(http_port, c); });
  }
}

OrderLoad::~OrderLoad() {
  stop();
}

void OrderLoad::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Clock::duration OrderLoad::worst() const {
  std::lock_guard<std::mutex> lock(mu_);
  return worst_;
}

std::string OrderLoad::error_sample() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sample_;
}

void OrderLoad::print_figures(const char* what) const {
  std::printf("%s: %d orders acknowledged, worst latency %lld ms\n", what, acknowledged(),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(worst()).count()));
}

void OrderLoad::run(int port, int c) {
  client::HttpClient http("http://127.0.0.1:" + std::to_string(port), std::chrono::seconds(10));
  const char* items[] = {"GameStart", "FishCo", "BoarCo", "MenhirCo"};
  for (int i = 0; !stop_; ++i) {
    json body{{"name", items[(c + i / 2) % 4]}, {"quantity", 1}, {"type", i % 2 ? "sell" : "buy"}};
    const auto start = Clock::now();
    auto r = http.request("POST", "/orders", body.dump(),
                          {{"Idempotency-Key", "c" + std::to_string(c) + "-" + std::to_string(i)}});
    const auto took = Clock::now() - start;
    std::lock_guard<std::mutex> lock(mu_);
    worst_ = std::max(worst_, took);
    if (r.ok() && r.reply.status == 200) {
      ++ok_;
    } else {
      ++errors_;
      sample_ = r.ok() ? std::to_string(r.reply.status) + " " + r.reply.body : r.message;
    }
  }
}

std::size_t check_log_and_stock(const Cluster& c) {
  const auto orders = c.converged_orders();
  std::map<std::string, long> expected;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    std::istringstream in(orders[i]);
    long number = -1, quantity = 0;
    std::string name, type;
    in >> number >> name >> type >> quantity;
    EXPECT_EQ(number, static_cast<long>(i)) << orders[i];
    if (!expected.count(name)) expected[name] = 100;
    expected[name] += type == "sell" ? quantity : -quantity;
  }
  for (const auto& line : c.dump_catalog()) {
    std::istringstream in(line);
    std::string name, price;
    long quantity = 0;
    in >> name >> price >> quantity;
    EXPECT_EQ(quantity, expected.count(name) ? expected[name] : 100) << name;
  }
  return orders.size();
}

}  // namespace bazaar::testing
