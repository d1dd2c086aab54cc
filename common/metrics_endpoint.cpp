#include "common/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>

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

MetricsEndpoint::~MetricsEndpoint() {
  if (!exposer_) return;
  // civetweb's listener thread notices the stop flag only when its poll() returns, which takes
  // up to a second on an idle endpoint: every service stop took 1 s longer. A connection wakes
  // it, so connect until the exposer is gone (bounded: its own poll timeout ends it anyway).
  std::atomic<bool> done{false};
  std::thread closer([this, &done] {
    exposer_.reset();
    done.store(true);
  });
  const auto colon = serving_.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(serving_.substr(colon + 1))));
  const std::string host = serving_.substr(0, colon);
  if (inet_pton(AF_INET, host == "0.0.0.0" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) == 1) {
    for (int i = 0; i < 400 && !done.load(); ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd >= 0) {
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        ::close(fd);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  closer.join();
}

}  // namespace bazaar::common
