#include "common/metrics_endpoint.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/cli.h"

namespace po = boost::program_options;

namespace bazaar::common {

namespace {
std::optional<int> parse_port(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}
}  // namespace

po::options_description metrics_options(const std::string& endpoint_option) {
  po::options_description opts("Metrics");
  opts.add_options()("metrics-address",
                     po::value<std::string>()->default_value(
                         "", "127.0.0.1:<port of --" + endpoint_option + " + " +
                                 std::to_string(kMetricsPortOffset) + ">"),
                     "HOST:PORT serving Prometheus metrics on GET /metrics (HTTP), or none");
  return opts;
}

std::string default_metrics_address(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  if (endpoint.rfind("tcp://", 0) != 0 || colon == std::string::npos) return "none";
  const auto port = parse_port(std::string_view(endpoint).substr(colon + 1));
  if (!port || *port + kMetricsPortOffset > 65535) return "none";
  return "127.0.0.1:" + std::to_string(*port + kMetricsPortOffset);
}

MetricsAddress parse_metrics_address(const po::variables_map& vm,
                                     const std::string& main_endpoint) {
  MetricsAddress out;
  out.explicit_value = !vm["metrics-address"].defaulted();
  const std::string value = out.explicit_value ? vm["metrics-address"].as<std::string>()
                                               : default_metrics_address(main_endpoint);
  if (value == "none") return out;
  const auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !parse_port(std::string_view(value).substr(colon + 1))) {
    throw StartupError("--metrics-address '" + value +
                       "': expected HOST:PORT (port 1..65535) or none");
  }
  out.host_port = value;
  return out;
}

MetricsEndpoint::MetricsEndpoint(const MetricsAddress& address)
    : registry_(std::make_shared<prometheus::Registry>()) {
  if (!address.host_port) return;
  try {
    // One thread: a scrape is a few kilobytes every few seconds.
    exposer_ = std::make_unique<prometheus::Exposer>(*address.host_port, 1);
  } catch (const std::exception& e) {
    if (address.explicit_value) {
      throw StartupError("--metrics-address " + *address.host_port +
                         ": cannot listen (port in use?)");
    }
    spdlog::warn("metrics: cannot listen on the default {} (port in use?); serving no metrics",
                 *address.host_port);
    return;
  }
  exposer_->RegisterCollectable(registry_);
  serving_ = *address.host_port;
  spdlog::info("metrics on http://{}/metrics", serving_);
}

MetricsEndpoint::~MetricsEndpoint() = default;

}  // namespace bazaar::common
