#include "common/rpc_client.h"

#include "common/zmq_util.h"

namespace bazaar::common {

const char* to_string(CallOutcome o) {
  switch (o) {
    case CallOutcome::kOk:
      return "ok";
    case CallOutcome::kTimeout:
      return "timed out";
    case CallOutcome::kRejected:
      return "request rejected";
    case CallOutcome::kBadReply:
      return "undecodable reply";
  }
  return "?";
}

RpcClient::RpcClient(zmq::context_t& ctx, std::string endpoint)
    : ctx_(ctx), endpoint_(std::move(endpoint)) {}

void RpcClient::set_endpoint(std::string endpoint) {
  endpoint_ = std::move(endpoint);
  socket_.reset();
}

void RpcClient::reset() {
  socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
  configure_socket(*socket_);
  connect_or_throw(*socket_, endpoint_, "endpoint");  // with the CURVE keys, when configured
}

CallOutcome RpcClient::call_raw(std::string_view request, std::chrono::milliseconds timeout,
                                std::string& reply) {
  if (!socket_) {
    try {
      reset();
    } catch (const zmq::error_t&) {
      // No socket to be had (out of file descriptors): a failed attempt like a lost one, never
      // an exception out of the caller's thread. A malformed endpoint still throws StartupError.
      socket_.reset();
      return CallOutcome::kTimeout;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A REQ socket with a connect in progress queues the message; dontwait keeps a full queue
  // from blocking past the deadline.
  if (!socket_->send(zmq::buffer(request.data(), request.size()), zmq::send_flags::dontwait)) {
    socket_.reset();
    return CallOutcome::kTimeout;
  }
  zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int n = 0;
    try {
      n = zmq::poll(&item, 1, left);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (n > 0) {
      zmq::message_t msg;
      if (socket_->recv(msg, zmq::recv_flags::dontwait)) {
        reply.assign(static_cast<const char*>(msg.data()), msg.size());
        return CallOutcome::kOk;
      }
    }
  }
  socket_.reset();  // Lazy Pirate: abandon the socket and whatever is queued on it
  return CallOutcome::kTimeout;
}

}  // namespace bazaar::common
