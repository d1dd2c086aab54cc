// The REST API as pure functions: route() turns a request into either an immediate reply (bad
// input, unknown route, wrong method) or a BackendCall; execute() runs a call against a Backend
// and renders the reply. No sockets here, so every row of the error table is unit-testable.
#pragma once

#include <functional>
#include <string>
#include <variant>

#include "frontend/api_types.h"
#include "frontend/backend.h"
#include "frontend/metrics.h"

namespace bazaar::frontend {

/// Largest request body accepted (the HTTP layer answers 413 beyond it).
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;

/// Where order request ids come from when the client sent no Idempotency-Key.
using RequestIdSource = std::function<std::string()>;

/// Renders GET /metrics (Prometheus text); must be thread-safe and must not block.
using MetricsRenderer = std::function<std::string()>;

/// Either the reply (decided without any service) or the call to make to get one.
using Routed = std::variant<ApiResponse, BackendCall>;

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
  Routed route(const ApiRequest& request) const;

  /// Runs `call` against `backend` (blocking up to the backend's deadline) and renders the reply.
  static ApiResponse execute(const BackendCall& call, Backend& backend);

  /// The reply to a lookup of `name` that came to `result` (execute() of a LookupCall, and the
  /// asynchronous lookup path of the dispatcher).
  static ApiResponse lookup_reply(const std::string& name, const LookupResult& result);

  /// The reply to `order` placed with `result` (execute() of a PlaceOrderCall, and the
  /// dispatcher's order link path).
  static ApiResponse order_reply(const proto::PlaceOrderRequest& order,
                                 const PlaceOrderResult& result);

  /// route() then, when needed, execute(): the whole request synchronously (tests, tools).
  ApiResponse handle(const ApiRequest& request, Backend& backend) const;

 private:
  Routed route_item(const ApiRequest& request, std::string_view rest) const;
  Routed route_order_get(const ApiRequest& request, std::string_view rest) const;
  Routed route_order_post(const ApiRequest& request) const;

  RequestIdSource request_ids_;
  MetricsRenderer metrics_;
};

}  // namespace bazaar::frontend
