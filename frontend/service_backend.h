// The real Backend: ZeroMQ calls to the catalog and the order replicas, one instance per
// bridge thread.
#pragma once

#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/rpc_client.h"
#include "frontend/backend.h"
#include "frontend/leader_tracker.h"
#include "frontend/lookup_cache.h"
#include "frontend/metrics.h"
#include "frontend/order_client.h"
#include "frontend/zmq_order_transport.h"

namespace bazaar::frontend {

struct BackendEndpoints {
  std::string catalog;              // catalog ROUTER endpoint
  std::vector<std::string> orders;  // order replica endpoints, replica id k at index k-1
};

/// Owns its own sockets (an RpcClient to the catalog, one per order replica), so it must be
/// used by one thread at a time; the LeaderTracker, the LookupCache and the Metrics are the
/// state shared between instances (each thread-safe).
/// Catalog calls retry on timeout (they are reads, safe to repeat) until the request deadline.
///
/// lookup() is where the cache (G4) sits: a hit is served from it; a miss takes a fill ticket,
/// asks the catalog and offers the reply to the cache, which refuses it if an invalidation or
/// flush came in meanwhile. place_order() invalidates the item locally before it returns a
/// trade (read-your-writes), since the order reply does not carry the item's new version.
class ServiceBackend : public Backend {
 public:
  /// `cache` and `metrics` may be null (no cache; nothing counted).
  ServiceBackend(zmq::context_t& ctx, const BackendEndpoints& endpoints, LeaderTracker& tracker,
                 CallTimeouts timeouts, LookupCache* cache = nullptr, Metrics* metrics = nullptr);

  LookupResult lookup(const std::string& name) override;
  ListResult list() override;
  PlaceOrderResult place_order(const proto::PlaceOrderRequest& request) override;
  GetOrderResult get_order(std::int64_t number) override;
  HealthSnapshot health() override;

 private:
  /// Calls the catalog, retrying timeouts with a fresh socket until the request deadline.
  template <class Rep, class Req>
  common::CallResult<Rep> call_catalog(const Req& request);

  common::RpcClient catalog_;
  ZmqOrderTransport order_transport_;
  OrderClient orders_;
  LeaderTracker& tracker_;
  const CallTimeouts timeouts_;
  LookupCache* const cache_;
  Metrics* const metrics_;
};

}  // namespace bazaar::frontend
