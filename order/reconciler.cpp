#include "order/reconciler.h"

namespace bazaar::order {

proto::ReconcileRequest Reconciler::start(std::uint64_t term, std::uint64_t now_ms) {
  running_ = true;
  term_ = term;
  after_.clear();
  return ask(now_ms);
}

std::optional<proto::ReconcileRequest> Reconciler::due(std::uint64_t now_ms) {
  if (!running_ || now_ms < resend_ms_) return std::nullopt;
  return ask(now_ms);
}

std::optional<proto::ReconcileRequest> Reconciler::next(const proto::ReconcileReply& reply,
                                                        std::uint64_t now_ms) {
  if (reply.more && !reply.unconfirmed.empty()) {
    after_ = reply.unconfirmed.back().request_id;
    return ask(now_ms);
  }
  running_ = false;
  return std::nullopt;
}

proto::ReconcileRequest Reconciler::ask(std::uint64_t now_ms) {
  resend_ms_ = now_ms + retry_ms_;
  return proto::ReconcileRequest{term_, after_,
                                 static_cast<std::uint32_t>(proto::kMaxReconcilePage)};
}

}  // namespace bazaar::order
