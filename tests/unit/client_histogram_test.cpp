// LatencyHistogram: the bucket layout, and percentiles against the exact ones of a sorted list.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "client/latency_histogram.h"

namespace bazaar::client {
namespace {

// The exact q-th percentile by the same rank rule: the sample of rank ceil(q/100 * n).
std::uint64_t exact(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  const auto rank = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(q / 100.0 * static_cast<double>(v.size()))));
  return v[rank - 1];
}

// Within the promised relative error: one bucket, 1/64 of the value, above the true value.
void expect_close(std::uint64_t got, std::uint64_t want) {
  EXPECT_GE(got, want);
  EXPECT_LE(static_cast<double>(got), static_cast<double>(want) * (1.0 + 1.0 / 64) + 1)
      << "want " << want;
}

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0u);
  EXPECT_EQ(LatencyHistogram::bucket_of(127), 127u);
  EXPECT_EQ(LatencyHistogram::bucket_of(128), 128u);
  const std::size_t last = LatencyHistogram::bucket_of(LatencyHistogram::kMaxMicros);
  EXPECT_EQ(LatencyHistogram::bucket_high(last), LatencyHistogram::kMaxMicros);
  for (std::size_t b = 0; b < last; ++b) {
    ASSERT_EQ(LatencyHistogram::bucket_high(b) + 1, LatencyHistogram::bucket_low(b + 1)) << b;
    ASSERT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_low(b)), b);
    ASSERT_EQ(LatencyHistogram::bucket_of(LatencyHistogram::bucket_high(b)), b);
    // Relative width: the precision the percentiles promise.
    const auto low = LatencyHistogram::bucket_low(b);
    const auto width = LatencyHistogram::bucket_high(b) - low + 1;
    ASSERT_LE(static_cast<double>(width - 1), std::max(1.0, static_cast<double>(low) / 64)) << b;
  }
}

TEST(LatencyHistogram, UniformSamples) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 10000u);
  EXPECT_DOUBLE_EQ(h.mean(), 5000.5);
  expect_close(h.percentile(50), 5000);
  expect_close(h.percentile(90), 9000);
  expect_close(h.percentile(99), 9900);
  EXPECT_EQ(h.percentile(100), 10000u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t v : {5, 7, 9, 11, 100}) h.record(v);
  EXPECT_EQ(h.percentile(20), 5u);
  EXPECT_EQ(h.percentile(50), 9u);
  EXPECT_EQ(h.percentile(80), 11u);
  EXPECT_EQ(h.percentile(99), 100u);
}

TEST(LatencyHistogram, OneSampleIsEveryPercentile) {
  LatencyHistogram h;
  h.record(123456);
  EXPECT_EQ(h.percentile(1), 123456u);  // capped at the exact max, not the bucket's top
  EXPECT_EQ(h.percentile(50), 123456u);
  EXPECT_EQ(h.percentile(99.9), 123456u);
}

TEST(LatencyHistogram, SkewedSamplesMatchSortedListWithinOneBucket) {
  // Latencies look like this: most fast, a long tail (log-normal around 400 µs).
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(6.0, 1.2);
  std::vector<std::uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    samples.push_back(v);
    h.record(v);
  }
  for (double q : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9}) {
    SCOPED_TRACE(q);
    expect_close(h.percentile(q), exact(samples, q));
  }
  EXPECT_EQ(h.max(), *std::max_element(samples.begin(), samples.end()));
}

TEST(LatencyHistogram, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> dist(0, 2000000);
  for (int i = 0; i < 5000; ++i) {
    const auto v = dist(rng);
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {50.0, 90.0, 99.0}) EXPECT_EQ(a.percentile(q), all.percentile(q));
  LatencyHistogram empty;
  empty.merge(all);
  EXPECT_EQ(empty.min(), all.min());
}

TEST(LatencyHistogram, HugeValuesAreClamped) {
  LatencyHistogram h;
  h.record(~std::uint64_t{0});
  EXPECT_EQ(h.max(), LatencyHistogram::kMaxMicros);
  EXPECT_EQ(h.percentile(50), LatencyHistogram::kMaxMicros);
}

}  // namespace
}  // namespace bazaar::client
