// The front end's counters and latency histograms (prometheus-cpp), and the /metrics page.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "frontend/lookup_cache.h"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

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

/// The request counters, latency histograms and retry counter, in a prometheus-cpp registry.
/// Thread-safe: any thread observes while another renders (the library's counters are atomics,
/// its histograms take a lock of their own). A scrape may see a request counted but its latency
/// not yet, which Prometheus tolerates.
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
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// One answered request: its route, status, and the time from its last byte read to its
  /// reply being ready.
  void observe(RouteLabel route, unsigned status, std::chrono::nanoseconds latency);
  /// A request the HTTP layer refused before it could be routed.
  void observe_rejected(unsigned status);
  /// One more attempt after a failed one (catalog timeout, order fail-over, hint followed).
  void count_retry();

  std::uint64_t requests(RouteLabel route, unsigned status) const;
  std::uint64_t retries() const;

  /// Every family of the front end's own figures: the registry's and those of `extra`.
  std::vector<prometheus::MetricFamily> collect(const MetricsSnapshot& extra) const;
  /// The text exposition of collect(extra).
  std::string render(const MetricsSnapshot& extra) const;

 private:
  static constexpr std::size_t kRoutes = static_cast<std::size_t>(RouteLabel::kCount);
  static constexpr std::size_t kCodeSlots = kCodes.size() + 1;  // last: other

  static std::size_t code_slot(unsigned status);
  /// The counter of (route, code slot), made on first use so that the page lists only the
  /// codes that happened.
  prometheus::Counter& request_counter(std::size_t route, std::size_t slot);

  std::unique_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_family_ = nullptr;
  std::mutex add_mu_;  // serialises making a new request counter (the fast path reads without it)
  // Set once each, under add_mu_; read lock-free by every I/O thread.
  std::array<std::array<std::atomic<prometheus::Counter*>, kCodeSlots>, kRoutes> requests_{};
  std::array<prometheus::Histogram*, kRoutes> durations_{};  // null for kRejected (never timed)
  prometheus::Counter* retries_ = nullptr;
};

}  // namespace bazaar::frontend
