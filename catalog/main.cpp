// bazaar-catalog: owns the items. See catalog/catalog_service.h.
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "catalog/catalog_service.h"
#include "catalog/item_store.h"
#include "catalog/seed.h"
#include "common/cli.h"
#include "common/fd_limit.h"
#include "common/logging.h"
#include "common/metrics_endpoint.h"
#include "common/socket_policy.h"
#include "common/stop_signal.h"
#include "proto_msgs/messages.h"

namespace po = boost::program_options;
using namespace bazaar;

namespace {

constexpr const char* kProgram = "bazaar-catalog";

// --dump: "<name> <price> <quantity>" per item in seed order, read-only, whether or not a
// catalog process is running on the same database.
int dump(const std::string& db_path) {
  catalog::DumpResult r = catalog::ItemStore::read_only_items(db_path);
  if (!r.ok) {
    common::print_error(kProgram, r.error);
    return common::kExitStartup;
  }
  std::string out;
  for (const proto::Item& item : r.items) {
    out += item.name + " " + catalog::format_price(item.price_cents) + " " +
           std::to_string(item.quantity) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : common::kExitStartup;
}

// Label stored in a new database, so a later start with another --catalog can say what the
// database really holds. CSV paths are made absolute so "a.csv" and "./a.csv" agree.
std::string seed_label(const std::string& catalog) {
  if (catalog == "toys" || catalog == "stocks") return catalog;
  std::error_code ec;
  const auto abs = std::filesystem::weakly_canonical(catalog, ec);
  return "csv:" + (ec ? catalog : abs.string());
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts = common::common_options();
  po::options_description cat("Catalog");
  cat.add_options()("endpoint", po::value<std::string>()->default_value("tcp://127.0.0.1:5553"),
                    "bind: ROUTER answering lookup, list, trade and status requests")(
      "bus", po::value<std::string>()->default_value("tcp://127.0.0.1:5550"),
      "connect: the broker's XSUB endpoint, for invalidations (empty: publish nothing)")(
      "db", po::value<std::string>()->default_value("catalog.db"),
      "SQLite database file (created and seeded when missing)")(
      "catalog", po::value<std::string>()->default_value("toys"),
      "seed of a new database: toys, stocks, or a CSV file of name,price,quantity lines")(
      "restock-interval", po::value<double>(),
      "seconds between restocks of sold-out items, fractions allowed, 0 = off (default: 10 "
      "when the database holds the toys flavour, otherwise off)")(
      "restock-to", po::value<std::int64_t>()->default_value(100),
      "quantity a sold-out item is restocked to")("workers", po::value<int>()->default_value(4),
                                                  "request worker threads (1..64)")(
      "dump", po::bool_switch(),
      "print \"<name> <price> <quantity>\" per item from --db (read-only) and exit");
  opts.add(cat);
  opts.add(common::socket_options());
  opts.add(common::metrics_options("endpoint"));
  po::variables_map vm;
  if (int rc = common::parse_command_line(
          argc, argv, kProgram,
          "Catalog of a Bazaar cluster: items in SQLite, lookups, trades applied at most once "
          "per request id, invalidations on the bus, restocks of sold-out items.",
          opts, vm);
      rc >= 0) {
    return rc;
  }
  const std::string db_path = vm["db"].as<std::string>();
  if (vm["dump"].as<bool>()) return dump(db_path);

  const std::string catalog_name = vm["catalog"].as<std::string>();
  // Unset: the service picks the flavour's default from what the database holds.
  std::optional<double> restock_s;
  if (vm.count("restock-interval")) restock_s = vm["restock-interval"].as<double>();
  if (restock_s && (!std::isfinite(*restock_s) || *restock_s < 0 || *restock_s > 86400 ||
                    (*restock_s > 0 && *restock_s < 0.01))) {
    common::print_error(kProgram, "--restock-interval must be 0 (off) or 0.01..86400 seconds");
    return common::kExitUsage;
  }
  const std::int64_t restock_to = vm["restock-to"].as<std::int64_t>();
  if (restock_to < 1 || restock_to > proto::kMaxQuantity) {
    common::print_error(kProgram, "--restock-to must be 1.." + std::to_string(proto::kMaxQuantity));
    return common::kExitUsage;
  }
  const int workers = vm["workers"].as<int>();
  if (workers < 1 || workers > catalog::CatalogService::kMaxWorkers) {
    common::print_error(
        kProgram, "--workers must be 1.." + std::to_string(catalog::CatalogService::kMaxWorkers));
    return common::kExitUsage;
  }
  if (vm["endpoint"].as<std::string>().empty()) {
    common::print_error(kProgram, "--endpoint must not be empty");
    return common::kExitUsage;
  }
  if (!common::init_logging("catalog", vm["log-level"].as<std::string>())) {
    common::print_error(kProgram, "unknown --log-level");
    return common::kExitUsage;
  }

  catalog::SeedResult seed = catalog::load_seed(catalog_name);
  if (!seed.ok()) {
    common::print_error(kProgram, seed.message);
    return common::kExitStartup;
  }

  common::install_stop_handlers();
  try {
    common::ensure_fd_limit(common::kServiceFds, "sockets, database, peers");
    // Limits and CURVE for every socket; the service starts its context's ZAP handler.
    common::apply_socket_options(vm, nullptr);
    catalog::CatalogConfig config;
    config.endpoint = vm["endpoint"].as<std::string>();
    config.bus = vm["bus"].as<std::string>();
    config.db_path = db_path;
    config.seed = std::move(seed.items);
    config.seed_label = seed_label(catalog_name);
    if (restock_s) {
      config.restock_interval =
          std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*restock_s * 1000)));
    }
    config.restock_to = restock_to;
    config.workers = workers;
    common::MetricsEndpoint metrics_endpoint(common::parse_metrics_address(vm, config.endpoint));
    catalog::CatalogMetrics metrics(metrics_endpoint.registry());
    config.metrics = &metrics;
    catalog::CatalogService service(std::move(config));
    if (service.created_database()) {
      spdlog::info("database {} created, seeded with {} ({} items)", db_path,
                   service.database_seed_label(), service.item_count());
    } else {
      spdlog::info("database {} opened ({} items, seeded with {})", db_path, service.item_count(),
                   service.database_seed_label());
      if (service.database_seed_label() != seed_label(catalog_name)) {
        spdlog::warn("--catalog {} ignored: the database exists and is the truth", catalog_name);
      }
    }
    spdlog::info("serving on {} with {} workers, incarnation {:016x}, invalidations to {}, {}",
                 service.bound_endpoint(), workers, service.incarnation(),
                 vm["bus"].as<std::string>().empty() ? "nowhere" : vm["bus"].as<std::string>(),
                 service.restock_interval().count() > 0
                     ? fmt::format("restock every {} ms to {}", service.restock_interval().count(),
                                   restock_to)
                     : std::string("no restock"));
    if (!service.run()) {
      common::print_error(kProgram, "stopped after an internal failure (see the log)");
      return common::kExitStartup;
    }
    spdlog::info("stopped");
  } catch (const common::StartupError& e) {
    common::print_error(kProgram, e.what());
    return common::kExitStartup;
  } catch (const std::exception& e) {
    // Not a start-up error: a bug or resource exhaustion while serving. Still one clear line.
    common::print_error(kProgram, e.what());
    return common::kExitStartup;
  }
  return 0;
}
