// bazaar-client: one request to a Bazaar front end (or a StatusRequest to any service) from the
// command line. Prints the JSON reply on stdout.
//
// Exit status: 0 on a 2xx reply, 1 on an HTTP error status, an unreachable server, a timeout or
// a reply that is not JSON (one line on stderr), 2 on a usage error.
#include <iostream>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "common/cli.h"
#include "common/rpc_client.h"
#include "common/zmq_util.h"
#include "frontend/http_client.h"
#include "frontend/request_parsing.h"

namespace po = boost::program_options;
using namespace bazaar;
using namespace bazaar::frontend;

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
    "  status ENDPOINT    proto StatusRequest over ZeroMQ to any service's request endpoint\n";

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

int run_status(const std::string& endpoint, std::chrono::milliseconds timeout) {
  zmq::context_t ctx(1);
  {
    // RpcClient connects lazily and would throw on a malformed endpoint mid-call: check first.
    zmq::socket_t probe(ctx, zmq::socket_type::req);
    common::configure_socket(probe);
    try {
      common::connect_or_throw(probe, endpoint, "endpoint");
    } catch (const common::StartupError& e) {
      return usage_error(e.what());
    }
  }
  common::RpcClient client(ctx, endpoint);
  auto r = client.call<proto::StatusReply>(proto::StatusRequest{}, timeout);
  if (!r.ok()) {
    common::print_error(kProgram,
                        endpoint + ": " + r.error +
                            (r.outcome == common::CallOutcome::kTimeout
                                 ? " (no reply within " + std::to_string(timeout.count()) + " ms)"
                                 : std::string()));
    return kExitFailure;
  }
  const auto& s = r.reply;
  std::cout << "service=" << s.service << " id=" << s.id << " role=" << s.role << " term=" << s.term
            << " leader=" << s.leader_id << " size=" << s.log_size << "\n";
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

  const std::string url = vm["url"].as<std::string>();
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
