// The event bus: XSUB (publishers connect) <-> XPUB (subscribers connect), with a last-value
// cache for leader announcements, a heartbeat, and a control socket for status.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <zmq.hpp>

#include "broker/bus_metrics.h"
#include "broker/last_value_cache.h"

namespace bazaar::broker {

struct BusOptions {
  std::string xsub_endpoint;     // bind: publishers connect here
  std::string xpub_endpoint;     // bind: subscribers connect here
  std::string control_endpoint;  // bind: REP answering StatusRequest
  std::chrono::milliseconds heartbeat_interval{250};
};

/// Owns the three sockets and runs the forwarding loop on the calling thread. Single-threaded:
/// every socket and the cache belong to the thread in run().
class Bus {
 public:
  /// Binds every socket; throws common::StartupError when one cannot be bound. `metrics`, when
  /// given, must outlive the bus.
  Bus(zmq::context_t& ctx, BusOptions options, BusMetrics* metrics = nullptr);

  /// Forwards events until common::stop_requested(). Each poll waits at most until the next
  /// heartbeat is due, so heartbeats go out on time however quiet the bus is.
  void run();

  std::uint64_t incarnation() const { return incarnation_; }

 private:
  void forward_event();        // xsub -> xpub, offering leader events to the cache
  void handle_subscription();  // xpub -> xsub, replaying the cached leader to a new subscriber
  void handle_control();       // StatusRequest -> StatusReply
  void publish_heartbeat();
  void read_monitor();  // XPUB connections come and go: the subscriber gauge

  BusOptions options_;
  zmq::socket_t xsub_;
  zmq::socket_t xpub_;
  zmq::socket_t control_;
  LastValueCache cache_;
  const std::uint64_t incarnation_;
  std::uint64_t heartbeat_seq_ = 0;
  std::uint64_t events_forwarded_ = 0;
  BusMetrics* metrics_;    // null: none
  zmq::socket_t monitor_;  // PAIR: XPUB's accept/disconnect events (metrics only)
  std::int64_t subscribers_ = 0;
};

}  // namespace bazaar::broker
