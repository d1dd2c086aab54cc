// The Services of a running front end: the catalog link and the order link, and /health made of
// what both of them find.
#pragma once

#include <chrono>

#include "frontend/catalog_link.h"
#include "frontend/leader_tracker.h"
#include "frontend/lookup_cache.h"
#include "frontend/order_link.h"
#include "frontend/services.h"

namespace bazaar::frontend {

/// Lookups and lists go to the CatalogLink; placing and reading orders to the OrderLink. /health
/// asks both at once (a catalog StatusRequest, and the leader as known or else found by
/// probing, so /health is right even when the bus is down), each within min(request deadline,
/// 1 s) so /health stays quick when a service is down, and answers once both have. Thread-safe;
/// every callback runs on a link's thread. The links, the tracker and the cache (may be null:
/// no cache) must outlive it.
class ServiceLinks : public Services {
 public:
  ServiceLinks(CatalogLink& catalog, OrderLink& orders, LeaderTracker& tracker,
               const LookupCache* cache, std::chrono::milliseconds request_timeout);

  [[nodiscard]] bool lookup(std::string name, LookupDone done) override;
  [[nodiscard]] bool list(ListDone done) override;
  [[nodiscard]] bool place_order(proto::PlaceOrderRequest request, PlaceOrderDone done) override;
  [[nodiscard]] bool get_order(std::int64_t number, GetOrderDone done) override;
  [[nodiscard]] bool health(HealthDone done) override;

 private:
  CatalogLink& catalog_;
  OrderLink& orders_;
  LeaderTracker& tracker_;
  const LookupCache* const cache_;
  const std::chrono::milliseconds health_budget_;
};

}  // namespace bazaar::frontend
