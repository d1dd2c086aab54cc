#include "proto_msgs/codec.h"

#include <algorithm>

namespace bazaar::proto {

namespace {

bool name_ok(const std::string& s) {
  return !s.empty() && s.size() <= kMaxNameBytes;
}
bool id_ok(const std::string& s) {
  return !s.empty() && s.size() <= kMaxRequestIdBytes;
}
bool text_ok(const std::string& s) {
  return s.size() <= kMaxTextBytes;
}
bool status_ok(Status s) {
  return static_cast<std::uint8_t>(s) <= kMaxStatus;
}
bool side_ok(Side s) {
  return static_cast<std::uint8_t>(s) <= kMaxSide;
}
bool quantity_ok(std::int64_t q) {
  return q >= 1 && q <= kMaxQuantity;
}

bool known_type(std::uint16_t t) {
  switch (static_cast<MessageType>(t)) {
    case MessageType::kErrorReply:
    case MessageType::kStatusRequest:
    case MessageType::kStatusReply:
    case MessageType::kLookupRequest:
    case MessageType::kLookupReply:
    case MessageType::kListRequest:
    case MessageType::kListReply:
    case MessageType::kTradeRequest:
    case MessageType::kTradeReply:
    case MessageType::kTradeBatchRequest:
    case MessageType::kTradeBatchReply:
    case MessageType::kReconcileRequest:
    case MessageType::kReconcileReply:
    case MessageType::kResolveRequest:
    case MessageType::kResolveReply:
    case MessageType::kPlaceOrderRequest:
    case MessageType::kPlaceOrderReply:
    case MessageType::kGetOrderRequest:
    case MessageType::kGetOrderReply:
    case MessageType::kMembershipRequest:
    case MessageType::kMembershipReply:
    case MessageType::kRequestVote:
    case MessageType::kVoteReply:
    case MessageType::kAppendEntries:
    case MessageType::kAppendReply:
    case MessageType::kTimeoutNow:
    case MessageType::kForwardRequest:
    case MessageType::kForwardReply:
    case MessageType::kClusterProbe:
    case MessageType::kClusterProbeReply:
    case MessageType::kInvalidation:
    case MessageType::kLeaderAnnouncement:
    case MessageType::kHeartbeat:
      return true;
  }
  return false;
}

// An item inside a reply: the name may be empty when the status is not kOk.
bool item_ok(const Item& i) {
  return i.name.size() <= kMaxNameBytes && i.price_cents >= 0 && i.quantity >= 0 && i.volume >= 0;
}

bool header_ok(const EventHeader& h) {
  return name_ok(h.publisher);
}

}  // namespace

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::kNone:
      return "none";
    case DecodeError::kTooLarge:
      return "message too large";
    case DecodeError::kGarbage:
      return "not a msgpack message";
    case DecodeError::kBadEnvelope:
      return "bad envelope";
    case DecodeError::kBadVersion:
      return "unsupported protocol version";
    case DecodeError::kUnknownType:
      return "unknown message type";
    case DecodeError::kWrongType:
      return "unexpected message type";
    case DecodeError::kWrongShape:
      return "malformed message body";
    case DecodeError::kInvalidField:
      return "field out of bounds";
  }
  return "?";
}

const char* to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kUnknownItem:
      return "unknown item";
    case Status::kInsufficient:
      return "insufficient quantity";
    case Status::kBadRequest:
      return "bad request";
    case Status::kNotLeader:
      return "not leader";
    case Status::kUnavailable:
      return "unavailable";
    case Status::kNotFound:
      return "not found";
    case Status::kConflict:
      return "conflict";
    case Status::kInternal:
      return "internal error";
  }
  return "?";
}

const char* to_string(Side s) {
  return s == Side::kSell ? "sell" : "buy";
}

const char* to_string(MessageType t) {
  switch (t) {
    case MessageType::kErrorReply:
      return "ErrorReply";
    case MessageType::kStatusRequest:
      return "StatusRequest";
    case MessageType::kStatusReply:
      return "StatusReply";
    case MessageType::kLookupRequest:
      return "LookupRequest";
    case MessageType::kLookupReply:
      return "LookupReply";
    case MessageType::kListRequest:
      return "ListRequest";
    case MessageType::kListReply:
      return "ListReply";
    case MessageType::kTradeRequest:
      return "TradeRequest";
    case MessageType::kTradeReply:
      return "TradeReply";
    case MessageType::kTradeBatchRequest:
      return "TradeBatchRequest";
    case MessageType::kTradeBatchReply:
      return "TradeBatchReply";
    case MessageType::kReconcileRequest:
      return "ReconcileRequest";
    case MessageType::kReconcileReply:
      return "ReconcileReply";
    case MessageType::kResolveRequest:
      return "ResolveRequest";
    case MessageType::kResolveReply:
      return "ResolveReply";
    case MessageType::kPlaceOrderRequest:
      return "PlaceOrderRequest";
    case MessageType::kPlaceOrderReply:
      return "PlaceOrderReply";
    case MessageType::kGetOrderRequest:
      return "GetOrderRequest";
    case MessageType::kGetOrderReply:
      return "GetOrderReply";
    case MessageType::kMembershipRequest:
      return "MembershipRequest";
    case MessageType::kMembershipReply:
      return "MembershipReply";
    case MessageType::kRequestVote:
      return "RequestVote";
    case MessageType::kVoteReply:
      return "VoteReply";
    case MessageType::kAppendEntries:
      return "AppendEntries";
    case MessageType::kAppendReply:
      return "AppendReply";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
    case MessageType::kForwardRequest:
      return "ForwardRequest";
    case MessageType::kForwardReply:
      return "ForwardReply";
    case MessageType::kClusterProbe:
      return "ClusterProbe";
    case MessageType::kClusterProbeReply:
      return "ClusterProbeReply";
    case MessageType::kInvalidation:
      return "Invalidation";
    case MessageType::kLeaderAnnouncement:
      return "LeaderAnnouncement";
    case MessageType::kHeartbeat:
      return "Heartbeat";
  }
  return "?";
}

Decoded<Envelope> open_envelope(std::string_view bytes) {
  Decoded<Envelope> out;
  if (bytes.size() > kMaxMessageBytes) {
    out.error = DecodeError::kTooLarge;
    return out;
  }
  // Limits keep a hostile length prefix from making the unpacker allocate: no container may hold
  // more elements, and no string more bytes, than a whole message could.
  const msgpack::unpack_limit limits(/*array=*/kMaxListItems + 16, /*map=*/64,
                                     /*str=*/kMaxMessageBytes, /*bin=*/kMaxMessageBytes,
                                     /*ext=*/0, /*depth=*/8);
  Envelope env;
  try {
    std::size_t offset = 0;
    env.handle = msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limits);
    if (offset != bytes.size()) {
      out.error = DecodeError::kGarbage;
      return out;
    }
  } catch (const msgpack::size_overflow&) {  // also depth_size_overflow, a subclass
    out.error = DecodeError::kTooLarge;
    return out;
  } catch (const std::exception&) {
    out.error = DecodeError::kGarbage;
    return out;
  }
  const msgpack::object& root = env.handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 3) {
    out.error = DecodeError::kBadEnvelope;
    return out;
  }
  const msgpack::object& version = root.via.array.ptr[0];
  const msgpack::object& type = root.via.array.ptr[1];
  if (version.type != msgpack::type::POSITIVE_INTEGER ||
      type.type != msgpack::type::POSITIVE_INTEGER) {
    out.error = DecodeError::kBadEnvelope;
    return out;
  }
  if (version.via.u64 != kProtocolVersion) {
    out.error = DecodeError::kBadVersion;
    return out;
  }
  if (type.via.u64 > 0xffff || !known_type(static_cast<std::uint16_t>(type.via.u64))) {
    out.error = DecodeError::kUnknownType;
    return out;
  }
  env.type = static_cast<MessageType>(type.via.u64);
  env.body = root.via.array.ptr[2];
  out.value = std::move(env);
  return out;
}

bool validate(const ErrorReply& m) {
  return status_ok(m.status) && text_ok(m.message);
}
bool validate(const StatusRequest&) {
  return true;
}
bool validate(const StatusReply& m) {
  return name_ok(m.service) && text_ok(m.role) && m.leader_id >= -1;
}
bool validate(const LookupRequest& m) {
  return name_ok(m.name);
}
bool validate(const LookupReply& m) {
  return status_ok(m.status) && item_ok(m.item);
}
bool validate(const ListRequest&) {
  return true;
}
bool validate(const ListReply& m) {
  if (!status_ok(m.status) || m.items.size() > kMaxListItems) return false;
  for (const auto& i : m.items) {
    if (!item_ok(i) || i.name.empty()) return false;
  }
  return true;
}
bool validate(const TradeRequest& m) {
  return id_ok(m.request_id) && name_ok(m.name) && side_ok(m.side) && quantity_ok(m.quantity);
}
bool validate(const TradeReply& m) {
  return status_ok(m.status) && item_ok(m.item);
}
bool validate(const TradeBatchRequest& m) {
  if (m.trades.empty() && m.confirmed.empty()) return false;
  if (m.trades.size() > kMaxTradeBatch || m.confirmed.size() > kMaxTradeBatch) return false;
  return std::all_of(m.trades.begin(), m.trades.end(),
                     [](const TradeRequest& t) { return validate(t); }) &&
         std::all_of(m.confirmed.begin(), m.confirmed.end(), id_ok);
}
bool validate(const TradeBatchReply& m) {
  if (m.replies.size() > kMaxTradeBatch) return false;
  return std::all_of(m.replies.begin(), m.replies.end(),
                     [](const TradeReply& t) { return validate(t); });
}
bool validate(const ReconcileRequest& m) {
  return m.term > 0 && m.after.size() <= kMaxRequestIdBytes && m.limit >= 1 &&
         m.limit <= kMaxReconcilePage;
}
bool validate(const ReconcileReply& m) {
  if (!status_ok(m.status) || m.unconfirmed.size() > kMaxReconcilePage) return false;
  return std::all_of(m.unconfirmed.begin(), m.unconfirmed.end(),
                     [](const TradeRequest& t) { return validate(t); });
}
bool validate(const ResolveRequest& m) {
  return m.term > 0 && m.batch > 0 && !m.request_ids.empty() &&
         m.request_ids.size() <= kMaxTradeBatch &&
         std::all_of(m.request_ids.begin(), m.request_ids.end(), id_ok);
}
bool validate(const ResolveReply& m) {
  if (!status_ok(m.status) || m.applied.size() > kMaxTradeBatch) return false;
  return std::all_of(m.applied.begin(), m.applied.end(),
                     [](const TradeRequest& t) { return validate(t); });
}
bool validate(const PlaceOrderRequest& m) {
  return id_ok(m.request_id) && name_ok(m.name) && side_ok(m.side) && quantity_ok(m.quantity);
}
bool validate(const PlaceOrderReply& m) {
  return status_ok(m.status) && m.order_number >= -1 && m.leader_hint >= -1 && text_ok(m.message);
}
bool validate(const GetOrderRequest& m) {
  return m.number >= 0;
}
bool validate(const GetOrderReply& m) {
  if (!status_ok(m.status)) return false;
  if (m.status != Status::kOk) return true;
  const Order& o = m.order;
  return o.number >= 0 && name_ok(o.name) && side_ok(o.side) && quantity_ok(o.quantity) &&
         o.request_id.size() <= kMaxRequestIdBytes;
}
bool validate(const MembershipRequest& m) {
  if (m.op > MembershipRequest::kRemove) return false;
  if (m.op == MembershipRequest::kShow) return true;
  return m.id >= 1 && m.id <= kMaxReplicaId &&
         (m.op != MembershipRequest::kAdd ||
          (!m.peer_endpoint.empty() && text_ok(m.peer_endpoint)));
}
bool validate(const MembershipReply& m) {
  return status_ok(m.status) && text_ok(m.message) && m.leader_hint >= -1 &&
         text_ok(m.configuration);
}
bool validate(const Invalidation& m) {
  return header_ok(m.header) && name_ok(m.name);
}
bool validate(const LeaderAnnouncement& m) {
  return header_ok(m.header) && !m.endpoint.empty() && text_ok(m.endpoint);
}
bool validate(const Heartbeat& m) {
  return header_ok(m.header);
}
bool validate(const RequestVote& m) {
  // A transfer election is a real one: a pre-vote never carries the flag.
  return m.candidate > 0 && m.last_term <= m.term && !(m.pre_vote && m.transfer);
}
bool validate(const VoteReply& m) {
  return m.from > 0;
}
bool validate(const AppendEntries& m) {
  if (m.leader == 0 || m.entries.size() > kMaxEntriesPerAppend || m.prev_term > m.term) {
    return false;
  }
  for (const auto& e : m.entries) {
    if (e.term > m.term || e.term < m.prev_term || e.kind > LogEntry::kConfig) return false;
    if (e.kind == LogEntry::kConfig && (e.name.empty() || e.name.size() > kMaxTextBytes)) {
      return false;
    }
    if (e.kind == LogEntry::kOrder &&
        (e.order_number < -1 || !id_ok(e.request_id) || !name_ok(e.name) || !side_ok(e.side) ||
         !quantity_ok(e.quantity))) {
      return false;
    }
  }
  return true;
}
bool validate(const AppendReply& m) {
  return m.from > 0;
}
bool validate(const TimeoutNow& m) {
  return m.leader > 0 && m.term > 0;
}
bool validate(const ForwardRequest& m) {
  return m.from > 0 && m.ticket > 0 && !m.request.empty() && m.request.size() <= kMaxForwardedBytes;
}
bool validate(const ForwardReply& m) {
  return m.ticket > 0 && !m.reply.empty() && m.reply.size() <= kMaxForwardedBytes;
}
bool validate(const ClusterProbe& m) {
  return m.from > 0 && m.from <= kMaxReplicaId;
}
bool validate(const ClusterProbeReply& m) {
  return m.from > 0 && m.from <= kMaxReplicaId;
}

}  // namespace bazaar::proto
