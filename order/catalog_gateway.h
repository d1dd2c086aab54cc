// What an order replica needs from the catalog: apply one trade, at most once per request id.
#pragma once

#include <chrono>
#include <zmq.hpp>

#include "common/rpc_client.h"
#include "proto_msgs/messages.h"

namespace bazaar::order {

/// Interface so the order logic can be tested against a fake catalog.
class CatalogGateway {
 public:
  virtual ~CatalogGateway() = default;
  /// Sends `trade` and waits for the outcome within the gateway's deadline. A timeout does not
  /// say whether the catalog applied it; repeating the same request id is safe either way.
  virtual common::CallResult<proto::TradeReply> trade(const proto::TradeRequest& trade) = 0;
};

/// The real gateway: a Lazy Pirate REQ client to the catalog's endpoint. One owner thread.
class RpcCatalogGateway : public CatalogGateway {
 public:
  RpcCatalogGateway(zmq::context_t& ctx, std::string endpoint, std::chrono::milliseconds timeout)
      : client_(ctx, std::move(endpoint)), timeout_(timeout) {}

  common::CallResult<proto::TradeReply> trade(const proto::TradeRequest& trade) override {
    return client_.call<proto::TradeReply>(trade, timeout_);
  }

 private:
  common::RpcClient client_;
  std::chrono::milliseconds timeout_;
};

}  // namespace bazaar::order
