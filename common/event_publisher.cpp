#include "common/event_publisher.h"

#include <cstring>

#include "common/zmq_util.h"

namespace bazaar::common {

EventPublisher::EventPublisher(zmq::context_t& ctx, const std::string& broker_xsub,
                               std::string name, std::uint64_t incarnation)
    : socket_(ctx, zmq::socket_type::pub), name_(std::move(name)), incarnation_(incarnation) {
  configure_socket(socket_);
  connect_or_throw(socket_, broker_xsub, "bus endpoint");
}

void EventPublisher::send_locked(const char* topic, const std::string& payload) {
  // PUB never blocks: past the high-water mark ZeroMQ drops, and the gap in seq tells subscribers.
  socket_.send(zmq::buffer(topic, std::strlen(topic)), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(payload), zmq::send_flags::none);
}

}  // namespace bazaar::common
