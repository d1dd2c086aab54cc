// The order replica's request logic: a decoded request in, a reply out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "order/catalog_gateway.h"
#include "order/order_log.h"
#include "proto_msgs/messages.h"

namespace bazaar::order {

enum class Role : std::uint8_t { kLeader, kFollower, kCandidate };
const char* to_string(Role r);

/// Turns requests into replies for one replica. Until replication lands (docs/REPLICATION.md)
/// a replica runs alone and leads its own term. Not thread-safe: the service thread owns it,
/// the log and the gateway.
class OrderHandler {
 public:
  OrderHandler(std::uint32_t id, std::uint64_t term, OrderLog& log, CatalogGateway& catalog);

  /// Decodes `request` and answers it; garbage or an unexpected type gets an ErrorReply.
  std::string handle(std::string_view request);

  /// Places an order. The same request id always gets the same answer: a repeat of a committed
  /// order returns its number without touching the catalog again (kConflict if the repeat
  /// carries a different order). A new order is applied to the catalog first (which applies an
  /// id at most once) and appended to the log only when the catalog accepted it, so refused
  /// orders take no number.
  proto::PlaceOrderReply place(const proto::PlaceOrderRequest& req);
  proto::GetOrderReply get(const proto::GetOrderRequest& req);
  proto::StatusReply status() const;

  std::uint32_t id() const { return id_; }
  std::uint64_t term() const { return term_; }
  Role role() const { return role_; }

 private:
  const std::uint32_t id_;
  std::uint64_t term_;
  Role role_ = Role::kLeader;
  OrderLog& log_;
  CatalogGateway& catalog_;
};

}  // namespace bazaar::order
