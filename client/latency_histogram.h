// A fixed-size latency histogram with log-linear buckets (the layout of HdrHistogram): the
// client's load generator records every request in one, and reads percentiles from the buckets,
// so memory stays constant however long a run lasts.
#pragma once

#include <array>
#include <cstdint>

namespace bazaar::client {

/// Counts of latencies in microseconds. Values below 128 µs have buckets 1 µs wide; above, every
/// power of two is split into 64 equal buckets, so a reported value is within 1/64 (1.6 %) of
/// the true one. Values above kMaxMicros (about 71 minutes) are counted as kMaxMicros. Not
/// thread-safe: one per thread, merged at the end.
class LatencyHistogram {
 public:
  static constexpr std::uint64_t kMaxMicros = (std::uint64_t{1} << 32) - 1;

  /// Adds one sample of `micros` microseconds.
  void record(std::uint64_t micros);
  /// Adds every sample of `other`.
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  /// Exact smallest and largest sample (0 when empty).
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  /// Exact arithmetic mean (0 when empty).
  double mean() const;
  /// The q-th percentile (0 < q <= 100): the highest value of the bucket that holds the sample
  /// of rank ceil(q/100 * count), capped at max(). 0 when empty.
  std::uint64_t percentile(double q) const;

  /// Bucket layout, public for the tests: which bucket a value falls in, and the lowest and
  /// highest value of a bucket.
  static std::size_t bucket_of(std::uint64_t micros);
  static std::uint64_t bucket_low(std::size_t bucket);
  static std::uint64_t bucket_high(std::size_t bucket);

 private:
  static constexpr int kSubBits = 7;  // 128 linear sub-buckets, the upper 64 used above 128
  static constexpr std::size_t kHalf = std::size_t{1} << (kSubBits - 1);
  static constexpr std::size_t kBuckets = (32 - kSubBits + 2) * kHalf;

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace bazaar::client
