// libFuzzer target: every proto_msgs decoder on untrusted bytes. The envelope is opened once and
// its body converted to every message type (a wrong type must be refused, not misread); a value
// that decodes must encode again and decode to a valid value (what a relay would do).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto_msgs/codec.h"

namespace proto = bazaar::proto;

namespace {

template <class T>
void try_decode(const proto::Envelope& env) {
  const auto d = proto::decode_body<T>(env);
  if (env.type != T::kType) {
    if (d || d.error != proto::DecodeError::kWrongType) {
      fprintf(stderr, "a %u envelope decoded as type %u\n", static_cast<unsigned>(env.type),
              static_cast<unsigned>(T::kType));
      abort();
    }
    return;
  }
  if (!d) return;
  if (!proto::validate(*d)) abort();  // decode_body validates: a value that passed must still
  const auto again = proto::decode<T>(proto::encode(*d));
  if (!again) {
    fprintf(stderr, "type %u: re-encoded value does not decode: %s\n",
            static_cast<unsigned>(T::kType), proto::to_string(again.error));
    abort();
  }
}

template <class... T>
void try_all(const proto::Envelope& env) {
  (try_decode<T>(env), ...);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto env = proto::open_envelope(bytes);
  if (!env) {
    if (env.error == proto::DecodeError::kNone) abort();  // no value needs a reason
    return 0;
  }
  try_all<proto::ErrorReply, proto::StatusRequest, proto::StatusReply, proto::LookupRequest,
          proto::LookupReply, proto::ListRequest, proto::ListReply, proto::TradeRequest,
          proto::TradeReply, proto::TradeBatchRequest, proto::TradeBatchReply,
          proto::ReconcileRequest, proto::ReconcileReply, proto::ResolveRequest,
          proto::ResolveReply, proto::PlaceOrderRequest, proto::PlaceOrderReply,
          proto::GetOrderRequest, proto::GetOrderReply, proto::RequestVote, proto::VoteReply,
          proto::AppendEntries, proto::AppendReply, proto::TimeoutNow, proto::ForwardRequest,
          proto::ForwardReply, proto::ClusterProbe, proto::ClusterProbeReply, proto::Invalidation,
          proto::LeaderAnnouncement, proto::Heartbeat>(*env);
  return 0;
}
