// The front end's counters and latency histograms, and their Prometheus text rendering.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/lookup_cache.h"

namespace bazaar::frontend {

/// The route a request counts under (label `route` of the HTTP metrics).
enum class RouteLabel : std::uint8_t {
  kItem,        // GET /products/<name>, /stocks/<name>
  kItemList,    // GET /products, /stocks
  kOrderPlace,  // POST /orders
  kOrderGet,    // GET /orders/<n>
  kHealth,      // GET /health
  kMetrics,     // GET /metrics
  kOther,       // any other path (404)
  kRejected,    // refused by the HTTP layer before routing (garbage 400, 413, 431)
  kCount,
};
const char* to_string(RouteLabel label);

/// Numbers owned elsewhere, read when /metrics is rendered.
struct MetricsSnapshot {
  CacheStats cache;
  bool cache_enabled = false;
  std::uint64_t failovers = 0;        // order leader changes followed (LeaderTracker)
  std::uint64_t connections = 0;      // open HTTP connections
  std::uint64_t max_connections = 0;  // --max-connections as fitted to the fd limit
  // Connections closed to make room (idle the longest), and turned away with 503.
  std::uint64_t evicted_table_full = 0;
  std::uint64_t evicted_per_client = 0;
  std::uint64_t refused_table_full = 0;
  std::uint64_t refused_per_client = 0;
  std::uint64_t refused_no_descriptors = 0;
  std::uint64_t lookups_queued = 0;  // requests waiting for the catalog link
  std::uint64_t orders_queued = 0;   // requests waiting for the order link
};

/// Thread-safe and lock-free: counters are relaxed atomics spread over a few cache-line-aligned
/// stripes, each thread writing its own stripe, so the I/O threads do not fight over one line on
/// every request. Rendering sums the stripes (a scrape may see a request counted but its latency
/// not yet, which Prometheus tolerates).
class Metrics {
 public:
  /// Upper bounds (seconds) of the latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 16> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                      1.0,    2.5,     5.0,    10.0};
  /// Status codes counted by value; any other is counted as code="other".
  static constexpr std::array<unsigned, 12> kCodes = {200, 400, 404, 405, 409, 413,
                                                      422, 431, 500, 501, 503, 504};

  Metrics();

  /// One answered request: its route, status, and the time from its last byte read to its
  /// reply being ready.
  void observe(RouteLabel route, unsigned status, std::chrono::nanoseconds latency);
  /// A request the HTTP layer refused before it could be routed.
  void observe_rejected(unsigned status);
  /// One more attempt after a failed one (catalog timeout, order fail-over, hint followed).
  void count_retry();

  std::uint64_t requests(RouteLabel route, unsigned status) const;
  std::uint64_t retries() const;

  /// Prometheus text exposition format 0.0.4.
  std::string render(const MetricsSnapshot& extra) const;

 private:
  static constexpr std::size_t kRoutes = static_cast<std::size_t>(RouteLabel::kCount);
  static constexpr std::size_t kCodeSlots = kCodes.size() + 1;      // last: other
  static constexpr std::size_t kBucketSlots = kBuckets.size() + 1;  // last: +Inf
  static constexpr std::size_t kStripes = 8;

  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> requests[kRoutes][kCodeSlots] = {};
    std::atomic<std::uint64_t> buckets[kRoutes][kBucketSlots] = {};  // not cumulative
    std::atomic<std::uint64_t> latency_ns[kRoutes] = {};
    std::atomic<std::uint64_t> retries{0};
  };

  static std::size_t code_slot(unsigned status);
  Stripe& my_stripe();

  std::array<Stripe, kStripes> stripes_;
  // Bucket bounds in nanoseconds, so observe() compares integers.
  std::array<std::uint64_t, kBuckets.size()> bucket_ns_{};
};

}  // namespace bazaar::frontend
