#include "frontend/zmq_order_transport.h"

namespace bazaar::frontend {

ZmqOrderTransport::ZmqOrderTransport(zmq::context_t& ctx,
                                     const std::vector<std::string>& endpoints) {
  clients_.reserve(endpoints.size());
  for (const auto& endpoint : endpoints) {
    clients_.push_back(std::make_unique<common::RpcClient>(ctx, endpoint));
  }
}

std::uint32_t ZmqOrderTransport::replicas() const {
  return static_cast<std::uint32_t>(clients_.size());
}

common::CallResult<proto::PlaceOrderReply> ZmqOrderTransport::place(
    std::uint32_t id, const proto::PlaceOrderRequest& request, std::chrono::milliseconds timeout) {
  return clients_.at(id - 1)->call<proto::PlaceOrderReply>(request, timeout);
}

common::CallResult<proto::GetOrderReply> ZmqOrderTransport::get(
    std::uint32_t id, const proto::GetOrderRequest& request, std::chrono::milliseconds timeout) {
  return clients_.at(id - 1)->call<proto::GetOrderReply>(request, timeout);
}

common::CallResult<proto::StatusReply> ZmqOrderTransport::status(
    std::uint32_t id, std::chrono::milliseconds timeout) {
  return clients_.at(id - 1)->call<proto::StatusReply>(proto::StatusRequest{}, timeout);
}

}  // namespace bazaar::frontend
