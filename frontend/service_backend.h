// The real Backend: ZeroMQ calls to the catalog and the order replicas, one instance per
// bridge thread.
#pragma once

#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/rpc_client.h"
#include "frontend/backend.h"
#include "frontend/leader_tracker.h"
#include "frontend/order_client.h"
#include "frontend/zmq_order_transport.h"

namespace bazaar::frontend {

struct BackendEndpoints {
  std::string catalog;              // catalog ROUTER endpoint
  std::vector<std::string> orders;  // order replica endpoints, replica id k at index k-1
};

/// Owns its own sockets (an RpcClient to the catalog, one per order replica), so it must be
/// used by one thread at a time; the LeaderTracker is the only state shared between instances.
/// Catalog calls retry on timeout (they are reads, safe to repeat) until the request deadline.
class ServiceBackend : public Backend {
 public:
  ServiceBackend(zmq::context_t& ctx, const BackendEndpoints& endpoints, LeaderTracker& tracker,
                 CallTimeouts timeouts);

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
};

}  // namespace bazaar::frontend
