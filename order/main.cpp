// bazaar-order: one replica of the order service. See order/order_handler.h.
#include <spdlog/spdlog.h>

#include <iostream>

#include "common/cli.h"
#include "common/logging.h"
#include "common/stop_signal.h"
#include "common/zmq_util.h"
#include "order/order_server.h"

namespace po = boost::program_options;
using namespace bazaar;

int main(int argc, char** argv) {
  const char* program = "bazaar-order";
  po::options_description opts = common::common_options();
  po::options_description svc("Order replica");
  svc.add_options()("id", po::value<int>()->default_value(1), "replica id (1..64)")(
      "endpoint", po::value<std::string>()->default_value("tcp://127.0.0.1:5560"),
      "bind: client requests")("catalog",
                               po::value<std::string>()->default_value("tcp://127.0.0.1:5553"),
                               "catalog endpoint")(
      "bus", po::value<std::string>()->default_value("tcp://127.0.0.1:5550"),
      "broker endpoint publishers connect to (its --xsub)")(
      "db", po::value<std::string>()->default_value("order.db"), "SQLite database file")(
      "request-timeout", po::value<int>()->default_value(1000),
      "deadline of one catalog call, milliseconds (10..60000)")(
      "announce-interval", po::value<int>()->default_value(500),
      "milliseconds between leader announcements (10..10000)")(
      "dump", "print the committed orders, one a line, and exit");
  opts.add(svc);
  po::variables_map vm;
  if (int rc = common::parse_command_line(argc, argv, program,
                                          "One replica of the Bazaar order service.", opts, vm);
      rc >= 0) {
    return rc;
  }
  const std::string db_path = vm["db"].as<std::string>();
  if (vm.count("dump")) {
    try {
      order::OrderLog::dump(db_path, [](const std::string& l) { std::cout << l << "\n"; });
      return 0;
    } catch (const common::StartupError& e) {
      common::print_error(program, e.what());
      return common::kExitStartup;
    }
  }
  const int id = vm["id"].as<int>();
  const int timeout = vm["request-timeout"].as<int>();
  const int announce = vm["announce-interval"].as<int>();
  if (id < 1 || id > 64) {
    common::print_error(program, "--id must be 1..64");
    return common::kExitUsage;
  }
  if (timeout < 10 || timeout > 60000 || announce < 10 || announce > 10000) {
    common::print_error(program, "--request-timeout must be 10..60000, --announce-interval 10..10000");
    return common::kExitUsage;
  }
  if (!common::init_logging("order-" + std::to_string(id), vm["log-level"].as<std::string>())) {
    common::print_error(program, "unknown --log-level");
    return common::kExitUsage;
  }
  common::install_stop_handlers();
  try {
    zmq::context_t ctx(1);
    order::OrderLog log(db_path);
    // Alone, a replica leads a new term at every start, so frontends can tell a restarted leader
    // from the one they knew. Persisted before serving, as an election's vote would be.
    const std::uint64_t term = log.term() + 1;
    log.set_term(term);
    order::RpcCatalogGateway catalog(ctx, vm["catalog"].as<std::string>(),
                                     std::chrono::milliseconds(timeout));
    order::OrderHandler handler(static_cast<std::uint32_t>(id), term, log, catalog);
    common::EventPublisher bus(ctx, vm["bus"].as<std::string>(), "order-" + std::to_string(id),
                               common::new_incarnation());
    order::OrderServer server(ctx,
                              {vm["endpoint"].as<std::string>(), std::chrono::milliseconds(announce)},
                              handler, bus);
    server.run();
  } catch (const common::StartupError& e) {
    common::print_error(program, e.what());
    return common::kExitStartup;
  }
  return 0;
}
