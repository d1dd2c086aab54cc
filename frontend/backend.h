// What the API needs from the services behind it, as one small interface: the real one
// (ServiceBackend) speaks ZeroMQ to the catalog and the order replicas; unit tests use a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proto_msgs/messages.h"

namespace bazaar::frontend {

// Every result carries a proto::Status: the service's own answer when one arrived, kUnavailable
// when none did within the request deadline, kInternal when the answer made no sense.

struct LookupResult {
  proto::Status status = proto::Status::kUnavailable;
  proto::Item item;
  std::string message;  // detail for errors
};

struct ListResult {
  proto::Status status = proto::Status::kUnavailable;
  std::vector<proto::Item> items;  // in the catalog's order
  std::string message;
};

struct PlaceOrderResult {
  proto::Status status = proto::Status::kUnavailable;
  std::int64_t order_number = -1;
  std::string message;
};

struct GetOrderResult {
  proto::Status status = proto::Status::kUnavailable;
  proto::Order order;
  std::string message;
};

struct LeaderInfo {
  std::uint32_t id = 0;
  std::uint64_t term = 0;
};

/// The front end's view of the system for GET /health.
struct HealthSnapshot {
  bool catalog = false;              // the catalog answered a StatusRequest just now
  std::optional<LeaderInfo> leader;  // the order leader, if one answers; else null
  bool bus = false;                  // a broker heartbeat arrived within 3 intervals
  std::uint64_t cache_size = 0;      // entries in the lookup cache
  std::uint64_t cache_capacity = 0;  // its bound (--cache-size); 0 with --no-cache
};

/// The service calls behind the API. Every call blocks for at most the configured request
/// deadline, so it must run on a bridge thread, never on an HTTP I/O thread. An implementation
/// is used by one thread at a time (the bridge gives each worker its own).
class Backend {
 public:
  virtual ~Backend() = default;

  /// One item by name. The single place lookups go through (the cache slots in here).
  virtual LookupResult lookup(const std::string& name) = 0;
  virtual ListResult list() = 0;
  /// Places an order, retrying across replicas with the same request_id until the deadline.
  virtual PlaceOrderResult place_order(const proto::PlaceOrderRequest& request) = 0;
  virtual GetOrderResult get_order(std::int64_t number) = 0;
  virtual HealthSnapshot health() = 0;
};

// ---- calls the router asks for, executed later on a bridge thread ---------------------------

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

using BackendCall = std::variant<LookupCall, ListCall, PlaceOrderCall, GetOrderCall, HealthCall>;

}  // namespace bazaar::frontend
