// A scripted Backend for the frontend unit tests: canned results, recorded calls.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "frontend/backend.h"

namespace bazaar::frontend::testing {

class FakeBackend : public Backend {
 public:
  FakeBackend() {
    item.name = "Tux";
    item.price_cents = 2599;
    item.quantity = 100;
    lookup_result = {proto::Status::kOk, item, {}};
    proto::Item whale{"Whale", 3499, 7, 1, 0};
    list_result = {proto::Status::kOk, {item, whale}, {}};
    place_result = {proto::Status::kOk, 7, {}};
    get_result.status = proto::Status::kOk;
    get_result.order = proto::Order{7, "Tux", proto::Side::kBuy, 2, "rid"};
    health_result = {true, LeaderInfo{3, 5}, true, 0};
  }

  LookupResult lookup(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu);
    looked_up.push_back(name);
    return lookup_result;
  }
  ListResult list() override {
    ++lists;
    return list_result;
  }
  PlaceOrderResult place_order(const proto::PlaceOrderRequest& request) override {
    std::lock_guard<std::mutex> lock(mu);
    placed.push_back(request);
    return place_result;
  }
  GetOrderResult get_order(std::int64_t number) override {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(number);
    return get_result;
  }
  HealthSnapshot health() override { return health_result; }

  proto::Item item;
  LookupResult lookup_result;
  ListResult list_result;
  PlaceOrderResult place_result;
  GetOrderResult get_result;
  HealthSnapshot health_result;

  std::mutex mu;
  std::vector<std::string> looked_up;
  std::vector<proto::PlaceOrderRequest> placed;
  std::vector<std::int64_t> got;
  std::atomic<int> lists{0};
};

}  // namespace bazaar::frontend::testing
