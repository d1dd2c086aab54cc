#include "order/order_handler.h"

#include <spdlog/spdlog.h>

#include "proto_msgs/codec.h"

namespace bazaar::order {

const char* to_string(Role r) {
  switch (r) {
    case Role::kLeader: return "leader";
    case Role::kFollower: return "follower";
    case Role::kCandidate: return "candidate";
  }
  return "?";
}

OrderHandler::OrderHandler(std::uint32_t id, std::uint64_t term, OrderLog& log,
                           CatalogGateway& catalog)
    : id_(id), term_(term), log_(log), catalog_(catalog) {}

std::string OrderHandler::handle(std::string_view request) {
  auto env = proto::open_envelope(request);
  if (!env) return proto::encode(proto::ErrorReply{proto::Status::kBadRequest, to_string(env.error)});
  auto reject = [](proto::DecodeError e) {
    return proto::encode(proto::ErrorReply{proto::Status::kBadRequest, to_string(e)});
  };
  switch (env->type) {
    case proto::MessageType::kPlaceOrderRequest: {
      auto req = proto::decode_body<proto::PlaceOrderRequest>(*env);
      return req ? proto::encode(place(*req)) : reject(req.error);
    }
    case proto::MessageType::kGetOrderRequest: {
      auto req = proto::decode_body<proto::GetOrderRequest>(*env);
      return req ? proto::encode(get(*req)) : reject(req.error);
    }
    case proto::MessageType::kStatusRequest:
      return proto::encode(status());
    default:
      return reject(proto::DecodeError::kWrongType);
  }
}

proto::PlaceOrderReply OrderHandler::place(const proto::PlaceOrderRequest& req) {
  proto::PlaceOrderReply reply;
  if (role_ != Role::kLeader) {
    reply.status = proto::Status::kNotLeader;
    reply.message = "not leader";
    return reply;
  }
  if (auto prior = log_.find_by_request_id(req.request_id)) {
    if (prior->name != req.name || prior->side != req.side || prior->quantity != req.quantity) {
      reply.status = proto::Status::kConflict;
      reply.message = "request id already used for a different order";
      return reply;
    }
    reply.order_number = prior->number;
    return reply;
  }
  auto trade = catalog_.trade({req.request_id, req.name, req.side, req.quantity});
  if (!trade.ok()) {
    // Unknown whether the catalog applied it; the caller retries with the same id, which the
    // catalog answers from its record of applied ids.
    reply.status = proto::Status::kUnavailable;
    reply.message = "catalog: " + trade.error;
    return reply;
  }
  if (trade.reply.status != proto::Status::kOk) {
    reply.status = trade.reply.status;
    reply.message = proto::to_string(trade.reply.status);
    return reply;
  }
  try {
    const proto::Order stored =
        log_.append({0, req.name, req.side, req.quantity, req.request_id}, term_);
    reply.order_number = stored.number;
  } catch (const std::exception& e) {
    spdlog::error("cannot append order {}: {}", req.request_id, e.what());
    reply.status = proto::Status::kInternal;
    reply.message = "order log write failed";
  }
  return reply;
}

proto::GetOrderReply OrderHandler::get(const proto::GetOrderRequest& req) {
  proto::GetOrderReply reply;
  if (auto o = log_.get(req.number)) {
    reply.order = std::move(*o);
  } else {
    reply.status = proto::Status::kNotFound;
  }
  return reply;
}

proto::StatusReply OrderHandler::status() const {
  proto::StatusReply st;
  st.service = "order";
  st.id = id_;
  st.role = to_string(role_);
  st.term = term_;
  st.leader_id = role_ == Role::kLeader ? static_cast<std::int32_t>(id_) : -1;
  st.log_size = static_cast<std::uint64_t>(log_.size());
  return st;
}

}  // namespace bazaar::order
