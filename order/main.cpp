// bazaar-order: one replica of the order service. See order/replica.h and docs/REPLICATION.md.
#include <spdlog/spdlog.h>

#include <boost/algorithm/string.hpp>
#include <iostream>
#include <map>

#include "common/cli.h"
#include "common/fd_limit.h"
#include "common/logging.h"
#include "common/metrics_endpoint.h"
#include "common/socket_policy.h"
#include "common/stop_signal.h"
#include "common/zmq_util.h"
#include "order/cluster_identity.h"
#include "order/order_server.h"
#include "order/replica_metrics.h"
#include "order/sqlite_log_store.h"

namespace po = boost::program_options;
using namespace bazaar;

int main(int argc, char** argv) {
  const char* program = "bazaar-order";
  po::options_description opts = common::common_options();
  po::options_description svc("Order replica");
  svc.add_options()("id", po::value<int>()->default_value(1), "replica id (1..9)")(
      "endpoint", po::value<std::string>()->default_value("tcp://127.0.0.1:5560"),
      "bind: client requests")(
      "peers", po::value<std::string>()->default_value(""),
      "replication endpoints of the replicas a new cluster starts with, comma-separated: in id "
      "order (ENDPOINT,ENDPOINT,...: ids 1, 2, ...) or by id (ID=ENDPOINT,...); this replica "
      "binds its own. Once a configuration has committed (docs/REPLICATION.md, \"Membership\") "
      "the log's is in force and this only names this replica's endpoint. Empty: a single "
      "replica")("catalog", po::value<std::string>()->default_value("tcp://127.0.0.1:5553"),
                 "catalog endpoint")(
      "bus", po::value<std::string>()->default_value("tcp://127.0.0.1:5550"),
      "broker endpoint publishers connect to (its --xsub)")(
      "db", po::value<std::string>()->default_value("order.db"), "SQLite database file")(
      "request-timeout", po::value<int>()->default_value(1000),
      "deadline of one catalog trade, milliseconds (10..60000)")(
      "heartbeat-interval", po::value<int>()->default_value(50),
      "leader heartbeat, milliseconds (5..1000)")(
      "election-timeout", po::value<int>()->default_value(300),
      "silence before a follower campaigns, milliseconds (>= 4 heartbeats)")(
      "announce-interval", po::value<int>()->default_value(500),
      "milliseconds between leader announcements on the bus (10..10000)")(
      "log-cache-entries", po::value<int>()->default_value(50000),
      "log entries kept in memory once applied (100..10000000): followers that keep up are "
      "served from them, older entries are read from the database")(
      "catalog-probe-interval", po::value<int>()->default_value(250),
      "milliseconds between probes of the catalog (10..10000; 0: none): a replica the catalog "
      "does not answer hands office to one it answers")(
      "no-forwarding",
      "as follower, answer \"not leader\" to what only the leader can serve instead of passing it "
      "on (by default it forwards, so a client that reaches only a follower is still served)")(
      "join",
      "with an empty database: join the running cluster of --peers as a replica that lost its "
      "data (or a new one): no vote and no campaign until it has caught up with a leader "
      "(docs/REPLICATION.md, \"Replacing a replica\"); ignored when the database holds a log")(
      "no-leadership-transfer",
      "as leader, never hand office to a caught-up replica with a higher id (by default it does, "
      "so the highest live replica leads)")("dump",
                                            "print the committed orders, one a line, and exit");
  opts.add(svc);
  opts.add(common::socket_options());
  opts.add(common::metrics_options("endpoint"));
  po::variables_map vm;
  if (int rc = common::parse_command_line(argc, argv, program,
                                          "One replica of the Bazaar order service.", opts, vm);
      rc >= 0) {
    return rc;
  }
  const std::string db_path = vm["db"].as<std::string>();
  if (vm.count("dump")) {
    try {
      order::SqliteLogStore::dump(db_path, [](const std::string& l) { std::cout << l << "\n"; });
      return 0;
    } catch (const common::StartupError& e) {
      common::print_error(program, e.what());
      return common::kExitStartup;
    }
  }
  const int id = vm["id"].as<int>();
  const int timeout = vm["request-timeout"].as<int>();
  const int heartbeat = vm["heartbeat-interval"].as<int>();
  const int election = vm["election-timeout"].as<int>();
  const int announce = vm["announce-interval"].as<int>();
  const int probe = vm["catalog-probe-interval"].as<int>();
  const int cache_entries = vm["log-cache-entries"].as<int>();
  std::string bad;
  // --peers: id -> replication endpoint.
  std::map<std::uint32_t, std::string> peers;
  if (!vm["peers"].as<std::string>().empty()) {
    std::vector<std::string> items;
    boost::split(items, vm["peers"].as<std::string>(), boost::is_any_of(","));
    for (std::size_t k = 0; k < items.size(); ++k) {
      std::uint32_t peer = static_cast<std::uint32_t>(k + 1);
      std::string endpoint = items[k];
      if (const auto eq = items[k].find('='); eq != std::string::npos) {
        try {
          peer = static_cast<std::uint32_t>(std::stoul(items[k].substr(0, eq)));
        } catch (const std::exception&) {
          peer = 0;
        }
        endpoint = items[k].substr(eq + 1);
      }
      if (peer < 1 || peer > 9 || endpoint.empty() || peers.count(peer) != 0) {
        bad = "--peers: '" + items[k] + "' is not ENDPOINT or ID=ENDPOINT with a new id 1..9";
      }
      peers[peer] = endpoint;
    }
  }
  if (id < 1 || id > 9) bad = "--id must be 1..9";
  if (!peers.empty() && peers.count(static_cast<std::uint32_t>(id)) == 0) {
    bad = "--peers must include this replica's endpoint (--id " + std::to_string(id) + ")";
  }
  if (timeout < 10 || timeout > 60000) bad = "--request-timeout must be 10..60000";
  if (heartbeat < 5 || heartbeat > 1000) bad = "--heartbeat-interval must be 5..1000";
  if (election < 4 * heartbeat || election > 60000)
    bad = "--election-timeout must be 4 heartbeats..60000";
  if (announce < 10 || announce > 10000) bad = "--announce-interval must be 10..10000";
  if (probe != 0 && (probe < 10 || probe > 10000))
    bad = "--catalog-probe-interval must be 0 or 10..10000";
  if (cache_entries < 100 || cache_entries > 10000000)
    bad = "--log-cache-entries must be 100..10000000";
  if (!bad.empty()) {
    common::print_error(program, bad);
    return common::kExitUsage;
  }
  if (!common::init_logging("order-" + std::to_string(id), vm["log-level"].as<std::string>())) {
    common::print_error(program, "unknown --log-level");
    return common::kExitUsage;
  }
  common::install_stop_handlers();
  try {
    common::ensure_fd_limit(common::kServiceFds, "sockets, database, peers");
    zmq::context_t ctx(1);
    common::apply_socket_options(vm, &ctx);  // limits and CURVE, before any socket
    common::MetricsEndpoint metrics_endpoint(
        common::parse_metrics_address(vm, vm["endpoint"].as<std::string>()));
    order::ReplicaMetrics metrics(metrics_endpoint.registry());
    order::SqliteLogStore store(db_path);
    store.set_write_observer(
        [&metrics](std::chrono::steady_clock::duration took) { metrics.observe_sync(took); });
    order::ReplicaOptions ro;
    ro.raft.id = static_cast<std::uint32_t>(id);
    for (const auto& [peer, endpoint] : peers) ro.raft.members.push_back(peer);
    if (peers.empty()) ro.raft.members = {static_cast<std::uint32_t>(id)};
    ro.raft.endpoints = peers;
    ro.raft.heartbeat_ms = static_cast<std::uint64_t>(heartbeat);
    ro.raft.election_ms = static_cast<std::uint64_t>(election);
    ro.raft.priority_step_ms = static_cast<std::uint64_t>(election) / 2;
    ro.raft.jitter_ms = static_cast<std::uint64_t>(election) / 3;
    ro.raft.seed = common::new_incarnation();
    ro.raft.transfer = vm.count("no-leadership-transfer") == 0;
    ro.raft.cache_entries = static_cast<std::size_t>(cache_entries);
    // Only an empty database joins: a replica with a log and a hard state is a member already,
    // and its persisted vote is the one that counts. One that holds only the cluster id it learnt
    // (it never voted nor stored an entry) may still join.
    const bool stateless = store.last_index() == 0 && store.hard_state().term == 0;
    const bool join = vm.count("join") != 0;
    ro.raft.joining = join && stateless;
    if (join && !stateless) {
      spdlog::info("--join ignored: {} holds a log (term {}), so this replica is a member", db_path,
                   store.hard_state().term);
    }
    if (ro.raft.joining) spdlog::info("joining: no vote until caught up with a leader");
    ro.trade_timeout_ms = static_cast<std::uint64_t>(timeout);
    ro.forward = vm.count("no-forwarding") == 0;
    spdlog::info("opened {}: term {}, last index {}, commit {}, {} committed orders", db_path,
                 store.hard_state().term, store.last_index(), store.commit_index(),
                 store.committed_orders());
    order::Replica replica(ro, store, 1);
    // The configuration the replica starts with: on an empty store, that of --peers, from which
    // a new cluster's id is derived and whose other members are probed.
    const raft::Membership& start = replica.core().membership();
    order::ClusterIdentity::Options io{.self = static_cast<std::uint32_t>(id),
                                       .mode = order::StartMode::kMember,
                                       .cluster = store.cluster_id(),
                                       .known_peers = store.known_peers()};
    for (const raft::Member& m : start.members()) {
      if (m.id != io.self) io.peers.push_back(m.id);
    }
    if (store.empty()) {
      io.mode = join ? order::StartMode::kJoin : order::StartMode::kBootstrap;
      if (!join) io.cluster = order::ClusterIdentity::derive(start);
    }
    order::ClusterIdentity identity(std::move(io));
    common::EventPublisher bus(ctx, vm["bus"].as<std::string>(), "order-" + std::to_string(id),
                               common::new_incarnation());
    order::OrderServer server(
        ctx,
        {.endpoint = vm["endpoint"].as<std::string>(),
         .catalog_endpoint = vm["catalog"].as<std::string>(),
         .id = static_cast<std::uint32_t>(id),
         .announce_interval = std::chrono::milliseconds(announce),
         .catalog_probe_interval = std::chrono::milliseconds(probe),
         .after_iteration = [&metrics](const order::Replica& r,
                                       std::uint64_t now) { metrics.sample(r, now); },
         .record_identity =
             [&store](const order::ClusterIdentity& c) {
               store.write_identity(c.cluster(), c.known_peers());
             }},
        replica, bus, identity);
    if (server.run() == order::RunOutcome::kRefused) {
      common::print_error(program, db_path + " is empty, but " + identity.refusal());
      return common::kExitRefused;
    }
  } catch (const common::StartupError& e) {
    common::print_error(program, e.what());
    return common::kExitStartup;
  } catch (const std::exception& e) {
    // A disk error while serving: stop rather than promise what was not stored.
    spdlog::critical("stopping: {}", e.what());
    return common::kExitStartup;
  }
  return 0;
}
