// bazaar-client: one request to a Bazaar front end (or a StatusRequest to any service) from the
// command line, the handout's session client that checks its own orders, and a closed-loop load
// generator. Prints the JSON reply (or the session's/load's report) on stdout.
//
// Exit status: 0 on a 2xx reply (session: every acknowledged order verified; load: no order the
// server got wrong), 1 on an HTTP error status, an unreachable server, a timeout or a reply that
// is not JSON (one line on stderr), or a mismatch; 2 on a usage error.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <zmq.hpp>

#include "client/http_client.h"
#include "client/load_generator.h"
#include "client/load_report.h"
#include "client/replies.h"
#include "client/session_client.h"
#include "common/cli.h"
#include "common/rpc_client.h"
#include "common/socket_policy.h"
#include "common/zmq_util.h"

namespace po = boost::program_options;
using namespace bazaar;
using namespace bazaar::client;

namespace {

constexpr const char* kProgram = "bazaar-client";
constexpr int kExitFailure = 1;

constexpr const char* kCommands =
    "Commands:\n"
    "  lookup NAME        GET /products/NAME\n"
    "  list               GET /products\n"
    "  buy NAME QTY       POST /orders {\"name\":NAME,\"quantity\":QTY,\"type\":\"buy\"}\n"
    "  sell NAME QTY      POST /orders {\"name\":NAME,\"quantity\":QTY,\"type\":\"sell\"}\n"
    "  order N            GET /orders/N\n"
    "  health             GET /health\n"
    "  status ENDPOINT    proto StatusRequest over ZeroMQ to any service's request endpoint\n"
    "  membership ENDPOINT [add ID PEER_ENDPOINT | remove ID]\n"
    "                     the order replicas' configuration, from the replica at ENDPOINT (its\n"
    "                     client endpoint); add or remove one replica (the leader's only; the\n"
    "                     reply comes once the change has committed)\n"
    "  session --p P --iterations N [--seed S] [--json]\n"
    "                     the handout's client: look up a random item; if any is left, with\n"
    "                     probability P order some; at the end fetch every acknowledged order\n"
    "                     and compare (exit 1 on a mismatch). `session --help` for more.\n"
    "  load --clients C (--duration S | --iterations N) [--p P | --mix lookup=W,order=W,...]\n"
    "                     closed-loop keep-alive clients; per request type: count, errors,\n"
    "                     latency percentiles. `load --help` for more.\n";

int usage_error(const std::string& message) {
  common::print_error(kProgram, message + " (see --help)");
  return common::kExitUsage;
}

// Options that take a value, so that their value is not mistaken for the command.
bool takes_value(const std::string& arg) {
  return arg == "--url" || arg == "--timeout" || arg == "--log-level" || arg == "--idempotency-key";
}

bool is_option(const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-';
}

// What the ZeroMQ handshake with `endpoint` says about a silent service, within `wait`: a CURVE
// service drops a client without keys (a mechanism mismatch, or just a closed connection when it
// notices first) and ZAP refuses one with other keys; either way a request only times out. Empty
// when the handshake succeeded or told nothing.
std::string handshake_hint(zmq::context_t& ctx, const std::string& endpoint,
                           std::chrono::milliseconds wait) {
  zmq::socket_t probe(ctx, zmq::socket_type::dealer);
  common::configure_socket(probe);
  const std::string monitor = "inproc://bazaar-client-handshake";
  if (zmq_socket_monitor(probe.handle(), monitor.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
    return "";
  }
  zmq::socket_t events(ctx, zmq::socket_type::pair);
  events.connect(monitor);
  common::connect_or_throw(probe, endpoint, "endpoint");
  const std::string env = common::kCurveDirEnv;
  const bool keyed_client = common::socket_policy().curve.has_value();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    zmq::pollitem_t item{events.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, left) == 0) return "";
    zmq::message_t event;
    zmq::message_t address;
    if (!events.recv(event) || !events.recv(address) || event.size() < 6) return "";
    std::uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return "";
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      return "the service refused this client's CURVE keys: point " + env +
             " at the key set the cluster runs with";
    }
    if (!keyed_client) {
      return "the cluster is keyed (CURVE) and this client has no keys: set " + env +
             " to its key directory (RUN_DIR/curve for launch/bazaar up; launch/bazaar status "
             "passes it)";
    }
    return "the ZeroMQ handshake failed: the service runs without CURVE or with other keys "
           "than those in " +
           env;
  }
}

// RpcClient connects lazily and would throw on a malformed endpoint mid-call: check first.
// Returns the error, or "".
std::string endpoint_error(zmq::context_t& ctx, const std::string& endpoint) {
  zmq::socket_t probe(ctx, zmq::socket_type::req);
  common::configure_socket(probe);
  try {
    common::connect_or_throw(probe, endpoint, "endpoint");
  } catch (const common::StartupError& e) {
    return e.what();
  }
  return "";
}

// One line of the configuration: "index=K leader=L members=ID:ROLE:ENDPOINT,...".
int run_membership(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  const std::string usage = "usage: membership ENDPOINT [add ID PEER_ENDPOINT | remove ID]";
  proto::MembershipRequest req;
  const std::size_t n = args.size() - 1;
  if (n == 1) {
    req.op = proto::MembershipRequest::kShow;
  } else if (n == 4 && args[2] == "add") {
    req.op = proto::MembershipRequest::kAdd;
    req.peer_endpoint = args[4];
  } else if (n == 3 && args[2] == "remove") {
    req.op = proto::MembershipRequest::kRemove;
  } else {
    return usage_error(usage);
  }
  if (req.op != proto::MembershipRequest::kShow) {
    const std::string& id = args[3];
    if (id.size() != 1 || id[0] < '1' || id[0] > '9') return usage_error("ID must be 1..9");
    req.id = static_cast<std::uint32_t>(id[0] - '0');
  }
  zmq::context_t ctx(1);
  if (auto e = endpoint_error(ctx, args[1]); !e.empty()) return usage_error(e);
  common::RpcClient client(ctx, args[1]);
  auto r = client.call<proto::MembershipReply>(req, timeout);
  if (!r.ok()) {
    common::print_error(kProgram, args[1] + ": " + r.error);
    return kExitFailure;
  }
  if (r.reply.status != proto::Status::kOk) {
    std::string why = r.reply.message;
    if (r.reply.status == proto::Status::kNotLeader && r.reply.leader_hint >= 0) {
      why += " (the leader is replica " + std::to_string(r.reply.leader_hint) + ")";
    }
    common::print_error(kProgram, args[1] + ": " + why);
    return kExitFailure;
  }
  std::string members = r.reply.configuration;
  std::replace(members.begin(), members.end(), ' ', ',');
  std::cout << "index=" << r.reply.config_index << " leader=" << r.reply.leader_hint
            << " members=" << members;
  if (!r.reply.message.empty()) std::cout << " note=\"" << r.reply.message << "\"";
  std::cout << "\n";
  return 0;
}

int run_status(const std::string& endpoint, std::chrono::milliseconds timeout) {
  zmq::context_t ctx(1);
  if (auto e = endpoint_error(ctx, endpoint); !e.empty()) return usage_error(e);
  common::RpcClient client(ctx, endpoint);
  auto r = client.call<proto::StatusReply>(proto::StatusRequest{}, timeout);
  if (!r.ok()) {
    std::string detail;
    if (r.outcome == common::CallOutcome::kTimeout) {
      detail = " (no reply within " + std::to_string(timeout.count()) + " ms)";
      // At most 1 s more: a live service answers the handshake at once.
      const std::string hint = handshake_hint(ctx, endpoint, std::chrono::milliseconds(1000));
      if (!hint.empty()) detail += ": " + hint;
    }
    common::print_error(kProgram, endpoint + ": " + r.error + detail);
    return kExitFailure;
  }
  const auto& s = r.reply;
  std::cout << "service=" << s.service << " id=" << s.id << " role=" << s.role << " term=" << s.term
            << " leader=" << s.leader_id << " size=" << s.log_size << " commit=" << s.commit_index
            << " last=" << s.last_index << "\n";
  return 0;
}

int run_http(HttpClient& client, const std::string& method, const std::string& target,
             const std::string& body, const HeaderList& headers, const std::string& url) {
  const HttpResult r = method == "POST" ? client.post_json(target, body, headers)
                                        : client.request(method, target, body, headers);
  if (!r.ok()) {
    common::print_error(kProgram, url + ": " + r.message);
    return kExitFailure;
  }
  const auto parsed = nlohmann::json::parse(r.reply.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    common::print_error(kProgram,
                        url + ": reply is not JSON (HTTP " + std::to_string(r.reply.status) + ")");
    return kExitFailure;
  }
  std::cout << r.reply.body << "\n";
  if (r.reply.status < 200 || r.reply.status >= 300) {
    std::string message;
    const auto err = parsed.find("error");
    if (parsed.is_object() && err != parsed.end() && err->is_object()) {
      const auto m = err->find("message");
      if (m != err->end() && m->is_string()) message = ": " + m->get<std::string>();
    }
    common::print_error(kProgram, "HTTP " + std::to_string(r.reply.status) + message);
    return kExitFailure;
  }
  return 0;
}

// QTY is sent as the JSON number written, so the server (not the client) judges 0, -1, 2.5 or
// 99999999999: a test can use this client to check them.
bool quantity_json(const std::string& text, std::string& out) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_number()) return false;
  out = text;
  return true;
}

// ---- session and load -------------------------------------------------------------------------

// Options session and load share: what to trade and how.
po::options_description workload_options() {
  po::options_description d("Workload");
  auto add = d.add_options();
  add("help,h", "this help");
  add("p", po::value<double>()->default_value(0.5),
      "probability of an order after a lookup that found stock (0..1)");
  add("seed", po::value<std::uint64_t>(), "random seed (default: a random one, printed)");
  add("edition", po::value<std::string>()->default_value("auto"),
      "toys (buy on /products), stocks (buy and sell on /stocks) or auto (stocks when every "
      "item is a stock of the stocks catalog)");
  add("items", po::value<std::string>(),
      "comma-separated item names (default: every item of GET /products)");
  add("max-quantity", po::value<std::int64_t>()->default_value(3), "each order is for 1..N units");
  add("json", "print the report as JSON");
  return d;
}

// Parses a command's own options (after the command word). -1 to go on, else the exit code.
int parse_command_options(const std::vector<std::string>& args, const char* usage,
                          const po::options_description& desc, po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                  .options(desc)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help")) {
    std::cout << usage << "\n" << desc;
    return 0;
  }
  return -1;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Fills the workload part of SessionOptions from the options, asking the server for the item
// names unless --items gives them. -1 to go on, else the exit code (after one line on stderr).
int session_options(const po::variables_map& vm, HttpClient& client, const std::string& url,
                    SessionOptions& out) {
  out.p = vm["p"].as<double>();
  if (!(out.p >= 0.0 && out.p <= 1.0)) return usage_error("--p must be in 0..1");
  out.max_quantity = vm["max-quantity"].as<std::int64_t>();
  if (out.max_quantity < 1 || out.max_quantity > 1000000) {
    return usage_error("--max-quantity must be in 1..1000000");
  }
  out.seed = vm.count("seed") ? vm["seed"].as<std::uint64_t>() : std::random_device{}();
  if (vm.count("items")) {
    out.items = split_names(vm["items"].as<std::string>());
    if (out.items.empty()) return usage_error("--items names no item");
  } else {
    // Also the check that the server is there and speaks JSON, before any thread starts.
    const HttpResult r = client.get("/products");
    if (!r.ok()) {
      common::print_error(kProgram, url + ": " + r.message);
      return kExitFailure;
    }
    std::vector<ItemView> items;
    std::string why;
    const ReplyParse parsed = parse_item_list(r.reply.body, items, why);
    if (parsed == ReplyParse::kNotJson) {
      common::print_error(kProgram, url + "/products: reply is not JSON (HTTP " +
                                        std::to_string(r.reply.status) + ")");
      return kExitFailure;
    }
    if (r.reply.status != 200 || parsed != ReplyParse::kOk) {
      const std::string message = error_message(r.reply.body);
      common::print_error(kProgram, url + "/products: HTTP " + std::to_string(r.reply.status) +
                                        ": " + (message.empty() ? why : message));
      return kExitFailure;
    }
    for (auto& item : items) out.items.push_back(std::move(item.name));
    if (out.items.empty()) {
      common::print_error(kProgram, url + "/products: the catalog is empty");
      return kExitFailure;
    }
  }
  const std::string edition = vm["edition"].as<std::string>();
  if (edition == "toys") {
    out.edition = Edition::kToys;
  } else if (edition == "stocks") {
    out.edition = Edition::kStocks;
  } else if (edition == "auto") {
    out.edition = looks_like_stocks(out.items) ? Edition::kStocks : Edition::kToys;
  } else {
    return usage_error("--edition must be toys, stocks or auto");
  }
  return -1;
}

const char* edition_name(Edition e) {
  return e == Edition::kStocks ? "stocks" : "toys";
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run_session(const std::vector<std::string>& args, const std::string& url,
                std::chrono::milliseconds timeout) {
  po::options_description desc = workload_options();
  desc.add_options()("iterations", po::value<std::uint64_t>()->default_value(100),
                     "how many lookups (each maybe followed by an order)");
  po::variables_map vm;
  const int rc = parse_command_options(
      args,
      "bazaar-client [--url URL] [--timeout MS] session --p P --iterations N [--seed S]\n"
      "The handout's client. Exit 0 when every acknowledged order was fetched back as recorded.",
      desc, vm);
  if (rc >= 0) return rc;
  const std::uint64_t iterations = vm["iterations"].as<std::uint64_t>();
  if (iterations < 1 || iterations > 100000000) {
    return usage_error("--iterations must be in 1..100000000");
  }
  HttpClient client(url, timeout);
  if (!client.valid()) return usage_error("--url '" + url + "': " + client.url_error());
  SessionOptions so;
  if (const int r = session_options(vm, client, url, so); r >= 0) return r;

  const auto start = std::chrono::steady_clock::now();
  const std::int64_t start_unix_ms = unix_ms_now();
  LoadReport report(start, std::chrono::milliseconds(1000));
  SessionClient session(client, so, [&](const RequestSample& s) { report.record(s); });
  StepOutcome outcome = StepOutcome::kOk;
  for (std::uint64_t i = 0; i < iterations && outcome == StepOutcome::kOk; ++i) {
    outcome = session.step();
  }
  // The handout checks at the end: every order it was told about, as it was told.
  if (outcome == StepOutcome::kOk) outcome = session.verify();
  if (outcome != StepOutcome::kOk) {
    common::print_error(kProgram, url + ": " + session.last_error());
    return kExitFailure;
  }
  report.add_session(session);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char workload[96];
  std::snprintf(workload, sizeof workload, "session p=%g", so.p);
  report.describe(1, elapsed, start_unix_ms, workload);

  const auto& c = session.counters();
  if (vm.count("json")) {
    std::cout << report.json();
  } else {
    std::cout << "session: " << iterations << " iterations, p=" << so.p << ", seed " << so.seed
              << ", " << edition_name(so.edition) << " edition, " << url << "\n"
              << "lookups: " << c.lookups << " (" << c.lookup_errors << " failed)\n"
              << "orders: " << c.orders_sent << " placed, " << c.orders_acknowledged
              << " acknowledged, " << c.orders_refused << " refused, " << c.orders_unknown
              << " without reply\n"
              << "checked: " << c.verified << " of " << c.orders_acknowledged
              << " acknowledged orders match the server, " << c.mismatches << " mismatches, "
              << c.unverified << " could not be fetched\n"
              << report.text();
  }
  for (const auto& m : session.mismatch_messages()) {
    common::print_error(kProgram, "mismatch: " + m);
  }
  if (c.mismatches > 0) {
    common::print_error(kProgram, std::to_string(c.mismatches) +
                                      " acknowledged orders differ from what the server returns");
    return kExitFailure;
  }
  if (c.unverified > 0) {
    common::print_error(kProgram,
                        std::to_string(c.unverified) + " acknowledged orders could not be fetched");
    return kExitFailure;
  }
  return 0;
}

int run_load(const std::vector<std::string>& args, const std::string& url,
             std::chrono::milliseconds timeout) {
  po::options_description desc = workload_options();
  auto add = desc.add_options();
  add("clients", po::value<int>()->default_value(5), "closed-loop clients (threads), 1..256");
  add("duration", po::value<double>(), "seconds to run (0.1..86400)");
  add("iterations", po::value<std::uint64_t>(), "iterations per client");
  add("mix", po::value<std::string>(),
      "instead of the handout's loop, pick each request by weight, e.g. "
      "lookup=80,order=15,query=5 (types: lookup, order, query, list)");
  add("csv", "print the figures as CSV");
  add("timeline", po::value<std::string>(),
      "write per-interval figures (t_s,type,count,errors,mean_ms,max_ms) to this CSV file");
  add("interval", po::value<std::int64_t>()->default_value(1000), "timeline interval (ms)");
  add("no-progress", "no progress bar (there is none anyway when stderr is not a terminal)");
  add("strict", "exit 1 when any request failed, not only on a mismatch");
  po::variables_map vm;
  const int rc = parse_command_options(
      args,
      "bazaar-client [--url URL] [--timeout MS] load --clients C (--duration S | --iterations N)\n"
      "  [--p P | --mix ...] [--csv | --json] [--timeline FILE]\n"
      "Closed-loop load: each client sends its next request when the last is answered, on one\n"
      "keep-alive connection. With --p (default) each iteration is the handout's step, and each\n"
      "acknowledged order is fetched back at once and compared.",
      desc, vm);
  if (rc >= 0) return rc;

  LoadOptions lo;
  lo.url = url;
  lo.timeout = timeout;
  lo.clients = vm["clients"].as<int>();
  if (lo.clients < 1 || lo.clients > 256) return usage_error("--clients must be in 1..256");
  if (vm.count("duration") == vm.count("iterations")) {
    return usage_error("give exactly one of --duration and --iterations");
  }
  if (vm.count("duration")) {
    const double d = vm["duration"].as<double>();
    if (!(d >= 0.1 && d <= 86400)) return usage_error("--duration must be in 0.1..86400");
    lo.duration = std::chrono::milliseconds(static_cast<std::int64_t>(d * 1000));
  } else {
    lo.iterations = vm["iterations"].as<std::uint64_t>();
    if (lo.iterations < 1 || lo.iterations > 100000000) {
      return usage_error("--iterations must be in 1..100000000");
    }
  }
  if (vm.count("mix")) {
    if (!vm["p"].defaulted()) return usage_error("give --p or --mix, not both");
    std::string why;
    lo.mix = parse_mix(vm["mix"].as<std::string>(), why);
    if (!lo.mix) return usage_error("--mix: " + why);
  }
  if (vm.count("csv") && vm.count("json")) return usage_error("give --csv or --json, not both");
  const std::int64_t interval = vm["interval"].as<std::int64_t>();
  if (interval < 10 || interval > 3600000) return usage_error("--interval must be in 10..3600000");
  lo.interval = std::chrono::milliseconds(interval);
  std::ofstream timeline;
  if (vm.count("timeline")) {
    // Opened before the run, so a bad path costs nothing.
    timeline.open(vm["timeline"].as<std::string>(), std::ios::trunc);
    if (!timeline) {
      common::print_error(
          kProgram, "--timeline " + vm["timeline"].as<std::string>() + ": cannot open for writing");
      return kExitFailure;
    }
  }
  lo.progress = !vm.count("no-progress") && isatty(STDERR_FILENO) == 1;

  HttpClient probe(url, timeout);
  if (!probe.valid()) return usage_error("--url '" + url + "': " + probe.url_error());
  if (const int r = session_options(vm, probe, url, lo.session); r >= 0) return r;
  probe.close();

  LoadGenerator generator(lo);
  const LoadReport report = generator.run();
  if (timeline.is_open()) {
    timeline << report.timeline_csv();
    timeline.close();
  }
  if (vm.count("json")) {
    std::cout << report.json();
  } else if (vm.count("csv")) {
    std::cout << report.csv();
  } else {
    const auto& o = report.orders();
    std::cout << "load: " << lo.clients << " clients, " << edition_name(lo.session.edition)
              << " edition, seed " << lo.session.seed << ", " << url << "\n"
              << report.text() << "orders: " << o.orders_acknowledged << " acknowledged, "
              << o.verified << " verified, " << o.mismatches + report.duplicates()
              << " mismatches, " << o.orders_refused << " refused, " << o.orders_unknown
              << " without reply\n";
  }
  for (const auto& m : report.mismatch_messages()) {
    common::print_error(kProgram, "mismatch: " + m);
  }
  const std::uint64_t wrong = report.orders().mismatches + report.duplicates();
  if (wrong > 0) {
    common::print_error(kProgram,
                        std::to_string(wrong) + " acknowledged orders the server got wrong");
    return kExitFailure;
  }
  if (vm.count("strict") && report.total_errors() > 0) {
    common::print_error(kProgram, std::to_string(report.total_errors()) + " requests failed");
    return kExitFailure;
  }
  // Every request failed without a reply: the server went away; say so rather than print
  // an empty table with exit 0.
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < kRequestKinds; ++k) {
    total += report.figures(static_cast<RequestKind>(k)).count;
  }
  if (total > 0 && report.total_errors() == total) {
    common::print_error(kProgram, url + ": every request failed");
    return kExitFailure;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Split argv at the command: everything before it is options, everything after it is the
  // command's arguments (so "sell Tux -1" is not read as an option -1).
  int options_end = argc;
  int command_start = argc;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      options_end = i;
      command_start = i + 1;
      break;
    }
    if (!is_option(arg)) {
      options_end = command_start = i;
      break;
    }
    if (takes_value(arg)) ++i;
  }
  const std::vector<std::string> args(argv + command_start, argv + argc);

  po::options_description options = common::common_options();
  po::options_description own("Client");
  auto add = own.add_options();
  add("url", po::value<std::string>()->default_value("http://127.0.0.1:8080"),
      "front end base URL");
  add("timeout", po::value<std::int64_t>()->default_value(5000),
      "deadline of the whole request (ms)");
  add("idempotency-key", po::value<std::string>(), "Idempotency-Key header for buy/sell");
  options.add(own);

  po::variables_map vm;
  const std::string summary = std::string("One request to a Bazaar front end.\n  ") + kProgram +
                              " [options] COMMAND [ARGS]\n\n" + kCommands;
  const int rc =
      common::parse_command_line(options_end, argv, kProgram, summary.c_str(), options, vm);
  if (rc >= 0) return rc;

  const auto timeout_ms = vm["timeout"].as<std::int64_t>();
  if (timeout_ms < 1 || timeout_ms > 3600000) return usage_error("--timeout must be in 1..3600000");
  const std::chrono::milliseconds timeout(timeout_ms);
  if (args.empty()) return usage_error("no command given");

  const std::string command = args[0];
  const std::size_t nargs = args.size() - 1;
  auto want = [&](std::size_t n) { return nargs == n; };

  if (command == "status") {
    if (!want(1)) return usage_error("usage: status ENDPOINT");
    return run_status(args[1], timeout);
  }
  if (command == "membership") return run_membership(args, timeout);

  const std::string url = vm["url"].as<std::string>();
  if (command == "session") return run_session(args, url, timeout);
  if (command == "load") return run_load(args, url, timeout);
  HttpClient client(url, timeout);
  if (!client.valid()) return usage_error("--url '" + url + "': " + client.url_error());

  HeaderList headers;
  if (vm.count("idempotency-key")) {
    headers.emplace_back("Idempotency-Key", vm["idempotency-key"].as<std::string>());
  }
  if (command == "lookup") {
    if (!want(1)) return usage_error("usage: lookup NAME");
    return run_http(client, "GET", "/products/" + percent_encode(args[1]), "", headers, url);
  }
  if (command == "list") {
    if (!want(0)) return usage_error("usage: list");
    return run_http(client, "GET", "/products", "", headers, url);
  }
  if (command == "buy" || command == "sell") {
    if (!want(2)) return usage_error("usage: " + command + " NAME QTY");
    std::string qty;
    if (!quantity_json(args[2], qty)) return usage_error("QTY must be a number");
    const std::string body =
        "{\"name\":" +
        nlohmann::json(args[1]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
        ",\"quantity\":" + qty + ",\"type\":\"" + command + "\"}";
    return run_http(client, "POST", "/orders", body, headers, url);
  }
  if (command == "order") {
    if (!want(1)) return usage_error("usage: order N");
    return run_http(client, "GET", "/orders/" + percent_encode(args[1]), "", headers, url);
  }
  if (command == "health") {
    if (!want(0)) return usage_error("usage: health");
    return run_http(client, "GET", "/health", "", headers, url);
  }
  return usage_error("unknown command '" + command + "'");
}
