// Glue between the HTTP server and the API: routes on the I/O thread, answers cached lookups
// there too, and hands every other service call to the Services without waiting for it.
#pragma once

#include "frontend/api_handler.h"
#include "frontend/lookup_cache.h"
#include "frontend/metrics.h"
#include "frontend/services.h"
#include "httpd/http_request_handler.h"

namespace bazaar::frontend {

/// Requests that need no service (bad input, unknown route, wrong method, /metrics) and lookups
/// the cache holds are answered at once on the I/O thread; everything else goes to `services`
/// (in production the links: many in flight, no thread per call) and is answered from its
/// callback. A service that cannot take a request (full queue) gets 503 at once, so overload
/// never builds an unbounded backlog. Thread-safe.
///
/// The cache (G4) sits here, the one place lookups and orders pass: a miss takes a fill ticket
/// before the request leaves and offers the reply with it, so a reply older than an invalidation
/// seen meanwhile is refused; an order answer invalidates its item before the client hears of it
/// (read-your-writes: the order reply does not carry the item's new version).
class ApiDispatcher : public httpd::HttpRequestHandler {
 public:
  /// `cache` and `metrics` may be null (no cache; nothing counted); all must outlive the
  /// dispatcher.
  ApiDispatcher(const ApiHandler& api, Services& services, LookupCache* cache = nullptr,
                Metrics* metrics = nullptr);

  void handle(httpd::HttpRequest request, httpd::ReplyCallback done) override;
  void on_rejected(unsigned status) override;

 private:
  const ApiHandler& api_;
  Services& services_;
  LookupCache* const cache_;
  Metrics* const metrics_;
};

}  // namespace bazaar::frontend
