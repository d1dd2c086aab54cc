#include "frontend/service_links.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>

namespace bazaar::frontend {

namespace {

// The longest /health waits for either service: it must stay quick when one is down.
constexpr std::chrono::milliseconds kHealthProbe{1000};

// The two halves of one /health, filled by the two links' threads; the second to finish answers.
struct HealthJoin {
  std::mutex mu;
  HealthSnapshot health;  // guarded by mu
  int missing = 2;        // guarded by mu: answers still to come
  Services::HealthDone done;
  LeaderTracker* tracker = nullptr;

  void finish_one(const std::function<void(HealthSnapshot&)>& fill) {
    HealthSnapshot ready;
    {
      std::lock_guard<std::mutex> lock(mu);
      fill(health);
      if (--missing > 0) return;
      ready = health;
    }
    ready.bus = tracker->bus_alive(LeaderTracker::Clock::now());
    done(std::move(ready));
  }
};

}  // namespace

ServiceLinks::ServiceLinks(CatalogLink& catalog, OrderLink& orders, LeaderTracker& tracker,
                           const LookupCache* cache, std::chrono::milliseconds request_timeout)
    : catalog_(catalog),
      orders_(orders),
      tracker_(tracker),
      cache_(cache != nullptr && cache->enabled() ? cache : nullptr),
      health_budget_(std::min(request_timeout, kHealthProbe)) {}

bool ServiceLinks::lookup(std::string name, LookupDone done) {
  return catalog_.try_lookup(std::move(name), std::move(done));
}

bool ServiceLinks::list(ListDone done) {
  return catalog_.try_list(std::move(done));
}

bool ServiceLinks::place_order(proto::PlaceOrderRequest request, PlaceOrderDone done) {
  return orders_.try_place(std::move(request), std::move(done));
}

bool ServiceLinks::get_order(std::int64_t number, GetOrderDone done) {
  return orders_.try_get(number, std::move(done));
}

bool ServiceLinks::health(HealthDone done) {
  auto join = std::make_shared<HealthJoin>();
  join->done = std::move(done);
  join->tracker = &tracker_;
  join->health.cache_size = cache_ != nullptr ? cache_->size() : 0;
  join->health.cache_capacity = cache_ != nullptr ? cache_->capacity() : 0;
  if (!catalog_.try_status(health_budget_, [join](bool answered) {
        join->finish_one([&](HealthSnapshot& h) { h.catalog = answered; });
      })) {
    return false;
  }
  // The catalog half is on its way and will call finish_one(); when the order link refuses, its
  // half finishes now as "no leader", so `done` is still called exactly once.
  const bool taken = orders_.try_find_leader(health_budget_, [join](FindLeaderResult r) {
    join->finish_one([&](HealthSnapshot& h) { h.leader = r.leader; });
  });
  if (!taken) join->finish_one([](HealthSnapshot&) {});
  return true;
}

}  // namespace bazaar::frontend
