// Glue between the HTTP server and the API: routes on the I/O thread, answers cached lookups
// there too, sends lookups and orders over their links, runs every other service call on the
// bridge pool.
#pragma once

#include "frontend/api_handler.h"
#include "frontend/bridge_pool.h"
#include "frontend/catalog_link.h"
#include "frontend/lookup_cache.h"
#include "frontend/metrics.h"
#include "frontend/order_link.h"
#include "frontend/request_handler.h"

namespace bazaar::frontend {

/// Requests that need no service (bad input, unknown route, wrong method, /metrics) and lookups
/// the cache holds are answered at once on the I/O thread. Other lookups go to the CatalogLink
/// and orders (POST /orders) to the OrderLink when there is one (many in flight, no thread per
/// call); everything else (lists, GET /orders/N, /health) becomes a BridgeJob. A full queue
/// answers 503 at once, so overload never builds an unbounded backlog. Thread-safe.
class ApiDispatcher : public RequestHandler {
 public:
  /// `cache`, `metrics`, `link` and `orders` may be null (no cache fast path, nothing counted,
  /// lookups or orders on the bridge like the rest); all must outlive the dispatcher.
  ApiDispatcher(const ApiHandler& api, BridgePool& bridge, LookupCache* cache = nullptr,
                Metrics* metrics = nullptr, CatalogLink* link = nullptr,
                OrderLink* orders = nullptr);

  void handle(ApiRequest request, ReplyCallback done) override;
  void on_rejected(unsigned status) override;

 private:
  const ApiHandler& api_;
  BridgePool& bridge_;
  LookupCache* const cache_;
  Metrics* const metrics_;
  CatalogLink* const link_;
  OrderLink* const orders_;
};

}  // namespace bazaar::frontend
