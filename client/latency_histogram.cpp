#include "client/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace bazaar::client {

std::size_t LatencyHistogram::bucket_of(std::uint64_t micros) {
  micros = std::min(micros, kMaxMicros);
  if (micros < 2 * kHalf) return static_cast<std::size_t>(micros);
  // Keep the top kSubBits bits: the exponent picks the group, the bits the bucket in it.
  const int msb = 63 - std::countl_zero(micros);
  const int shift = msb - (kSubBits - 1);
  return static_cast<std::size_t>(shift) * kHalf + static_cast<std::size_t>(micros >> shift);
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t bucket) {
  if (bucket < 2 * kHalf) return bucket;
  const std::size_t shift = bucket / kHalf - 1;
  const std::uint64_t top = bucket % kHalf + kHalf;
  return top << shift;
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t bucket) {
  if (bucket < 2 * kHalf) return bucket;
  const std::size_t shift = bucket / kHalf - 1;
  return bucket_low(bucket) + (std::uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
  micros = std::min(micros, kMaxMicros);
  ++counts_[bucket_of(micros)];
  min_ = count_ == 0 ? micros : std::min(min_, micros);
  max_ = std::max(max_, micros);
  ++count_;
  sum_ += static_cast<long double>(micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  // Rank of the wanted sample, 1-based; at least the first sample.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucket_high(i), min_, max_);
  }
  return max_;
}

}  // namespace bazaar::client
