// How every ZeroMQ socket of a process is made (docs/SECURITY.md): queue and message-size
// bounds, the handshake deadline, and CURVE. Set once from the command line, before the first
// socket; configure_socket(), bind_or_throw() and connect_or_throw() (zmq_util.h) apply it, so no
// service handles keys or limits itself.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "common/curve_keys.h"

namespace bazaar::common {

struct SocketPolicy {
  int hwm = 10000;                           // messages queued per socket and direction
  std::int64_t max_message_bytes = 1 << 20;  // ZMQ_MAXMSGSIZE: a bigger message drops the peer
  int handshake_ms = 5000;                   // ZMQ_HANDSHAKE_IVL: a silent peer is dropped
  std::optional<CurveKeys> curve;            // CURVE on every tcp socket when set
  bool insecure = false;                     // allow non-loopback binds without CURVE
};

/// Environment variable naming a key directory: the default of --curve-dir, and the keys of a
/// process that parses no socket options (bazaar-client status).
inline constexpr const char* kCurveDirEnv = "BAZAAR_CURVE_DIR";

/// The policy in force (defaults, plus $BAZAAR_CURVE_DIR's keys, until set_socket_policy()).
/// Thread-safe to read.
const SocketPolicy& socket_policy();

/// Replaces the policy. Call at start-up before any socket exists (not thread-safe).
void set_socket_policy(SocketPolicy policy);

/// Options every service has: --curve-dir, --insecure, --socket-hwm, --max-message-bytes,
/// --handshake-timeout.
boost::program_options::options_description socket_options();

/// Reads those options (and the keys of --curve-dir) into a policy, sets it and returns it.
/// When CURVE is on, also starts the ZAP handler of `ctx` when one is given (services that
/// bind; a pure client passes nullptr). Throws StartupError on a bad value or key.
const SocketPolicy& apply_socket_options(const boost::program_options::variables_map& vm,
                                         zmq::context_t* ctx);

/// True for endpoints only this machine can reach: inproc://, ipc://, and tcp:// on
/// 127.0.0.0/8, ::1 or localhost. tcp://*, 0.0.0.0 and every other address are not.
bool is_local_endpoint(std::string_view endpoint);

}  // namespace bazaar::common
