// Envelope encoding and safe decoding of untrusted bytes.
//
// Wire form of every message: a msgpack array [version:uint8, type:uint16, body], where body is
// the message struct packed as an array (messages.h). Decoding never throws: garbage, an unknown
// type, a wrong shape or an oversized field comes back as a DecodeError value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto_msgs/messages.h"

namespace bazaar::proto {

enum class DecodeError : std::uint8_t {
  kNone = 0,
  kTooLarge,      // more than kMaxMessageBytes, or a container/string over the unpack limits
  kGarbage,       // not msgpack, truncated, or trailing bytes
  kBadEnvelope,   // not a [version, type, body] array
  kBadVersion,    // version is not kProtocolVersion
  kUnknownType,   // type number not in MessageType
  kWrongType,     // a valid message, but not the one the caller expects
  kWrongShape,    // body does not convert to the message struct
  kInvalidField,  // converts, but a field breaks a bound (validate())
};
const char* to_string(DecodeError e);

/// A decoded value or the reason there is none.
template <class T>
struct Decoded {
  std::optional<T> value;
  DecodeError error = DecodeError::kNone;

  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  T& operator*() { return *value; }
  const T* operator->() const { return &*value; }
  T* operator->() { return &*value; }
};

/// An opened envelope: its type is known, its body not yet converted. Owns the unpacked data.
struct Envelope {
  MessageType type = MessageType::kErrorReply;
  msgpack::object_handle handle;  // keeps `body` alive
  msgpack::object body;
};

/// Packs `msg` (any struct of messages.h with a kType) into an envelope.
template <class T>
std::string encode(const T& msg) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(3);
  pk.pack(kProtocolVersion);
  pk.pack(static_cast<std::uint16_t>(T::kType));
  pk.pack(msg);
  return std::string(buf.data(), buf.size());
}

/// Checks the envelope of untrusted bytes. Never throws.
Decoded<Envelope> open_envelope(std::string_view bytes);

/// Bounds of every message: true when every field is within them.
bool validate(const ErrorReply& m);
bool validate(const StatusRequest& m);
bool validate(const StatusReply& m);
bool validate(const LookupRequest& m);
bool validate(const LookupReply& m);
bool validate(const ListRequest& m);
bool validate(const ListReply& m);
bool validate(const TradeRequest& m);
bool validate(const TradeReply& m);
bool validate(const TradeBatchRequest& m);
bool validate(const TradeBatchReply& m);
bool validate(const ReconcileRequest& m);
bool validate(const ReconcileReply& m);
bool validate(const ResolveRequest& m);
bool validate(const ResolveReply& m);
bool validate(const PlaceOrderRequest& m);
bool validate(const PlaceOrderReply& m);
bool validate(const GetOrderRequest& m);
bool validate(const GetOrderReply& m);
bool validate(const MembershipRequest& m);
bool validate(const MembershipReply& m);
bool validate(const Invalidation& m);
bool validate(const LeaderAnnouncement& m);
bool validate(const Heartbeat& m);
bool validate(const RequestVote& m);
bool validate(const VoteReply& m);
bool validate(const AppendEntries& m);
bool validate(const AppendReply& m);
bool validate(const TimeoutNow& m);
bool validate(const ForwardRequest& m);
bool validate(const ForwardReply& m);
bool validate(const ClusterProbe& m);
bool validate(const ClusterProbeReply& m);

namespace detail {
/// Number of fields of T on the wire (the array length a default T packs to).
template <class T>
std::size_t arity() {
  static const std::size_t n = [] {
    msgpack::zone z;
    msgpack::object o(T{}, z);
    return static_cast<std::size_t>(o.via.array.size);
  }();
  return n;
}
}  // namespace detail

/// Converts an opened envelope's body to T. Never throws. Extra trailing fields are ignored
/// (room for later versions); missing ones are an error.
template <class T>
Decoded<T> decode_body(const Envelope& env) {
  Decoded<T> out;
  if (env.type != T::kType) {
    out.error = DecodeError::kWrongType;
    return out;
  }
  if (env.body.type != msgpack::type::ARRAY || env.body.via.array.size < detail::arity<T>()) {
    out.error = DecodeError::kWrongShape;
    return out;
  }
  try {
    T value;
    env.body.convert(value);
    if (!validate(value)) {
      out.error = DecodeError::kInvalidField;
      return out;
    }
    out.value = std::move(value);
  } catch (const std::exception&) {
    // msgpack::type_error and friends: a field of the wrong type or range.
    out.error = DecodeError::kWrongShape;
  }
  return out;
}

/// open_envelope + decode_body.
template <class T>
Decoded<T> decode(std::string_view bytes) {
  auto env = open_envelope(bytes);
  if (!env) {
    Decoded<T> out;
    out.error = env.error;
    return out;
  }
  return decode_body<T>(*env);
}

}  // namespace bazaar::proto
