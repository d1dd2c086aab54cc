// What the services answer the front end, as plain values, and the deadlines of asking them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
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

/// Deadlines of the calls to the services.
struct CallTimeouts {
  /// Whole budget of one HTTP request, retries included (--request-timeout).
  std::chrono::milliseconds request{3000};
  /// One attempt at one replica or the catalog. Short enough that a dead leader costs little
  /// of the budget (a SIGKILLed peer just never answers); long enough for a loaded one.
  std::chrono::milliseconds attempt{500};
  /// One StatusRequest while looking for the leader.
  std::chrono::milliseconds probe{200};
  /// Pause between rounds when no replica can take the order right now (election under way).
  std::chrono::milliseconds backoff{50};
};

}  // namespace bazaar::frontend
