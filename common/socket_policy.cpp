#include "common/socket_policy.h"

#include <cstdio>
#include <cstdlib>

#include "common/cli.h"
#include "common/zap_handler.h"
#include "proto_msgs/messages.h"

namespace po = boost::program_options;

namespace bazaar::common {

namespace {

// A process that never calls apply_socket_options() (bazaar-client, tools) still follows
// BAZAAR_CURVE_DIR, so launch/bazaar can hand the cluster's keys to every binary it runs.
SocketPolicy from_environment() {
  SocketPolicy p;
  const char* dir = std::getenv(kCurveDirEnv);
  if (dir == nullptr || *dir == '\0') return p;
  try {
    p.curve = load_curve_keys(dir);
  } catch (const StartupError& e) {
    // No keys then: every handshake with a keyed service fails, which the caller sees as
    // silence. Say why once, here.
    std::fprintf(stderr, "warning: %s=%s: %s\n", kCurveDirEnv, dir, e.what());
  }
  return p;
}

SocketPolicy& policy_storage() {
  static SocketPolicy policy = from_environment();
  return policy;
}

}  // namespace

const SocketPolicy& socket_policy() {
  return policy_storage();
}

void set_socket_policy(SocketPolicy policy) {
  policy_storage() = std::move(policy);
}

po::options_description socket_options() {
  po::options_description d("Internal sockets (docs/SECURITY.md)");
  d.add_options()("curve-dir", po::value<std::string>(),
                  "CURVE key set (bazaar-keygen DIR; default $BAZAAR_CURVE_DIR): encrypt and "
                  "authenticate every internal socket; peers without the keys get no answer")(
      "insecure", po::bool_switch()->default_value(false),
      "allow binding a non-loopback address without --curve-dir")(
      "socket-hwm", po::value<int>()->default_value(10000),
      "messages queued per socket and direction (100..1000000)")(
      "max-message-bytes", po::value<std::int64_t>()->default_value(proto::kMaxMessageBytes),
      "largest message accepted; a bigger one drops the connection (1024..1048576)")(
      "handshake-timeout", po::value<int>()->default_value(5000),
      "milliseconds a new connection has to finish its handshake (100..60000)");
  return d;
}

const SocketPolicy& apply_socket_options(const po::variables_map& vm, zmq::context_t* ctx) {
  SocketPolicy p;
  p.hwm = vm["socket-hwm"].as<int>();
  if (p.hwm < 100 || p.hwm > 1000000) throw StartupError("--socket-hwm must be 100..1000000");
  p.max_message_bytes = vm["max-message-bytes"].as<std::int64_t>();
  // Above the protocol's own bound a message could pass the socket only to be refused by the
  // decoder: no use, and a bigger buffer for a hostile peer to fill.
  if (p.max_message_bytes < 1024 ||
      p.max_message_bytes > static_cast<std::int64_t>(proto::kMaxMessageBytes)) {
    throw StartupError("--max-message-bytes must be 1024.." +
                       std::to_string(proto::kMaxMessageBytes));
  }
  p.handshake_ms = vm["handshake-timeout"].as<int>();
  if (p.handshake_ms < 100 || p.handshake_ms > 60000) {
    throw StartupError("--handshake-timeout must be 100..60000 ms");
  }
  p.insecure = vm["insecure"].as<bool>();
  if (vm.count("curve-dir")) {
    p.curve = load_curve_keys(vm["curve-dir"].as<std::string>());
  } else if (const char* env = std::getenv(kCurveDirEnv); env != nullptr && *env != '\0') {
    p.curve = load_curve_keys(env);
  }
  set_socket_policy(std::move(p));
  const SocketPolicy& set = socket_policy();
  if (set.curve && ctx != nullptr) ZapHandler::start(*ctx, set.curve->client_public);
  return set;
}

bool is_local_endpoint(std::string_view endpoint) {
  if (endpoint.starts_with("inproc://") || endpoint.starts_with("ipc://")) return true;
  if (!endpoint.starts_with("tcp://")) return false;
  std::string_view host = endpoint.substr(6);
  // tcp://source;host:port names a source address for connects; the host is after ';'.
  if (const auto semi = host.find(';'); semi != std::string_view::npos)
    host.remove_prefix(semi + 1);
  if (host.starts_with("[")) {
    const auto close = host.find(']');
    return close != std::string_view::npos && host.substr(1, close - 1) == "::1";
  }
  host = host.substr(0, host.rfind(':'));
  // 127.0.0.0/8 as a dotted address: "127.example.com" is a name that may resolve anywhere.
  const bool dotted =
      host.find_first_not_of("0123456789.") == std::string_view::npos && host.starts_with("127.");
  return host == "localhost" || dotted;
}

}  // namespace bazaar::common
