#include "common/zmq_util.h"

#include <cstring>
#include <random>
#include <vector>

#include "common/cli.h"
#include "common/socket_policy.h"

namespace bazaar::common {

namespace {

bool is_tcp(const std::string& endpoint) {
  return endpoint.rfind("tcp://", 0) == 0;
}

}  // namespace

void configure_socket(zmq::socket_t& s) {
  const SocketPolicy& p = socket_policy();
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, p.hwm);
  s.set(zmq::sockopt::rcvhwm, p.hwm);
  s.set(zmq::sockopt::maxmsgsize, p.max_message_bytes);
  // A peer that connects and never finishes its handshake (or cannot: wrong keys) holds a
  // connection only this long.
  s.set(zmq::sockopt::handshake_ivl, p.handshake_ms);
}

void bind_or_throw(zmq::socket_t& s, const std::string& endpoint, const std::string& what) {
  const SocketPolicy& p = socket_policy();
  if (p.curve && is_tcp(endpoint)) {
    // Every tcp bind is a CURVE server; the ZAP handler (started with the policy) admits only
    // the cluster's client key, so a peer without it never gets a message through.
    s.set(zmq::sockopt::curve_server, true);
    s.set(zmq::sockopt::curve_secretkey, p.curve->server_secret);
    s.set(zmq::sockopt::zap_domain, "bazaar");
  } else if (!p.curve && !p.insecure && !is_local_endpoint(endpoint)) {
    throw StartupError(what + " " + endpoint +
                       ": refusing to bind a non-loopback address without CURVE; give "
                       "--curve-dir DIR (or --insecure on a network you trust)");
  }
  try {
    s.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw StartupError(what + " " + endpoint + ": cannot bind: " + e.what());
  }
}

void connect_or_throw(zmq::socket_t& s, const std::string& endpoint, const std::string& what) {
  const SocketPolicy& p = socket_policy();
  if (p.curve && is_tcp(endpoint)) {
    s.set(zmq::sockopt::curve_serverkey, p.curve->server_public);
    s.set(zmq::sockopt::curve_publickey, p.curve->client_public);
    s.set(zmq::sockopt::curve_secretkey, p.curve->client_secret);
  }
  try {
    s.connect(endpoint);
  } catch (const zmq::error_t& e) {
    throw StartupError(what + " " + endpoint + ": cannot connect: " + e.what());
  }
}

std::uint64_t new_incarnation() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v == 0 ? 1 : v;
}

bool send_tagged(zmq::socket_t& socket, std::uint64_t tag, std::string_view body) {
  // The first frame decides: once it is queued, the rest of the message is queued too.
  if (!socket.send(zmq::buffer(&tag, sizeof tag),
                   zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
    return false;
  }
  socket.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(body), zmq::send_flags::none);
  return true;
}

TaggedReply recv_tagged(zmq::socket_t& socket) {
  TaggedReply r;
  zmq::message_t tag;
  if (!socket.recv(tag, zmq::recv_flags::dontwait)) return r;
  // Read every frame of the message, whatever its shape, so the next read starts a new one.
  std::vector<zmq::message_t> rest;
  bool more = tag.more();
  while (more) {
    zmq::message_t part;
    if (!socket.recv(part, zmq::recv_flags::dontwait)) break;
    more = part.more();
    rest.push_back(std::move(part));
  }
  if (tag.size() != sizeof r.tag || rest.size() != 2 || rest[0].size() != 0) {
    r.outcome = TaggedOutcome::kMalformed;
    return r;
  }
  std::memcpy(&r.tag, tag.data(), sizeof r.tag);
  r.body = std::move(rest[1]);
  r.outcome = TaggedOutcome::kReply;
  return r;
}

}  // namespace bazaar::common
