// OrderTransport over ZeroMQ: one Lazy Pirate RpcClient per replica.
#pragma once

#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "frontend/order_transport.h"

namespace bazaar::frontend {

/// Owns one common::RpcClient per replica endpoint (replica id k is endpoints[k-1]). Not
/// thread-safe: each bridge thread has its own, since ZeroMQ sockets are single-threaded.
class ZmqOrderTransport : public OrderTransport {
 public:
  ZmqOrderTransport(zmq::context_t& ctx, const std::vector<std::string>& endpoints);

  std::uint32_t replicas() const override;
  common::CallResult<proto::PlaceOrderReply> place(std::uint32_t id,
                                                   const proto::PlaceOrderRequest& request,
                                                   std::chrono::milliseconds timeout) override;
  common::CallResult<proto::GetOrderReply> get(std::uint32_t id,
                                               const proto::GetOrderRequest& request,
                                               std::chrono::milliseconds timeout) override;
  common::CallResult<proto::StatusReply> status(std::uint32_t id,
                                                std::chrono::milliseconds timeout) override;

 private:
  std::vector<std::unique_ptr<common::RpcClient>> clients_;  // index id-1
};

}  // namespace bazaar::frontend
