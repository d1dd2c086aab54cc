// The broker's Prometheus metrics (docs/OPERATIONS.md "Metrics"): messages forwarded by topic,
// subscribers connected, last-value replays, heartbeats. Updated by the bus thread only.
#pragma once

#include <cstdint>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace bazaar::broker {

class BusMetrics {
 public:
  /// Registers every family in `registry`, which must outlive this object.
  explicit BusMetrics(prometheus::Registry& registry);

  /// One message forwarded on `topic`; topics other than the bus's own count as "other", so the
  /// label set stays bounded whatever publishers send.
  void count_forwarded(std::string_view topic);
  void set_subscribers(std::int64_t n);
  void count_replay();
  void count_heartbeat();

 private:
  prometheus::Counter* invalidations_ = nullptr;
  prometheus::Counter* leader_ = nullptr;
  prometheus::Counter* other_ = nullptr;
  prometheus::Gauge* subscribers_ = nullptr;
  prometheus::Counter* replays_ = nullptr;
  prometheus::Counter* heartbeats_ = nullptr;
};

}  // namespace bazaar::broker
