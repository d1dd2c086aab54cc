// Prometheus families built from numbers the front end keeps elsewhere (cache statistics,
// connection counts, event streams), and the text exposition of a scrape. The hot counters live
// in a prometheus-cpp registry (Metrics); these build the same data form for values read at
// scrape time, so that one serializer (prometheus-cpp's TextSerializer) writes the whole page.
#pragma once

#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bazaar::common {

/// A count as a sample value (Prometheus samples are doubles; counts stay exact below 2^53).
inline double sample(std::uint64_t count) {
  return static_cast<double>(count);
}

/// A family of one unlabelled sample.
prometheus::MetricFamily single_family(std::string name, std::string help,
                                       prometheus::MetricType type, double value);

/// A family with one sample per (label value, value) under the label `label`, in that order.
prometheus::MetricFamily labelled_family(
    std::string name, std::string help, prometheus::MetricType type, const std::string& label,
    const std::vector<std::pair<std::string, double>>& samples);

/// Prometheus text exposition format 0.0.4 of `families`, in their order.
std::string render_text(const std::vector<prometheus::MetricFamily>& families);

}  // namespace bazaar::common
