// Small ZeroMQ helpers shared by the services: bounded sockets, clear bind errors, incarnations.
#pragma once

#include <cstdint>
#include <string>
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

}  // namespace bazaar::common
