#include "common/exposition.h"

#include <prometheus/text_serializer.h>

namespace bazaar::common {

namespace {

prometheus::ClientMetric metric_of(prometheus::MetricType type, double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

}  // namespace

prometheus::MetricFamily single_family(std::string name, std::string help,
                                       prometheus::MetricType type, double value) {
  return prometheus::MetricFamily{.name = std::move(name),
                                  .help = std::move(help),
                                  .type = type,
                                  .metric = {metric_of(type, value)}};
}

prometheus::MetricFamily labelled_family(
    std::string name, std::string help, prometheus::MetricType type, const std::string& label,
    const std::vector<std::pair<std::string, double>>& samples) {
  prometheus::MetricFamily family{.name = std::move(name), .help = std::move(help), .type = type};
  family.metric.reserve(samples.size());
  for (const auto& [label_value, value] : samples) {
    prometheus::ClientMetric m = metric_of(type, value);
    m.label.push_back({.name = label, .value = label_value});
    family.metric.push_back(std::move(m));
  }
  return family;
}

std::string render_text(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace bazaar::common
