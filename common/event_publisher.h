// Publishes events to the broker with the publisher's incarnation and a gap-free sequence.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <zmq.hpp>

#include "proto_msgs/codec.h"

namespace bazaar::common {

/// A PUB socket connected to the broker's XSUB endpoint. Thread-safe: publish() takes a mutex,
/// because a ZeroMQ socket must not be used by two threads at once and because the sequence
/// number must follow send order. Events beyond the socket's high-water mark are dropped by
/// ZeroMQ; subscribers see the gap in `seq` and react (frontends flush their caches).
class EventPublisher {
 public:
  /// `name` goes into every header as the publisher. Connecting never fails for a well-formed
  /// endpoint: ZeroMQ reconnects in the background while the broker is down.
  EventPublisher(zmq::context_t& ctx, const std::string& broker_xsub, std::string name,
                 std::uint64_t incarnation);

  /// Fills `event.header` and sends [topic, envelope]. T is an event type of messages.h.
  template <class T>
  void publish(const char* topic, T event) {
    std::lock_guard<std::mutex> lock(mu_);
    event.header.publisher = name_;
    event.header.incarnation = incarnation_;
    event.header.seq = ++seq_;
    send_locked(topic, proto::encode(event));
  }

  std::uint64_t incarnation() const { return incarnation_; }

 private:
  void send_locked(const char* topic, const std::string& payload);

  std::mutex mu_;
  zmq::socket_t socket_;  // guarded by mu_
  const std::string name_;
  const std::uint64_t incarnation_;
  std::uint64_t seq_ = 0;  // guarded by mu_; last sequence number sent
};

}  // namespace bazaar::common
