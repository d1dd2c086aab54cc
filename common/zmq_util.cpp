#include "common/zmq_util.h"

#include <random>

#include "common/cli.h"
#include "proto_msgs/messages.h"

namespace bazaar::common {

void configure_socket(zmq::socket_t& s) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndhwm, kDefaultHwm);
  s.set(zmq::sockopt::rcvhwm, kDefaultHwm);
  s.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxMessageBytes));
}

void bind_or_throw(zmq::socket_t& s, const std::string& endpoint, const std::string& what) {
  try {
    s.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw StartupError(what + " " + endpoint + ": cannot bind: " + e.what());
  }
}

void connect_or_throw(zmq::socket_t& s, const std::string& endpoint, const std::string& what) {
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

}  // namespace bazaar::common
