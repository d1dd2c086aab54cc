#include "order/order_server.h"

#include <spdlog/spdlog.h>

#include "common/stop_signal.h"
#include "common/zmq_util.h"

namespace bazaar::order {

OrderServer::OrderServer(zmq::context_t& ctx, ServerOptions options, OrderHandler& handler,
                         common::EventPublisher& bus)
    : options_(std::move(options)),
      socket_(ctx, zmq::socket_type::rep),
      handler_(handler),
      bus_(bus) {
  common::configure_socket(socket_);
  common::bind_or_throw(socket_, options_.endpoint, "--endpoint");
}

void OrderServer::announce() {
  if (handler_.role() != Role::kLeader) return;
  proto::LeaderAnnouncement ann;
  ann.term = handler_.term();
  ann.id = handler_.id();
  ann.endpoint = options_.endpoint;
  bus_.publish(proto::kTopicLeader, ann);
}

void OrderServer::run() {
  using clock = std::chrono::steady_clock;
  spdlog::info("replica {} serving on {} as {} of term {}", handler_.id(), options_.endpoint,
               to_string(handler_.role()), handler_.term());
  auto next_announce = clock::now();
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  while (!common::stop_requested()) {
    if (clock::now() >= next_announce) {
      announce();
      next_announce = clock::now() + options_.announce_interval;
    }
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(100));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t msg;
    if (!socket_.recv(msg, zmq::recv_flags::dontwait)) continue;
    const std::string reply =
        handler_.handle({static_cast<const char*>(msg.data()), msg.size()});
    socket_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
  }
  spdlog::info("replica {} stopping with {} orders", handler_.id(), handler_.status().log_size);
}

}  // namespace bazaar::order
