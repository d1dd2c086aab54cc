// The order replica's I/O edge: the client REP socket and leader announcements on the bus.
#pragma once

#include <chrono>
#include <string>
#include <zmq.hpp>

#include "common/event_publisher.h"
#include "order/order_handler.h"

namespace bazaar::order {

struct ServerOptions {
  std::string endpoint;  // bind: client requests (frontends)
  std::chrono::milliseconds announce_interval{500};
};

/// Serves requests one at a time on the calling thread and announces leadership on the bus when
/// it starts and every announce_interval, so a frontend or a restarted broker learns it quickly.
class OrderServer {
 public:
  /// Binds the endpoint; throws common::StartupError when it cannot.
  OrderServer(zmq::context_t& ctx, ServerOptions options, OrderHandler& handler,
              common::EventPublisher& bus);

  /// Runs until common::stop_requested().
  void run();

 private:
  void announce();

  ServerOptions options_;
  zmq::socket_t socket_;
  OrderHandler& handler_;
  common::EventPublisher& bus_;
};

}  // namespace bazaar::order
