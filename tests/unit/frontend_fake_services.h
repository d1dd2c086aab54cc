// Scripted Services for the frontend unit tests: canned results, recorded calls, every callback
// called at once on the calling thread.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "frontend/services.h"

namespace bazaar::frontend::testing {

class FakeServices : public Services {
 public:
  FakeServices() {
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

  bool lookup(std::string name, LookupDone done) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      looked_up.push_back(name);
    }
    done(lookup_result, 1);
    return true;
  }
  bool list(ListDone done) override {
    ++lists;
    done(list_result);
    return true;
  }
  bool place_order(proto::PlaceOrderRequest request, PlaceOrderDone done) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      placed.push_back(request);
    }
    done(place_result);
    return true;
  }
  bool get_order(std::int64_t number, GetOrderDone done) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(number);
    }
    done(get_result);
    return true;
  }
  bool health(HealthDone done) override {
    done(health_result);
    return true;
  }

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
