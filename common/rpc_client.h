// A request/reply client with a deadline on every call (zguide's "Lazy Pirate").
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "proto_msgs/codec.h"

namespace bazaar::common {

enum class CallOutcome : std::uint8_t {
  kOk,        // a reply of the expected type arrived
  kTimeout,   // no reply within the deadline (peer down, slow, or the request was lost)
  kRejected,  // the peer answered ErrorReply: it could not decode our request
  kBadReply,  // the peer answered something we cannot decode
};
const char* to_string(CallOutcome o);

template <class Rep>
struct CallResult {
  CallOutcome outcome = CallOutcome::kTimeout;
  Rep reply{};
  std::string error;  // detail when outcome is not kOk
  bool ok() const { return outcome == CallOutcome::kOk; }
};

/// Reads the bytes of a reply: kOk with a Rep, kRejected when the peer answered ErrorReply (it
/// could not decode our request), kBadReply when the bytes are neither. Shared by RpcClient and
/// the front end's links, which take replies off DEALER sockets.
template <class Rep>
CallResult<Rep> decode_reply(std::string_view bytes) {
  CallResult<Rep> result;
  auto env = proto::open_envelope(bytes);
  if (env && env->type == proto::MessageType::kErrorReply) {
    auto err = proto::decode_body<proto::ErrorReply>(*env);
    result.outcome = CallOutcome::kRejected;
    result.error = err ? err->message : "undecodable error reply";
    return result;
  }
  auto rep = env ? proto::decode_body<Rep>(*env) : proto::Decoded<Rep>{{}, env.error};
  if (!rep) {
    result.outcome = CallOutcome::kBadReply;
    result.error = proto::to_string(rep.error);
    return result;
  }
  result.outcome = CallOutcome::kOk;
  result.reply = std::move(*rep);
  return result;
}

/// One REQ socket to one endpoint. Not thread-safe: one owner thread (ZeroMQ sockets are not).
/// After a timeout the socket is closed and a new one made, so a late reply to an abandoned
/// request can never be taken for the answer to the next one, and a dead peer's queue is dropped.
class RpcClient {
 public:
  RpcClient(zmq::context_t& ctx, std::string endpoint);

  /// Sends `request` and waits at most `timeout` for the reply bytes.
  CallOutcome call_raw(std::string_view request, std::chrono::milliseconds timeout,
                       std::string& reply);

  /// Encodes `request`, calls, and decodes a reply of type Rep (decode_reply()).
  template <class Rep, class Req>
  CallResult<Rep> call(const Req& request, std::chrono::milliseconds timeout) {
    std::string bytes;
    const CallOutcome outcome = call_raw(proto::encode(request), timeout, bytes);
    if (outcome != CallOutcome::kOk) {
      CallResult<Rep> result;
      result.outcome = outcome;
      result.error = to_string(outcome);
      return result;
    }
    return decode_reply<Rep>(bytes);
  }

  /// Points the client at another endpoint (drops the current socket).
  void set_endpoint(std::string endpoint);
  const std::string& endpoint() const { return endpoint_; }

 private:
  void reset();

  zmq::context_t& ctx_;
  std::string endpoint_;
  std::unique_ptr<zmq::socket_t> socket_;  // null until first use or after a timeout
};

}  // namespace bazaar::common
