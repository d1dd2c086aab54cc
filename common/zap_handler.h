// ZeroMQ authentication (ZAP, RFC 27) for CURVE server sockets. Without a handler libzmq lets any
// client that knows the server's public key in; with this one only the cluster's client key
// (common/curve_keys.h) gets through. Every other handshake fails and the peer hears nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <zmq.hpp>

namespace bazaar::common {

class ZapHandler {
 public:
  /// Binds the handler of `ctx` (inproc://zeromq.zap.01) and serves it on a detached thread
  /// that admits CURVE clients whose public key is `client_public_z85` and refuses the rest.
  /// The thread ends when `ctx` is shut down (its blocking receive fails with ETERM), so the
  /// context's owner needs to keep nothing. Idempotent per context. Throws StartupError when
  /// the key is not Z85. Call before binding a CURVE server socket on `ctx`.
  static void start(zmq::context_t& ctx, const std::string& client_public_z85);

  /// Handshakes admitted and refused so far, by every handler of the process (for tests/logs).
  static std::uint64_t admitted();
  static std::uint64_t refused();

 private:
  static std::atomic<std::uint64_t> admitted_;
  static std::atomic<std::uint64_t> refused_;
};

}  // namespace bazaar::common
