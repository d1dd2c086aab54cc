// The REST API as pure functions: route() turns a request into either an immediate reply (bad
// input, unknown route, wrong method) or a ServiceCall; the *_reply() functions render what the
// service answered. No sockets here, so every row of the error table is unit-testable.
#pragma once

#include <functional>
#include <string>
#include <variant>

#include "frontend/metrics.h"
#include "frontend/services.h"
#include "httpd/http_message.h"

namespace bazaar::frontend {

/// Where order request ids come from when the client sent no Idempotency-Key.
using RequestIdSource = std::function<std::string()>;

/// Renders GET /metrics (Prometheus text); must be thread-safe and must not block.
using MetricsRenderer = std::function<std::string()>;

/// Either the reply (decided without any service) or the call to make to get one.
using Routed = std::variant<httpd::HttpResponse, ServiceCall>;

/// Routes (DESIGN.md section 3):
///   GET /products/<name>, GET /stocks/<name>   one item
///   GET /products, GET /stocks                 every item
///   POST /orders                               {"name","quantity","type"?} -> order number
///   GET /orders/<n>                            one committed order
///   GET /health                                the front end's view of the system
///   GET /metrics                               Prometheus text (answered without a service)
/// Stateless and thread-safe (the id source and the metrics renderer must be too).
class ApiHandler {
 public:
  /// Without a renderer, /metrics answers an empty page.
  explicit ApiHandler(RequestIdSource request_ids, MetricsRenderer metrics = {});

  /// The route `target` counts under in the metrics, whatever the method.
  static RouteLabel label(std::string_view target);

  /// Validates `request` and decides what to do. Never calls a service; never throws.
  Routed route(const httpd::HttpRequest& request) const;

  // The replies to what the services answered (ApiDispatcher calls them on a link's thread).

  /// GET /products/<name>: `name` as asked, `result` what the catalog said.
  static httpd::HttpResponse lookup_reply(const std::string& name, const LookupResult& result);
  /// GET /products.
  static httpd::HttpResponse list_reply(const ListResult& result);
  /// POST /orders: `order` as placed, `result` what the order service said.
  static httpd::HttpResponse order_reply(const proto::PlaceOrderRequest& order,
                                         const PlaceOrderResult& result);
  /// GET /orders/<number>.
  static httpd::HttpResponse order_get_reply(std::int64_t number, const GetOrderResult& result);
  /// GET /health.
  static httpd::HttpResponse health_reply(const HealthSnapshot& health);

 private:
  Routed route_item(const httpd::HttpRequest& request, std::string_view rest) const;
  Routed route_order_get(const httpd::HttpRequest& request, std::string_view rest) const;
  Routed route_order_post(const httpd::HttpRequest& request) const;

  RequestIdSource request_ids_;
  MetricsRenderer metrics_;
};

}  // namespace bazaar::frontend
