// Glue between the HTTP server and the API: routes on the I/O thread, runs service calls on
// the bridge pool.
#pragma once

#include "frontend/api_handler.h"
#include "frontend/bridge_pool.h"
#include "frontend/request_handler.h"

namespace bazaar::frontend {

/// Requests that need no service (bad input, unknown route, wrong method) are answered at once
/// on the I/O thread; the others become a BridgeJob. A full bridge queue answers 503 at once,
/// so overload never builds an unbounded backlog. Thread-safe.
class ApiDispatcher : public RequestHandler {
 public:
  ApiDispatcher(const ApiHandler& api, BridgePool& bridge);

  void handle(ApiRequest request, ReplyCallback done) override;

 private:
  const ApiHandler& api_;
  BridgePool& bridge_;
};

}  // namespace bazaar::frontend
