#include "storefront/rate_window.h"

#include <algorithm>

namespace bazaar::storefront {

RateWindow::RateWindow(std::size_t seconds, Clock::time_point origin)
    : origin_(origin), buckets_(std::max<std::size_t>(1, seconds)) {}

std::int64_t RateWindow::second_of(Clock::time_point t) const {
  if (t < origin_) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t - origin_).count();
}

void RateWindow::record(Clock::time_point now, std::chrono::nanoseconds latency,
                        bool server_error) {
  const std::int64_t s = second_of(now);
  const double ms = std::chrono::duration<double, std::milli>(latency).count();
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = buckets_[static_cast<std::size_t>(s) % buckets_.size()];
  if (b.second != s) b = Bucket{.second = s};
  ++b.count;
  if (server_error) ++b.errors;
  b.latency_sum_ms += ms;
  b.latency_max_ms = std::max(b.latency_max_ms, ms);
}

std::vector<RateSample> RateWindow::samples(Clock::time_point now) const {
  const std::int64_t current = second_of(now);
  const auto n = static_cast<std::int64_t>(buckets_.size());
  std::vector<RateSample> out;
  out.reserve(buckets_.size());
  std::lock_guard<std::mutex> lock(mu_);
  for (std::int64_t s = current - n; s < current; ++s) {
    RateSample sample;
    if (s >= 0) {
      const Bucket& b = buckets_[static_cast<std::size_t>(s) % buckets_.size()];
      if (b.second == s) {
        sample.count = b.count;
        sample.errors = b.errors;
        sample.latency_avg_ms = b.count > 0 ? b.latency_sum_ms / static_cast<double>(b.count) : 0;
        sample.latency_max_ms = b.latency_max_ms;
      }
    }
    out.push_back(sample);
  }
  return out;
}

}  // namespace bazaar::storefront
