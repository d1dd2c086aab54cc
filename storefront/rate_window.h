// Orders per second and their latency over the last minute, for the cluster page's chart.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace bazaar::storefront {

/// One second of answered requests.
struct RateSample {
  std::uint64_t count = 0;   // answered in that second
  std::uint64_t errors = 0;  // of which answered with a status >= 500
  double latency_avg_ms = 0;
  double latency_max_ms = 0;
};

/// A ring of one-second buckets. Thread-safe (one mutex, held for a few arithmetic steps: it
/// sits on the order path, which waits on a replicated disk write anyway, never on lookups).
/// Time is passed in, so it is tested without sleeping.
class RateWindow {
 public:
  using Clock = std::chrono::steady_clock;

  /// Keeps the last `seconds` whole seconds (at least 1).
  explicit RateWindow(std::size_t seconds = 60, Clock::time_point origin = Clock::now());

  void record(Clock::time_point now, std::chrono::nanoseconds latency, bool server_error);

  /// The last `seconds` whole seconds before the one `now` is in, oldest first (the current
  /// second is still filling, so it is left out). Seconds nothing was recorded in are zero.
  std::vector<RateSample> samples(Clock::time_point now) const;

  std::size_t seconds() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::int64_t second = -1;  // which second it holds; -1: none yet
    std::uint64_t count = 0;
    std::uint64_t errors = 0;
    double latency_sum_ms = 0;
    double latency_max_ms = 0;
  };
  std::int64_t second_of(Clock::time_point t) const;

  const Clock::time_point origin_;
  mutable std::mutex mu_;
  std::vector<Bucket> buckets_;  // guarded by mu_; bucket of second s at s % size
};

}  // namespace bazaar::storefront
