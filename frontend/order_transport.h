// How the OrderClient reaches one order replica: an interface, so the fail-over logic can be
// tested with a scripted fake and run for real over ZeroMQ (ZmqOrderTransport).
#pragma once

#include <chrono>
#include <cstdint>

#include "common/rpc_client.h"
#include "proto_msgs/messages.h"

namespace bazaar::frontend {

/// One request/reply call to replica `id` (1..replicas()) with a deadline. Used by one thread.
class OrderTransport {
 public:
  virtual ~OrderTransport() = default;

  virtual std::uint32_t replicas() const = 0;
  virtual common::CallResult<proto::PlaceOrderReply> place(std::uint32_t id,
                                                           const proto::PlaceOrderRequest& request,
                                                           std::chrono::milliseconds timeout) = 0;
  virtual common::CallResult<proto::GetOrderReply> get(std::uint32_t id,
                                                       const proto::GetOrderRequest& request,
                                                       std::chrono::milliseconds timeout) = 0;
  virtual common::CallResult<proto::StatusReply> status(std::uint32_t id,
                                                        std::chrono::milliseconds timeout) = 0;
};

}  // namespace bazaar::frontend
