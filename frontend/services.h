// What the API needs from the services behind it, as one small asynchronous interface: the real
// one (ServiceLinks) goes over the CatalogLink and the OrderLink; unit tests use a fake that
// answers at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>

#include "frontend/service_results.h"
#include "proto_msgs/messages.h"

namespace bazaar::frontend {

/// Each call either takes the request and later calls `done` exactly once, on any thread (the
/// callee's), or returns false at once when it cannot take it now (its queue is full, or it is
/// stopping) and never calls `done`: the caller answers 503 then. No call blocks. Thread-safe.
class Services {
 public:
  using LookupDone = std::function<void(LookupResult result, std::uint64_t incarnation)>;
  using ListDone = std::function<void(ListResult result)>;
  using PlaceOrderDone = std::function<void(PlaceOrderResult result)>;
  using GetOrderDone = std::function<void(GetOrderResult result)>;
  using HealthDone = std::function<void(HealthSnapshot health)>;

  virtual ~Services() = default;

  /// One item by name; `incarnation` is the catalog's when it answered, else 0 (for the cache).
  [[nodiscard]] virtual bool lookup(std::string name, LookupDone done) = 0;
  /// Every item, in the catalog's order.
  [[nodiscard]] virtual bool list(ListDone done) = 0;
  /// Places an order, retrying across replicas with the same request_id until the deadline.
  [[nodiscard]] virtual bool place_order(proto::PlaceOrderRequest request, PlaceOrderDone done) = 0;
  /// Reads committed order `number`.
  [[nodiscard]] virtual bool get_order(std::int64_t number, GetOrderDone done) = 0;
  /// The front end's view of the system, for GET /health.
  [[nodiscard]] virtual bool health(HealthDone done) = 0;
};

// ---- what the router asks for, carried out by the dispatcher over Services -------------------

struct LookupCall {
  std::string name;
};
struct ListCall {};
struct PlaceOrderCall {
  proto::PlaceOrderRequest request;
};
struct GetOrderCall {
  std::int64_t number = 0;
};
struct HealthCall {};

using ServiceCall = std::variant<LookupCall, ListCall, PlaceOrderCall, GetOrderCall, HealthCall>;

}  // namespace bazaar::frontend
