// A service's Prometheus scrape endpoint (prometheus-cpp's pull exposer, docs/OPERATIONS.md
// "Metrics"): `--metrics-address HOST:PORT` serves GET /metrics over HTTP; `none` turns it off.
// By default it listens on 127.0.0.1 at the port of the service's main endpoint + 100.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <optional>
#include <string>

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace bazaar::common {

/// Ports between a service's main endpoint and its default metrics port.
inline constexpr int kMetricsPortOffset = 100;

/// Where to serve metrics: an address, or nothing (`none`).
struct MetricsAddress {
  std::optional<std::string> host_port;  // "127.0.0.1:5650"; nullopt: no endpoint
  bool explicit_value = false;           // given on the command line (must then bind)
};

/// `--metrics-address`; its default is derived from the endpoint named `endpoint_option`.
boost::program_options::options_description metrics_options(const std::string& endpoint_option);

/// 127.0.0.1 at the port of `endpoint` (tcp://HOST:PORT) + kMetricsPortOffset; "none" when the
/// endpoint has no numeric port or the result is past 65535.
std::string default_metrics_address(const std::string& endpoint);

/// Reads --metrics-address. Throws StartupError when it is neither `none` nor HOST:PORT with a
/// port 1..65535. Any host is allowed: metrics are read-only; firewall them like the internal
/// ports (docs/OPERATIONS.md).
/// Without the option: default_metrics_address(`main_endpoint`).
MetricsAddress parse_metrics_address(const boost::program_options::variables_map& vm,
                                     const std::string& main_endpoint);

/// The registry every metric of the process is made in, and the HTTP endpoint that serves it.
/// Metrics are thread-safe (prometheus-cpp): any thread may update them while a scrape runs.
class MetricsEndpoint {
 public:
  /// Starts serving `address` (nothing when it names none). An explicit address that cannot be
  /// bound throws StartupError; the default one is best-effort (a warning, then no endpoint), so
  /// that a taken default port never keeps a service from starting.
  explicit MetricsEndpoint(const MetricsAddress& address);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  /// "HOST:PORT" being served, or empty.
  const std::string& serving() const { return serving_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string serving_;
};

}  // namespace bazaar::common
