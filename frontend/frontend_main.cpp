// bazaar-frontend: the HTTP front end. Serves the REST API (DESIGN.md section 3) over the links
// to the catalog and the order replicas (ZeroMQ).
#include <spdlog/spdlog.h>

#include <boost/algorithm/string/trim.hpp>
#include <thread>
#include <zmq.hpp>

#include "common/cli.h"
#include "common/exposition.h"
#include "common/fd_limit.h"
#include "common/logging.h"
#include "common/socket_policy.h"
#include "common/stop_signal.h"
#include "common/zmq_util.h"
#include "frontend/api_dispatcher.h"
#include "frontend/api_handler.h"
#include "frontend/bus_subscriber.h"
#include "frontend/cache_coherence.h"
#include "frontend/catalog_link.h"
#include "frontend/leader_tracker.h"
#include "frontend/lookup_cache.h"
#include "frontend/metrics.h"
#include "frontend/order_link.h"
#include "frontend/request_parsing.h"
#include "frontend/service_links.h"
#include "httpd/event_hub.h"
#include "httpd/http_server.h"
#include "storefront/cluster_monitor.h"
#include "storefront/static_assets.h"
#include "storefront/web_handler.h"

namespace po = boost::program_options;
using namespace bazaar;
using namespace bazaar::frontend;

namespace {

constexpr const char* kProgram = "bazaar-frontend";

std::vector<std::string> split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    boost::algorithm::trim(item);
    out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// ZeroMQ only checks an endpoint's syntax when a socket connects to it: do that once now, so a
// typo is a start-up error rather than a silent hang on every request.
void check_endpoint(zmq::context_t& ctx, const std::string& endpoint, const std::string& what) {
  if (endpoint.empty()) throw common::StartupError(what + " is empty");
  zmq::socket_t probe(ctx, zmq::socket_type::req);
  common::configure_socket(probe);
  common::connect_or_throw(probe, endpoint, what);
}

struct Limits {
  const char* flag;
  std::int64_t min;
  std::int64_t max;
};

// Range checks by hand: Boost.Program_options happily reads "-1" into an unsigned.
bool in_range(const po::variables_map& vm, const Limits& l) {
  const auto v = vm[l.flag].as<std::int64_t>();
  if (v >= l.min && v <= l.max) return true;
  common::print_error(kProgram, "--" + std::string(l.flag) + " must be in " +
                                    std::to_string(l.min) + ".." + std::to_string(l.max) +
                                    " (see --help)");
  return false;
}

// Raises the fd limit and fits --max-connections under it, leaving `reserve` descriptors for
// everything else: lowered with a warning when the flag was left at its default, a start-up
// error when it was given (the operator asked for that many).
void fit_connections_to_fds(const po::variables_map& vm, std::uint64_t reserve,
                            std::size_t& max_connections) {
  const std::uint64_t limit = common::raise_fd_limit().soft;
  if (max_connections + reserve <= limit) return;
  const std::string need = "--max-connections " + std::to_string(max_connections) + " needs " +
                           std::to_string(max_connections + reserve) +
                           " file descriptors with the front end's own " + std::to_string(reserve) +
                           ", the limit is " + std::to_string(limit);
  if (!vm["max-connections"].defaulted() || limit < reserve + 16) {
    throw common::StartupError(need + ": raise ulimit -n or lower --max-connections");
  }
  max_connections = static_cast<std::size_t>(limit - reserve);
  spdlog::warn("{}: serving at most {} connections (raise ulimit -n for more)", need,
               max_connections);
}

int run(const po::variables_map& vm) {
  const auto ms = [&](const char* flag) {
    return std::chrono::milliseconds(vm[flag].as<std::int64_t>());
  };

  httpd::HttpServerOptions http;
  http.address = vm["address"].as<std::string>();
  http.port = static_cast<unsigned short>(vm["port"].as<std::int64_t>());
  http.threads = static_cast<std::size_t>(vm["threads"].as<std::int64_t>());
  http.max_connections = static_cast<std::size_t>(vm["max-connections"].as<std::int64_t>());
  http.max_connections_per_client =
      static_cast<std::size_t>(vm["max-connections-per-client"].as<std::int64_t>());
  http.read_timeout = ms("read-timeout");
  http.idle_timeout = ms("idle-timeout");
  http.write_timeout = ms("read-timeout");

  CallTimeouts timeouts;
  timeouts.request = ms("request-timeout");
  timeouts.attempt = std::min(ms("attempt-timeout"), timeouts.request);

  struct {
    std::string catalog;              // catalog ROUTER endpoint
    std::vector<std::string> orders;  // order replica endpoints, replica id k at index k-1
  } endpoints{.catalog = vm["catalog"].as<std::string>(),
              .orders = split_endpoints(vm["orders"].as<std::string>())};
  const std::string bus = vm["bus"].as<std::string>();
  if (endpoints.orders.size() > 64) throw common::StartupError("--orders: at most 64 replicas");
  const std::size_t cache_size =
      vm["no-cache"].as<bool>() ? 0 : static_cast<std::size_t>(vm["cache-size"].as<std::int64_t>());
  if (cache_size == 0) {
    spdlog::info("lookup cache off");
  } else {
    spdlog::info("lookup cache of {} entries", cache_size);
  }

  // Descriptors besides HTTP connections: a ZeroMQ socket costs two (its mailbox and its
  // connection), one per service on the links and on the cluster monitor, plus the bus; an I/O
  // thread two (epoll, eventfd); the sessions that answer 503 or are being evicted over the
  // table; and a margin for logs, start-up probes and ZeroMQ's own threads.
  const std::uint64_t service_count = 1 + endpoints.orders.size();
  const std::uint64_t reserve = 64 + 2 * service_count * 2 + 2 + 2 * http.threads +
                                httpd::kRejectSessions + httpd::kEvictingSlack;
  fit_connections_to_fds(vm, reserve, http.max_connections);

  zmq::context_t ctx(1);
  // Limits and CURVE for every socket. The front end binds no internal socket: no ZAP handler.
  common::apply_socket_options(vm, nullptr);
  check_endpoint(ctx, endpoints.catalog, "catalog endpoint");
  for (std::size_t i = 0; i < endpoints.orders.size(); ++i) {
    check_endpoint(ctx, endpoints.orders[i],
                   "order replica " + std::to_string(i + 1) + " endpoint");
  }

  // Suspicion of a silent replica outlives one attempt, so that concurrent requests do not
  // each wait out the same dead leader, but not by much: a restarted replica is tried again soon.
  LeaderTracker tracker(static_cast<std::uint32_t>(endpoints.orders.size()),
                        std::max(std::chrono::milliseconds(1000), 2 * timeouts.attempt));
  // The cache starts paused: it serves nothing until the first broker heartbeat shows that
  // invalidations can reach us (CacheCoherence).
  LookupCache cache(cache_size);
  LookupCache* const cache_or_null = cache.enabled() ? &cache : nullptr;
  CacheCoherence coherence(cache);
  Metrics metrics;
  // The pages' push stream (GET /events), fed by the bus thread.
  const std::string edition = vm["edition"].as<std::string>();
  if (edition != "products" && edition != "stocks") {
    throw common::StartupError("--edition must be products or stocks, not '" + edition + "'");
  }
  httpd::EventHub hub(httpd::EventHubOptions{
      .max_streams = static_cast<std::size_t>(vm["max-event-streams"].as<std::int64_t>()),
      .queue_limit = static_cast<std::size_t>(vm["event-queue"].as<std::int64_t>())});
  BusSubscriber subscriber(ctx, bus, tracker, cache.enabled() ? &coherence : nullptr, &hub);

  // One thread keeps many lookups, lists and /health checks in flight on one socket.
  CatalogLink catalog_link(
      ctx,
      CatalogLinkOptions{
          .endpoint = endpoints.catalog,
          .timeouts = timeouts,
          .queue_limit = static_cast<std::size_t>(vm["queue-limit"].as<std::int64_t>()),
          .max_in_flight = static_cast<std::size_t>(vm["max-in-flight"].as<std::int64_t>())},
      &metrics);
  // One thread keeps many orders, order reads and leader probes in flight, one DEALER per replica.
  OrderLink order_link(
      ctx,
      OrderLinkOptions{
          .endpoints = endpoints.orders,
          .timeouts = timeouts,
          .queue_limit = static_cast<std::size_t>(vm["queue-limit"].as<std::int64_t>()),
          .max_in_flight = static_cast<std::size_t>(vm["max-orders-in-flight"].as<std::int64_t>())},
      tracker, &metrics);
  ServiceLinks services(catalog_link, order_link, tracker, cache_or_null, timeouts.request);

  const httpd::HttpServer* server_for_metrics = nullptr;    // set before the server starts serving
  const storefront::WebHandler* web_for_metrics = nullptr;  // likewise
  ApiHandler api(random_request_id, [&]() {
    MetricsSnapshot snap;
    snap.cache = cache.stats();
    snap.cache_enabled = cache.enabled();
    snap.failovers = tracker.failovers();
    snap.connections = server_for_metrics != nullptr ? server_for_metrics->connections() : 0;
    if (server_for_metrics != nullptr) {
      const httpd::ConnectionCounts c = server_for_metrics->connection_counts();
      snap.max_connections = http.max_connections;
      snap.evicted_table_full = c.evicted_idle;
      snap.evicted_per_client = c.evicted_per_client;
      snap.refused_table_full = c.rejected_full;
      snap.refused_per_client = c.rejected_per_client;
      snap.refused_no_descriptors = c.shed_no_descriptors;
    }
    snap.lookups_queued = catalog_link.queued();
    snap.orders_queued = order_link.queued();
    std::vector<prometheus::MetricFamily> families = metrics.collect(snap);
    for (auto& f : hub.metric_families()) families.push_back(std::move(f));
    if (web_for_metrics != nullptr) {
      for (auto& f : web_for_metrics->metric_families()) families.push_back(std::move(f));
    }
    return common::render_text(families);
  });
  ApiDispatcher dispatcher(api, services, cache_or_null, &metrics);

  // The storefront and the cluster page, in front of the API (docs/ARCHITECTURE.md, "The pages").
  const storefront::StaticAssets assets(storefront::embedded_files(), edition);
  const std::string broker_status = vm["broker-status"].as<std::string>();
  check_endpoint(ctx, broker_status, "broker status endpoint");
  storefront::ClusterMonitor monitor(
      ctx,
      storefront::ClusterMonitorOptions{
          .broker = broker_status, .catalog = endpoints.catalog, .replicas = endpoints.orders});
  storefront::RateWindow order_rate;
  storefront::ClusterSource cluster = [&]() {
    storefront::ClusterSnapshot s;
    s.probe = monitor.latest();
    s.announced_leader = tracker.leader();
    s.bus_alive = tracker.bus_alive(LeaderTracker::Clock::now());
    s.cache_enabled = cache.enabled();
    s.cache = cache.stats();
    s.event_streams = hub.counters().open.load();
    s.orders = order_rate.samples(storefront::RateWindow::Clock::now());
    s.edition = edition;
    return s;
  };
  httpd::EventStreamOptions stream_options;
  stream_options.write_timeout = http.write_timeout;
  storefront::WebHandler web(dispatcher, assets, &hub, cluster, &order_rate, stream_options);
  web_for_metrics = &web;
  httpd::HttpServer server(http, web);
  server_for_metrics = &server;

  subscriber.start();
  monitor.start();
  catalog_link.start();
  order_link.start();
  server.start();
  spdlog::info("listening on http://{}:{} (catalog {}, {} order replica(s), bus {})", http.address,
               server.port(), endpoints.catalog, endpoints.orders.size(), bus);

  while (!common::stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));

  spdlog::info("stopping: finishing in-flight requests");
  hub.stop();  // ends the event streams, which would otherwise hold their connections open
  // In-flight requests end within their own deadline; allow that plus writing the reply.
  server.shutdown(timeouts.request + std::chrono::milliseconds(1000));
  catalog_link.stop();
  order_link.stop();
  subscriber.stop();
  monitor.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto hw = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  po::options_description options = common::common_options();
  po::options_description own("Front end");
  auto add = own.add_options();
  add("address", po::value<std::string>()->default_value("127.0.0.1"), "HTTP listen address");
  add("port", po::value<std::int64_t>()->default_value(8080), "HTTP port (0: any free port)");
  add("catalog", po::value<std::string>()->default_value("tcp://127.0.0.1:5553"),
      "catalog endpoint");
  add("orders", po::value<std::string>()->default_value("tcp://127.0.0.1:5560"),
      "order replica endpoints ENDPOINT[,ENDPOINT...], replica ids 1..R in order");
  add("bus", po::value<std::string>()->default_value("tcp://127.0.0.1:5551"),
      "broker XPUB endpoint (leader announcements, heartbeats)");
  add("threads", po::value<std::int64_t>()->default_value(hw), "HTTP I/O threads");
  add("queue-limit", po::value<std::int64_t>()->default_value(4096),
      "catalog requests and order requests waiting to be sent (each link its own queue); beyond "
      "it 503");
  add("max-in-flight", po::value<std::int64_t>()->default_value(1024),
      "catalog requests (lookups, lists, status checks) outstanding at once; more wait in the "
      "queue");
  add("max-orders-in-flight", po::value<std::int64_t>()->default_value(1024),
      "order requests in flight at once (orders being placed, order reads, leader probes for "
      "/health: sent, backing off or waiting for a leader); more wait in the queue");
  add("request-timeout", po::value<std::int64_t>()->default_value(3000),
      "deadline of one request, retries and fail-over included (ms); then 503");
  add("attempt-timeout", po::value<std::int64_t>()->default_value(500),
      "deadline of one attempt at one replica or the catalog (ms)");
  add("cache-size", po::value<std::int64_t>()->default_value(10000), "lookup cache entries");
  add("no-cache", po::bool_switch()->default_value(false), "turn the lookup cache off");
  add("max-connections", po::value<std::int64_t>()->default_value(10000),
      "open HTTP connections (lowered to fit the file-descriptor limit); beyond it the one idle "
      "the longest is closed to admit a new one, or with none idle the new one gets 503");
  add("max-connections-per-client", po::value<std::int64_t>()->default_value(1000),
      "open HTTP connections from one client address (0: no bound; behind a balancer all "
      "connections come from its address); beyond it that client's longest idle one is closed, "
      "or the new one gets 503");
  add("read-timeout", po::value<std::int64_t>()->default_value(10000),
      "a started request must arrive whole within this (ms); also bounds writing a reply");
  add("idle-timeout", po::value<std::int64_t>()->default_value(30000),
      "a keep-alive connection may idle this long (ms)");
  add("broker-status", po::value<std::string>()->default_value("tcp://127.0.0.1:5552"),
      "broker status (REP) endpoint, asked by the cluster page");
  add("edition", po::value<std::string>()->default_value("products"),
      "the storefront's edition: products (toys) or stocks (stocks: buy and sell)");
  add("max-event-streams", po::value<std::int64_t>()->default_value(256),
      "open GET /events streams; beyond it 503");
  add("event-queue", po::value<std::int64_t>()->default_value(256),
      "events one stream may fall behind before it is dropped");
  options.add(own);
  options.add(common::socket_options());

  po::variables_map vm;
  const int rc = common::parse_command_line(
      argc, argv, kProgram,
      "HTTP front end of Bazaar: REST API over the catalog and order services.", options, vm);
  if (rc >= 0) return rc;

  const Limits limits[] = {
      {"port", 0, 65535},
      {"threads", 1, 1024},
      {"queue-limit", 1, 1 << 20},
      {"max-in-flight", 1, 1 << 20},
      {"max-orders-in-flight", 1, 1 << 20},
      {"request-timeout", 1, 3600000},
      {"attempt-timeout", 1, 3600000},
      {"cache-size", 0, 100000000},
      {"max-connections", 1, 1000000},
      {"max-connections-per-client", 0, 1000000},
      {"read-timeout", 1, 3600000},
      {"idle-timeout", 1, 3600000},
      {"max-event-streams", 1, 100000},
      {"event-queue", 1, 1 << 20},
  };
  for (const auto& l : limits) {
    if (!in_range(vm, l)) return common::kExitUsage;
  }
  if (!common::init_logging("frontend", vm["log-level"].as<std::string>())) {
    common::print_error(
        kProgram, "unknown --log-level '" + vm["log-level"].as<std::string>() + "' (see --help)");
    return common::kExitUsage;
  }
  common::install_stop_handlers();
  try {
    return run(vm);
  } catch (const common::StartupError& e) {
    common::print_error(kProgram, e.what());
    return common::kExitStartup;
  } catch (const std::exception& e) {
    common::print_error(kProgram, e.what());
    return common::kExitStartup;
  }
}
