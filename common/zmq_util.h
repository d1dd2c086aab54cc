// Small ZeroMQ helpers shared by the services: bounded sockets, clear bind errors, incarnations,
// tagged requests on DEALER sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <zmq.hpp>

namespace bazaar::common {

/// High-water mark of every socket we make: a bound on each queue (messages).
inline constexpr int kDefaultHwm = 10000;

/// Applies the options every Bazaar socket has: no linger on close, bounded queues, and a bound
/// on the size of a message it will accept (a larger one drops the peer's connection).
void configure_socket(zmq::socket_t& s);

/// Binds `s` to `endpoint`; on failure throws StartupError naming what and where ("catalog
/// endpoint tcp://127.0.0.1:5552: Address already in use").
void bind_or_throw(zmq::socket_t& s, const std::string& endpoint, const std::string& what);

/// Connects `s` to `endpoint`; on a malformed endpoint throws StartupError.
void connect_or_throw(zmq::socket_t& s, const std::string& endpoint, const std::string& what);

/// A number that differs between any two starts of a process (random, non-zero).
std::uint64_t new_incarnation();

// A DEALER with many requests out matches each reply to its request by a tag: a request goes as
// [tag (8 bytes), "", body], and the peer (REP workers behind a proxy, or a ROUTER that echoes
// every frame before the body) answers [tag, "", reply] (docs/PROTOCOL.md).

/// Queues [tag, "", body] on `socket` without blocking: whole, or (false) not at all.
bool send_tagged(zmq::socket_t& socket, std::uint64_t tag, std::string_view body);

enum class TaggedOutcome : std::uint8_t {
  kNone,       // no message waits
  kMalformed,  // a message that is not [8-byte tag, "", body]: taken off and dropped
  kReply,      // `tag` and `body` are set
};
struct TaggedReply {
  TaggedOutcome outcome = TaggedOutcome::kNone;
  std::uint64_t tag = 0;
  zmq::message_t body;
};
/// Takes one whole message off `socket` without waiting.
TaggedReply recv_tagged(zmq::socket_t& socket);

}  // namespace bazaar::common
