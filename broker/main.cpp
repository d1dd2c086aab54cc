// bazaar-broker: the event bus. See broker/bus.h.
#include <spdlog/spdlog.h>

#include "broker/bus.h"
#include "broker/bus_metrics.h"
#include "common/cli.h"
#include "common/fd_limit.h"
#include "common/logging.h"
#include "common/metrics_endpoint.h"
#include "common/socket_policy.h"
#include "common/stop_signal.h"

namespace po = boost::program_options;
using namespace bazaar;

int main(int argc, char** argv) {
  const char* program = "bazaar-broker";
  po::options_description opts = common::common_options();
  po::options_description bus("Bus");
  bus.add_options()("xsub", po::value<std::string>()->default_value("tcp://127.0.0.1:5550"),
                    "bind: publishers connect here")(
      "xpub", po::value<std::string>()->default_value("tcp://127.0.0.1:5551"),
      "bind: subscribers connect here")(
      "control", po::value<std::string>()->default_value("tcp://127.0.0.1:5552"),
      "bind: status requests")("heartbeat-interval", po::value<int>()->default_value(250),
                               "milliseconds between heartbeats (10..10000)");
  opts.add(bus);
  opts.add(common::socket_options());
  opts.add(common::metrics_options("xsub"));
  po::variables_map vm;
  if (int rc = common::parse_command_line(argc, argv, program,
                                          "Event bus of a Bazaar cluster: XSUB <-> XPUB with a "
                                          "leader last-value cache and a heartbeat.",
                                          opts, vm);
      rc >= 0) {
    return rc;
  }
  const int hb = vm["heartbeat-interval"].as<int>();
  if (hb < 10 || hb > 10000) {
    common::print_error(program, "--heartbeat-interval must be 10..10000 ms");
    return common::kExitUsage;
  }
  if (!common::init_logging("broker", vm["log-level"].as<std::string>())) {
    common::print_error(program, "unknown --log-level");
    return common::kExitUsage;
  }
  common::install_stop_handlers();
  try {
    common::ensure_fd_limit(common::kServiceFds, "sockets and peers");
    zmq::context_t ctx(1);
    common::apply_socket_options(vm, &ctx);  // limits and CURVE, before any socket
    common::MetricsEndpoint metrics_endpoint(
        common::parse_metrics_address(vm, vm["xsub"].as<std::string>()));
    broker::BusMetrics metrics(metrics_endpoint.registry());
    broker::Bus b(ctx,
                  {vm["xsub"].as<std::string>(), vm["xpub"].as<std::string>(),
                   vm["control"].as<std::string>(), std::chrono::milliseconds(hb)},
                  &metrics);
    b.run();
  } catch (const common::StartupError& e) {
    common::print_error(program, e.what());
    return common::kExitStartup;
  }
  return 0;
}
