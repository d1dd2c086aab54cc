#include "catalog/request_handler.h"

#include <spdlog/spdlog.h>

#include "proto_msgs/codec.h"

namespace bazaar::catalog {

namespace {

// Decodes the body of `env` as T, or fills `error_reply` with the reason it cannot.
template <class T>
bool decode_or_reject(const proto::Envelope& env, T& out, HandlerResult& error_reply) {
  auto decoded = proto::decode_body<T>(env);
  if (!decoded) {
    error_reply.reply =
        encode_error(proto::Status::kBadRequest, std::string(proto::to_string(env.type)) + ": " +
                                                     proto::to_string(decoded.error));
    return false;
  }
  out = std::move(*decoded);
  return true;
}

}  // namespace

std::string encode_error(proto::Status status, const std::string& message) {
  proto::ErrorReply err;
  err.status = status;
  err.message = message.substr(0, proto::kMaxTextBytes);
  return proto::encode(err);
}

RequestHandler::RequestHandler(ItemStore& store, std::uint64_t incarnation, CatalogMetrics* metrics)
    : store_(store), incarnation_(incarnation), metrics_(metrics) {}

HandlerResult RequestHandler::handle(std::string_view request_bytes) {
  HandlerResult out;
  auto env = proto::open_envelope(request_bytes);
  if (!env) {
    out.reply = encode_error(proto::Status::kBadRequest, proto::to_string(env.error));
    return out;
  }
  switch (env->type) {
    case proto::MessageType::kStatusRequest: {
      proto::StatusRequest req;
      if (!decode_or_reject(*env, req, out)) return out;
      return on_status();
    }
    case proto::MessageType::kLookupRequest: {
      proto::LookupRequest req;
      if (!decode_or_reject(*env, req, out)) return out;
      return on_lookup(req);
    }
    case proto::MessageType::kListRequest: {
      proto::ListRequest req;
      if (!decode_or_reject(*env, req, out)) return out;
      return on_list();
    }
    case proto::MessageType::kTradeBatchRequest: {
      proto::TradeBatchRequest req;
      if (!decode_or_reject(*env, req, out)) return out;
      return on_trade_batch(req);
    }
    case proto::MessageType::kReconcileRequest: {
      proto::ReconcileRequest req;
      if (!decode_or_reject(*env, req, out)) return out;
      return on_reconcile(req);
    }
    case proto::MessageType::kResolveRequest: {
      proto::ResolveRequest req;
      if (!decode_or_reject(*env, req, out)) return out;
      return on_resolve(req);
    }
    default:
      break;
  }
  out.reply = encode_error(proto::Status::kBadRequest, std::string("the catalog does not answer ") +
                                                           proto::to_string(env->type));
  return out;
}

HandlerResult RequestHandler::on_status() {
  proto::StatusReply rep;
  rep.service = "catalog";
  rep.id = 0;
  rep.role = "serving";
  rep.term = 0;
  rep.leader_id = -1;
  rep.incarnation = incarnation_;
  // log_size is the item count for the catalog; a database error shows as 0, not as a failure,
  // because the process itself is up and answering.
  const std::int64_t n = store_.count();
  rep.log_size = n > 0 ? static_cast<std::uint64_t>(n) : 0;
  return HandlerResult{proto::encode(rep), {}};
}

HandlerResult RequestHandler::on_lookup(const proto::LookupRequest& req) {
  LookupResult r = store_.lookup(req.name);
  if (metrics_) metrics_->count_lookup();
  proto::LookupReply rep;
  rep.status = r.status;
  rep.item = std::move(r.item);
  rep.incarnation = incarnation_;
  return HandlerResult{proto::encode(rep), {}};
}

HandlerResult RequestHandler::on_list() {
  ListResult r = store_.list();
  proto::ListReply rep;
  rep.status = r.status;
  rep.items = std::move(r.items);
  rep.incarnation = incarnation_;
  return HandlerResult{proto::encode(rep), {}};
}

HandlerResult RequestHandler::on_trade_batch(const proto::TradeBatchRequest& req) {
  std::vector<TradeResult> results =
      store_.trade_batch(req.trades, req.term, req.confirmed, req.batch);
  proto::TradeBatchReply rep;
  rep.replies.reserve(results.size());
  HandlerResult out;
  if (metrics_) metrics_->observe_batch(req.trades.size());
  for (auto& r : results) {
    if (metrics_) metrics_->count_trade(r.status, r.duplicate);
    rep.replies.push_back({r.status, r.item, r.duplicate});
    if (r.changed) out.changed.push_back(std::move(r.item));
  }
  spdlog::debug("trade batch of {} (term {}, {} confirmations): {} changes", req.trades.size(),
                req.term, req.confirmed.size(), out.changed.size());
  out.reply = proto::encode(rep);
  return out;
}

HandlerResult RequestHandler::on_reconcile(const proto::ReconcileRequest& req) {
  ReconcileResult r = store_.reconcile(req.term, req.after, req.limit);
  if (r.status == proto::Status::kOk) {
    spdlog::info("reconcile for term {}: {} unconfirmed trade(s) of older terms{}", req.term,
                 r.trades.size(), r.more ? " (more follow)" : "");
  } else {
    spdlog::warn("reconcile for term {}: {}", req.term, proto::to_string(r.status));
  }
  proto::ReconcileReply rep;
  rep.status = r.status;
  rep.unconfirmed = std::move(r.trades);
  rep.more = r.more;
  return HandlerResult{proto::encode(rep), {}};
}

HandlerResult RequestHandler::on_resolve(const proto::ResolveRequest& req) {
  ResolveResult r = store_.resolve(req.term, req.batch, req.request_ids);
  if (r.status == proto::Status::kOk) {
    spdlog::info("resolve batch {} of term {}: {} of {} trade(s) applied, the rest abandoned",
                 req.batch, req.term, r.applied.size(), req.request_ids.size());
  } else {
    spdlog::warn("resolve batch {} of term {}: {}", req.batch, req.term,
                 proto::to_string(r.status));
  }
  proto::ResolveReply rep;
  rep.status = r.status;
  rep.applied = std::move(r.applied);
  return HandlerResult{proto::encode(rep), {}};
}

}  // namespace bazaar::catalog
