#include "order/replica.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "proto_msgs/codec.h"

namespace bazaar::order {

namespace {

std::string error_reply(proto::DecodeError e) {
  return proto::encode(proto::ErrorReply{proto::Status::kBadRequest, proto::to_string(e)});
}

std::string encode_peer(const raft::PeerMessage& m) {
  return std::visit([](const auto& v) { return proto::encode(v); }, m);
}

std::uint32_t sender(const raft::PeerMessage& m) {
  struct From {
    std::uint32_t operator()(const proto::RequestVote& v) const { return v.candidate; }
    std::uint32_t operator()(const proto::VoteReply& v) const { return v.from; }
    std::uint32_t operator()(const proto::AppendEntries& a) const { return a.leader; }
    std::uint32_t operator()(const proto::AppendReply& a) const { return a.from; }
    std::uint32_t operator()(const proto::TimeoutNow& t) const { return t.leader; }
  };
  return std::visit(From{}, m);
}

std::optional<raft::PeerMessage> decode_peer(const proto::Envelope& env) {
  switch (env.type) {
    case proto::MessageType::kRequestVote:
      if (auto m = proto::decode_body<proto::RequestVote>(env)) return raft::PeerMessage{*m};
      break;
    case proto::MessageType::kVoteReply:
      if (auto m = proto::decode_body<proto::VoteReply>(env)) return raft::PeerMessage{*m};
      break;
    case proto::MessageType::kAppendEntries:
      if (auto m = proto::decode_body<proto::AppendEntries>(env))
        return raft::PeerMessage{std::move(*m)};
      break;
    case proto::MessageType::kAppendReply:
      if (auto m = proto::decode_body<proto::AppendReply>(env)) return raft::PeerMessage{*m};
      break;
    case proto::MessageType::kTimeoutNow:
      if (auto m = proto::decode_body<proto::TimeoutNow>(env)) return raft::PeerMessage{*m};
      break;
    default:
      break;
  }
  return std::nullopt;
}

// The log entry of the order in `o` (a PlaceOrderRequest or a TradeRequest); the core sets its
// term, and its number is given as it commits (Replica::persist_and_apply).
template <class Order>
proto::LogEntry order_entry(const Order& o) {
  proto::LogEntry e;
  e.kind = proto::LogEntry::kOrder;
  e.request_id = o.request_id;
  e.name = o.name;
  e.side = o.side;
  e.quantity = o.quantity;
  return e;
}

constexpr const char* kKeyReused =
    "Idempotency-Key (request id) already used for a different order";

}  // namespace

const char* to_string(LeaderPhase p) {
  switch (p) {
    case LeaderPhase::kNotLeader:
      return "not leader";
    case LeaderPhase::kAwaitingNoop:
      return "awaiting its first commit";
    case LeaderPhase::kReconciling:
      return "reconciling";
    case LeaderPhase::kServing:
      return "serving";
  }
  return "?";
}

Replica::Replica(ReplicaOptions options, SqliteLogStore& store, std::uint64_t now_ms)
    : options_(std::move(options)),
      core_(options_.raft, store, now_ms),
      index_(store, core_),
      reconciler_(options_.reconcile_retry_ms),
      trades_(options_.max_trade_batches, options_.confirm_delay_ms) {}

void Replica::reply(std::uint64_t token, const proto::PlaceOrderReply& r) {
  if (r.status != proto::Status::kOk) {
    out_.replies.emplace_back(token, proto::encode(r));
    return;
  }
  // An order placed says which leader placed it: a front end that went through a follower
  // (forwarding) then knows the follower is not the leader.
  proto::PlaceOrderReply placed = r;
  placed.leader_hint = static_cast<std::int32_t>(core_.id());
  out_.replies.emplace_back(token, proto::encode(placed));
}

// ---- inputs -----------------------------------------------------------------------------------

void Replica::on_client(std::uint64_t token, std::string_view request, std::uint64_t now_ms) {
  handle_client(token, request, now_ms, true);
}

void Replica::handle_client(std::uint64_t token, std::string_view request, std::uint64_t now_ms,
                            bool may_forward) {
  now_ms_ = now_ms;
  auto env = proto::open_envelope(request);
  if (!env) {
    out_.replies.emplace_back(token, error_reply(env.error));
    return;
  }
  switch (env->type) {
    case proto::MessageType::kPlaceOrderRequest: {
      auto req = proto::decode_body<proto::PlaceOrderRequest>(*env);
      if (!req) {
        out_.replies.emplace_back(token, error_reply(req.error));
        break;
      }
      if (may_forward && core_.role() != raft::RaftRole::kLeader &&
          forward(token, request, env->type, now_ms)) {
        break;
      }
      place(token, *req, now_ms);
      break;
    }
    case proto::MessageType::kGetOrderRequest: {
      auto req = proto::decode_body<proto::GetOrderRequest>(*env);
      if (!req) {
        out_.replies.emplace_back(token, error_reply(req.error));
      } else if (auto r = read_order(req->number, false)) {
        // A follower that cannot answer asks its leader rather than send the client away.
        if (r->status != proto::Status::kNotLeader || !may_forward ||
            !forward(token, request, env->type, now_ms)) {
          out_.replies.emplace_back(token, proto::encode(*r));
        }
      } else if (reads_.size() >= options_.max_pending) {
        proto::GetOrderReply busy;
        busy.status = proto::Status::kUnavailable;
        out_.replies.emplace_back(token, proto::encode(busy));
      } else {
        reads_.push_back({token, req->number, 0, now_ms + options_.raft.election_ms});
      }
      break;
    }
    case proto::MessageType::kStatusRequest:
      out_.replies.emplace_back(token, proto::encode(status()));
      break;
    case proto::MessageType::kMembershipRequest: {
      auto req = proto::decode_body<proto::MembershipRequest>(*env);
      if (!req) {
        out_.replies.emplace_back(token, error_reply(req.error));
      } else {
        change_membership(token, *req);
      }
      break;
    }
    default:
      out_.replies.emplace_back(token, error_reply(proto::DecodeError::kWrongType));
  }
}

proto::MembershipReply Replica::membership_reply(proto::Status status, std::string message) const {
  return {.status = status,
          .message = std::move(message),
          .leader_hint = core_.leader_id(),
          .configuration = core_.membership().encode(),
          .config_index = core_.membership_index()};
}

void Replica::change_membership(std::uint64_t token, const proto::MembershipRequest& req) {
  using Op = proto::MembershipRequest;
  auto answer_now = [&](proto::Status status, std::string message) {
    out_.replies.emplace_back(token, proto::encode(membership_reply(status, std::move(message))));
  };
  if (req.op == Op::kShow) return answer_now(proto::Status::kOk, "");
  // Only the leader changes the configuration; an operator's tool asks it directly (no
  // forwarding: the answer names the leader).
  if (core_.role() != raft::RaftRole::kLeader) {
    return answer_now(proto::Status::kNotLeader, "not leader");
  }
  const raft::Membership& now = core_.membership();
  const raft::Member* member = now.find(req.id);
  raft::Membership next = now;
  if (req.op == Op::kAdd) {
    if (member != nullptr && member->endpoint == req.peer_endpoint) {
      return answer_now(proto::Status::kOk,
                        "replica " + std::to_string(req.id) + " is a member already");
    }
    if (member != nullptr) {
      return answer_now(proto::Status::kBadRequest, "replica " + std::to_string(req.id) +
                                                        " is a member at " + member->endpoint +
                                                        ": remove it first");
    }
    // Its form is checked here, once: every replica connects to what the entry says.
    if (req.peer_endpoint.rfind("tcp://", 0) != 0 ||
        req.peer_endpoint.find(' ') != std::string::npos) {
      return answer_now(proto::Status::kBadRequest,
                        "peer endpoint must be tcp://HOST:PORT, not '" + req.peer_endpoint + "'");
    }
    for (const auto& m : now.members()) {
      if (m.endpoint == req.peer_endpoint) {
        return answer_now(proto::Status::kBadRequest, req.peer_endpoint + " is replica " +
                                                          std::to_string(m.id) + "'s endpoint");
      }
    }
    next = now.with({.id = req.id, .voter = false, .endpoint = req.peer_endpoint});
  } else {
    if (member == nullptr) {
      return answer_now(proto::Status::kOk,
                        "replica " + std::to_string(req.id) + " is not a member");
    }
    next = now.without(req.id);
  }
  if (membership_waiters_.size() >= options_.max_pending) {
    return answer_now(proto::Status::kUnavailable, "too many changes waiting");
  }
  std::uint64_t index = 0;
  const raft::MembershipOutcome outcome = core_.propose_membership(next, index);
  switch (outcome) {
    case raft::MembershipOutcome::kAccepted:
      spdlog::info("replica {} (term {}) proposes the configuration \"{}\" at index {}", core_.id(),
                   core_.term(), next.encode(), index);
      membership_waiters_.emplace_back(token, index);
      return;
    case raft::MembershipOutcome::kUnchanged:
      return answer_now(proto::Status::kOk, "");
    case raft::MembershipOutcome::kNotLeader:
      return answer_now(proto::Status::kNotLeader, "not leader");
    case raft::MembershipOutcome::kTransferring:
    case raft::MembershipOutcome::kPending:
      return answer_now(proto::Status::kUnavailable,
                        std::string(to_string(outcome)) + ": retry shortly");
    case raft::MembershipOutcome::kInvalid:
      return answer_now(proto::Status::kBadRequest,
                        "not a change of one replica, or it would leave no voter");
  }
}

void Replica::answer_membership() {
  if (membership_waiters_.empty()) return;
  const bool leader = core_.role() == raft::RaftRole::kLeader;
  std::erase_if(membership_waiters_, [&](const std::pair<std::uint64_t, std::uint64_t>& w) {
    // A leader's log keeps its entries while it leads: committed up to here is the change.
    if (leader && core_.commit_index() >= w.second) {
      out_.replies.emplace_back(w.first, proto::encode(membership_reply(proto::Status::kOk, "")));
      return true;
    }
    if (leader) return false;
    // Its fate is unknown here: the next leader may commit it or drop it. Asking again is safe
    // (a change already in force is answered as such).
    out_.replies.emplace_back(
        w.first, proto::encode(membership_reply(proto::Status::kUnavailable,
                                                "leadership lost before the change committed: "
                                                "ask the new leader whether it is in force")));
    return true;
  });
}

void Replica::place(std::uint64_t token, const proto::PlaceOrderRequest& req,
                    std::uint64_t now_ms) {
  proto::PlaceOrderReply r;
  if (core_.role() != raft::RaftRole::kLeader) {
    r.status = proto::Status::kNotLeader;
    r.leader_hint = core_.leader_id();
    r.message = "not leader";
    reply(token, r);
    return;
  }
  if (phase_ != LeaderPhase::kServing) {
    // Until the catalog's unconfirmed trades are in the log, a new order could race one of them
    // for the same request id; the front end pauses and retries within its deadline.
    r.status = proto::Status::kUnavailable;
    r.message = std::string("new leader ") + to_string(phase_);
    reply(token, r);
    return;
  }
  // A request id already in the log: the same answer as the first time, once it commits.
  if (auto found = index_.find(req.request_id)) {
    if (!same_order(found->entry, req)) {
      r.status = proto::Status::kConflict;
      r.message = kKeyReused;
      reply(token, r);
    } else if (found->numbered) {
      r.order_number = found->entry.order_number;
      reply(token, r);
    } else {
      committing_.add(found->index, token);
      ++waiting_;
    }
    return;
  }
  // Already at the catalog, or applied there and parked during a transfer: join it.
  PendingTrade* joined = trades_.find(req.request_id);
  if (joined == nullptr) {
    if (auto jt = parked_.find(req.request_id); jt != parked_.end()) joined = &jt->second;
  }
  if (joined != nullptr) {
    if (!same_order(joined->request, req)) {
      r.status = proto::Status::kConflict;
      r.message = kKeyReused;
      reply(token, r);
      return;
    }
    joined->waiters.push_back(token);
    ++waiting_;
    return;
  }
  if (auto target = core_.transfer_target()) {
    // Handing office to a higher id: no new trade reaches the catalog, since its order could not
    // be logged here. The front end pauses and retries; the transfer ends within an election
    // timeout, at the new leader or back here.
    r.status = proto::Status::kUnavailable;
    r.message = "leadership transfer to replica " + std::to_string(*target) + " in progress";
    reply(token, r);
    return;
  }
  if (waiting_ >= options_.max_pending) {
    r.status = proto::Status::kUnavailable;
    r.message = "too many orders in flight";
    reply(token, r);
    return;
  }
  // The catalog checks and applies the trade first (at most once per request id); only an
  // accepted trade becomes a log entry, so refused orders take no number.
  trades_.add({req, {token}, now_ms + options_.trade_timeout_ms});
  ++waiting_;
}

void Replica::on_trade_batch(std::uint64_t batch,
                             const std::optional<proto::TradeBatchReply>& reply,
                             std::uint64_t now_ms) {
  now_ms_ = now_ms;
  BatchAnswer got = trades_.on_answer(batch, reply, now_ms);
  switch (got.kind) {
    case AnswerKind::kStale:
      return;  // from before a change of leadership
    case AnswerKind::kMiscounted:
      spdlog::warn("replica {}: the catalog answered a batch of {} trades with {} answers",
                   core_.id(), got.trades, reply->replies.size());
      return;
    case AnswerKind::kSettledDoubt:
      spdlog::info("replica {} (term {}): batch {} in doubt resolved by its late answer",
                   core_.id(), core_.term(), batch);
      break;
    case AnswerKind::kAnswered:
      break;
  }
  for (auto& outcome : got.outcomes) on_trade(std::move(outcome));
}

void Replica::answer(const PendingTrade& pending, const proto::PlaceOrderReply& r) {
  waiting_ -= pending.waiters.size();
  for (auto token : pending.waiters) reply(token, r);
}

void Replica::on_trade(TradeOutcome outcome) {
  const std::optional<proto::TradeReply>& said = outcome.answer;
  if (!outcome.pending) {
    // Its client stopped waiting (or reused the id for another order, which the catalog will
    // refuse): an applied trade still needs its order.
    if (said && said->status == proto::Status::kOk) adopt(outcome.trade);
    return;
  }
  PendingTrade pending = std::move(*outcome.pending);
  proto::PlaceOrderReply r;
  if (!said) {
    r.status = proto::Status::kUnavailable;
    r.message = "catalog unreachable";
  } else if (said->status != proto::Status::kOk) {
    r.status = said->status;
    r.message = proto::to_string(said->status);
  } else {
    const raft::ProposeOutcome proposed = propose_applied(pending);
    if (proposed == raft::ProposeOutcome::kAccepted) return;
    if (proposed == raft::ProposeOutcome::kTransferring) {
      // A transfer began while the catalog worked: the order waits for its end (see parked_).
      const std::string id = pending.request.request_id;
      parked_.emplace(id, std::move(pending));
      return;
    }
    // Deposed while the catalog worked: the client retries at the new leader with the same id,
    // and the catalog answers it from its record of applied ids.
    r.status = proto::Status::kNotLeader;
    r.leader_hint = core_.leader_id();
    r.message = "leadership lost";
  }
  answer(pending, r);
}

raft::ProposeOutcome Replica::propose_applied(PendingTrade& pending) {
  std::uint64_t index = 0;
  const raft::ProposeOutcome outcome = core_.propose(order_entry(pending.request), index);
  if (outcome == raft::ProposeOutcome::kAccepted) {
    // Known at once, before the next flush, so a repeat can never reach the catalog again.
    index_.note_proposed(pending.request.request_id, index);
    committing_.add(index, pending.waiters);
    pending.waiters.clear();
  }
  return outcome;
}

void Replica::adopt(const proto::TradeRequest& trade) {
  const std::string& id = trade.request_id;
  if (parked_.count(id) != 0 || index_.find(id)) return;
  PendingTrade pending{{id, trade.name, trade.side, trade.quantity}, {}, 0};
  if (PendingTrade* retry = trades_.find(id); retry && same_order(retry->request, trade)) {
    // A retry of it waits for the catalog again: this answer is its answer too.
    pending.waiters = std::move(trades_.take(id)->waiters);
  }
  const raft::ProposeOutcome outcome = propose_applied(pending);
  if (outcome == raft::ProposeOutcome::kTransferring) {
    parked_.emplace(id, std::move(pending));
  } else if (outcome == raft::ProposeOutcome::kNotLeader) {
    // Off office: the catalog lists it unconfirmed under this term, and the next leader's
    // reconciliation rolls it forward.
    proto::PlaceOrderReply r;
    r.status = proto::Status::kNotLeader;
    r.leader_hint = core_.leader_id();
    r.message = "leadership lost";
    answer(pending, r);
    return;
  }
  ++adopted_;
  spdlog::info("replica {} (term {}): order for trade {} logged after its client stopped waiting",
               core_.id(), core_.term(), id);
}

void Replica::on_resolve(std::uint64_t term, std::uint64_t batch,
                         const std::optional<proto::ResolveReply>& reply, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  if (core_.role() != raft::RaftRole::kLeader || term != core_.term()) return;
  if (!trades_.doubts(batch)) return;  // settled by a late answer already
  if (!reply || reply->status != proto::Status::kOk) {
    // Asked again when due. kNotLeader: a newer leader fenced the catalog, and this replica will
    // hear of its term soon.
    spdlog::warn("replica {} (term {}): resolving batch {}: {}", core_.id(), term, batch,
                 reply ? proto::to_string(reply->status) : "no answer from the catalog");
    return;
  }
  const std::optional<std::size_t> asked = trades_.on_resolved(batch);
  for (const auto& t : reply->applied) adopt(t);
  spdlog::info(
      "replica {} (term {}): batch {} in doubt resolved: {} of {} trade(s) applied, the "
      "rest abandoned",
      core_.id(), term, batch, reply->applied.size(), *asked);
}

void Replica::propose_parked() {
  // The core refuses while a transfer lasts (and off office; then fail_all answered them).
  while (!parked_.empty() &&
         propose_applied(parked_.begin()->second) == raft::ProposeOutcome::kAccepted) {
    parked_.erase(parked_.begin());
  }
}

void Replica::on_reconcile(std::uint64_t term, const std::string& after,
                           const std::optional<proto::ReconcileReply>& reply,
                           std::uint64_t now_ms) {
  now_ms_ = now_ms;
  if (phase_ != LeaderPhase::kReconciling || term != core_.term() ||
      !reconciler_.expects(term, after)) {
    return;  // an answer to an earlier request, or for a term this replica no longer leads
  }
  if (!reply || reply->status != proto::Status::kOk) {
    // Catalog down or busy: tick() asks again. kNotLeader means a newer leader has fenced the
    // catalog; this replica will hear of its term soon and step down.
    spdlog::warn("replica {} (term {}): reconcile: {}", core_.id(), term,
                 reply ? proto::to_string(reply->status) : "no answer from the catalog");
    return;
  }
  for (const auto& t : reply->unconfirmed) {
    if (auto found = index_.find(t.request_id)) {
      // Its order is in the log, below this term's first (committed) entry: committed.
      if (found->index <= core_.commit_index()) trades_.confirm(t.request_id, now_ms_);
      continue;
    }
    // Applied at the catalog, no order anywhere: roll forward. The client asked for exactly this
    // trade and a retry of its request id will find the order.
    std::uint64_t index = 0;
    if (core_.propose(order_entry(t), index) != raft::ProposeOutcome::kAccepted) return;
    index_.note_proposed(t.request_id, index);
    ++rolled_forward_;
    spdlog::info("replica {} (term {}): order for unconfirmed trade {} rolled forward", core_.id(),
                 term, t.request_id);
  }
  if (auto next = reconciler_.next(*reply, now_ms)) {
    out_.reconcile = std::move(*next);
    return;
  }
  phase_ = LeaderPhase::kServing;
  spdlog::info("replica {} serves term {} ({} order(s) rolled forward so far)", core_.id(), term,
               rolled_forward_);
}

bool Replica::forward(std::uint64_t token, std::string_view request, proto::MessageType type,
                      std::uint64_t now_ms) {
  if (!options_.forward || !core_.hears_leader(now_ms) ||
      forwarded_.size() >= options_.max_pending || request.size() > proto::kMaxForwardedBytes) {
    return false;
  }
  const std::uint64_t ticket = next_ticket_++;
  const std::int32_t leader = core_.leader_id();
  forwarded_[ticket] = {token, type, leader, now_ms + options_.trade_timeout_ms};
  out_.peers.emplace_back(
      static_cast<std::uint32_t>(leader),
      proto::encode(proto::ForwardRequest{
          .from = core_.id(), .ticket = ticket, .request = std::string(request)}));
  return true;
}

void Replica::on_forward_request(const proto::ForwardRequest& m, std::uint64_t now_ms) {
  if (forwarded_in_.size() >= 2 * options_.max_pending) return;  // the follower's deadline answers
  const std::uint64_t token = next_forwarded_token_++;
  forwarded_in_[token] = {m.from, m.ticket};
  handle_client(token, m.request, now_ms, false);  // answered here, never forwarded on
}

void Replica::on_forward_reply(const proto::ForwardReply& m) {
  auto it = forwarded_.find(m.ticket);
  if (it == forwarded_.end()) return;  // answered already (deadline, change of leader)
  out_.replies.emplace_back(it->second.token, m.reply);
  forwarded_.erase(it);
}

void Replica::expire_forwards(std::uint64_t now_ms) {
  for (auto it = forwarded_.begin(); it != forwarded_.end();) {
    const Forwarded& f = it->second;
    const bool moved = core_.leader_id() != f.leader;
    if (!moved && now_ms < f.deadline_ms) {
      ++it;
      continue;
    }
    // The client's next attempt goes to the new leader (or, with no answer in time, anywhere).
    const proto::Status status = moved ? proto::Status::kNotLeader : proto::Status::kUnavailable;
    if (f.type == proto::MessageType::kPlaceOrderRequest) {
      proto::PlaceOrderReply r;
      r.status = status;
      r.leader_hint = core_.leader_id();
      r.message = moved ? "leader changed" : "the leader did not answer in time";
      out_.replies.emplace_back(f.token, proto::encode(r));
    } else {
      proto::GetOrderReply r;
      r.status = status;
      out_.replies.emplace_back(f.token, proto::encode(r));
    }
    it = forwarded_.erase(it);
  }
}

std::optional<std::uint32_t> Replica::on_peer(std::string_view message, std::uint64_t now_ms) {
  const auto env = proto::open_envelope(message);
  if (!env) {
    now_ms_ = now_ms;
    spdlog::warn("dropping an undecodable peer message ({} bytes)", message.size());
    return std::nullopt;
  }
  return on_peer(*env, now_ms);
}

std::optional<std::uint32_t> Replica::on_peer(const proto::Envelope& env, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  if (env.type == proto::MessageType::kForwardRequest) {
    if (auto m = proto::decode_body<proto::ForwardRequest>(env)) on_forward_request(*m, now_ms);
    return std::nullopt;
  }
  if (env.type == proto::MessageType::kForwardReply) {
    if (auto m = proto::decode_body<proto::ForwardReply>(env)) on_forward_reply(*m);
    return std::nullopt;
  }
  auto m = decode_peer(env);
  if (!m) {
    spdlog::warn("dropping an undecodable peer message (type {})", proto::to_string(env.type));
    return std::nullopt;
  }
  core_.receive(*m, now_ms);
  return sender(*m);
}

void Replica::on_catalog_probe(bool answered, std::uint64_t now_ms) {
  now_ms_ = now_ms;
  catalog_misses_ = answered ? 0 : catalog_misses_ + 1;
  const bool healthy = catalog_misses_ < options_.catalog_misses_unhealthy;
  if (healthy == core_.healthy()) return;
  core_.set_healthy(healthy, now_ms);
  if (healthy) {
    spdlog::info("replica {}: the catalog answers again", core_.id());
  } else {
    spdlog::warn("replica {}: the catalog does not answer ({} probes){}", core_.id(),
                 catalog_misses_,
                 core_.role() == raft::RaftRole::kLeader
                     ? "; office goes to a follower that reaches it, if one does"
                     : "");
  }
}

void Replica::tick(std::uint64_t now_ms) {
  now_ms_ = now_ms;
  core_.tick(now_ms);
  if (phase_ == LeaderPhase::kReconciling) {
    if (auto again = reconciler_.due(now_ms)) out_.reconcile = std::move(*again);
  }
  proto::PlaceOrderReply late;
  late.status = proto::Status::kUnavailable;
  late.message = "catalog did not answer in time";
  for (const auto& pending : trades_.expire_orders(now_ms)) answer(pending, late);
  expire_forwards(now_ms);
  std::erase_if(reads_, [&](const PendingRead& read) {
    if (now_ms < read.deadline_ms) return false;
    proto::GetOrderReply r;
    r.status = proto::Status::kUnavailable;  // office not confirmed in time: retry
    out_.replies.emplace_back(read.token, proto::encode(r));
    return true;
  });
  for (const auto& [batch, trades] : trades_.doubt_overdue(now_ms)) {
    spdlog::warn("replica {} (term {}): trade batch {} ({} trades) unanswered: in doubt",
                 core_.id(), core_.term(), batch, trades);
  }
}

void Replica::fail_all(proto::Status status, const std::string& message) {
  proto::PlaceOrderReply r;
  r.status = status;
  r.leader_hint = core_.leader_id();
  r.message = message;
  for (auto token : committing_.take_all()) reply(token, r);
  for (const auto& pending : trades_.drop_all()) answer(pending, r);
  for (const auto& [id, pending] : parked_) answer(pending, r);
  parked_.clear();
  waiting_ = 0;
}

void Replica::flush() {
  serve_reads();  // before take_ready(): a new confirmation round leaves with this Ready
  if (!forwarded_.empty()) expire_forwards(now_ms_);
  const raft::Ready ready = core_.take_ready();
  const std::vector<OrderIndex::Committed> committed = index_.persist(ready);
  core_.advance();
  for (const auto& m : ready.messages) out_.peers.emplace_back(m.to, encode_peer(m.message));
  // Clients waiting on an order that just committed get its number.
  for (const auto& c : committed) {
    const std::vector<std::uint64_t> tokens = committing_.take(c.index);
    if (tokens.empty()) continue;
    proto::PlaceOrderReply r;
    r.order_number = c.number;
    for (auto token : tokens) reply(token, r);
    waiting_ -= tokens.size();
  }
  // Also after an empty Ready: a leader can step down (check-quorum) without a new term.
  follow_leadership(committed);
  answer_membership();
  if (core_.transfer_target() != transfer_logged_) {
    transfer_logged_ = core_.transfer_target();
    if (transfer_logged_) {
      spdlog::info("replica {} (term {}) hands office to replica {}, which is caught up",
                   core_.id(), core_.term(), *transfer_logged_);
    } else if (core_.role() == raft::RaftRole::kLeader) {
      spdlog::info("replica {} (term {}) keeps office: the leadership transfer was abandoned",
                   core_.id(), core_.term());
    }
  }
  propose_parked();
  if (core_.role() == raft::RaftRole::kLeader) {
    for (auto& b : trades_.take_batches(core_.term(), now_ms_, options_.trade_timeout_ms)) {
      out_.trade_batches.push_back(std::move(b));
    }
    for (auto& r : trades_.due_resolves(core_.term(), now_ms_, options_.reconcile_retry_ms)) {
      out_.resolves.push_back(std::move(r));
    }
  }
}

void Replica::follow_leadership(const std::vector<OrderIndex::Committed>& committed) {
  const bool leader = core_.role() == raft::RaftRole::kLeader;
  if (was_leader_ && !leader) {
    // Orders waiting here may still commit under the next leader; the client's retry with the
    // same request id finds them there.
    fail_all(proto::Status::kNotLeader, "leadership lost");
    phase_ = LeaderPhase::kNotLeader;
    reconciler_.stop();
    spdlog::info("replica {} is no longer leader (term {})", core_.id(), core_.term());
  } else if (!was_leader_ && leader) {
    phase_ = LeaderPhase::kAwaitingNoop;
    // Orders committed before this term are the reconciliation's business; from here on this
    // leader reports every commit itself.
    confirmed_through_ = core_.commit_index();
    spdlog::info("replica {} leads term {}", core_.id(), core_.term());
  }
  was_leader_ = leader;
  if (!leader) return;  // fail_all() dropped the trade pipeline when office ended
  for (const auto& c : committed) {
    if (c.index > confirmed_through_) trades_.confirm(c.request_id, now_ms_);
  }
  confirmed_through_ = std::max(confirmed_through_, core_.applied_index());
  const std::uint64_t commit = core_.commit_index();
  if (phase_ == LeaderPhase::kAwaitingNoop && commit > 0 && core_.term_at(commit) == core_.term()) {
    // The term's first entry committed, so every entry before it has: the log now holds every
    // committed order, and the catalog can be asked what is missing.
    phase_ = LeaderPhase::kReconciling;
    out_.reconcile = reconciler_.start(core_.term(), now_ms_);
  }
}

ReplicaOutputs Replica::take_outputs() {
  ReplicaOutputs out = std::move(out_);
  out_ = ReplicaOutputs{};
  // Replies to forwarded requests go back to the follower that forwarded them.
  std::erase_if(out.replies, [&](std::pair<std::uint64_t, std::string>& r) {
    if (r.first < kForwardedTokens) return false;
    auto it = forwarded_in_.find(r.first);
    if (it != forwarded_in_.end()) {
      out.peers.emplace_back(it->second.first,
                             proto::encode(proto::ForwardReply{.ticket = it->second.second,
                                                               .reply = std::move(r.second)}));
      forwarded_in_.erase(it);
    }
    return true;
  });
  return out;
}

// ---- queries ----------------------------------------------------------------------------------

std::optional<proto::GetOrderReply> Replica::read_order(std::int64_t number, bool confirmed) const {
  proto::GetOrderReply r;
  const std::int64_t numbered = index_.committed_orders();
  if (number >= 0 && number < numbered) {
    if (auto e = index_.committed(number)) {
      r.order = {e->order_number, e->name, e->side, e->quantity, e->request_id};
      return r;
    }
  }
  // Orders past the numbered ones are in the log not yet known committed (or committed and
  // numbered with the next flush): they may well have been acknowledged.
  const bool held =
      number >= 0 && number < numbered + static_cast<std::int64_t>(index_.unnumbered());
  const bool leader = core_.role() == raft::RaftRole::kLeader;
  if (!leader) {
    // A follower may just be behind, or not know yet that what it holds committed.
    r.status = proto::Status::kNotLeader;
    return r;
  }
  if (held || phase_ == LeaderPhase::kAwaitingNoop) {
    // In the log but not known committed (an order of an earlier term waits for this term's
    // first commit, one of this term for its majority): it may well have been acknowledged.
    r.status = proto::Status::kUnavailable;
    return r;
  }
  if (!confirmed) return std::nullopt;
  r.status = proto::Status::kNotFound;
  return r;
}

void Replica::serve_reads() {
  if (reads_.empty()) return;
  std::uint64_t round = 0;  // one new round for every read that has none
  std::erase_if(reads_, [&](PendingRead& read) {
    const bool leader = core_.role() == raft::RaftRole::kLeader;
    if (leader && read.round == 0) {
      if (round == 0) round = core_.confirm_leadership();
      read.round = round;
    }
    if (leader && core_.confirmed_round() < read.round) return false;
    // Off office this is "not leader"; confirmed, it is the log's answer.
    out_.replies.emplace_back(read.token, proto::encode(*read_order(read.number, leader)));
    return true;
  });
}

proto::StatusReply Replica::status() const {
  proto::StatusReply st;
  st.service = "order";
  st.id = core_.id();
  // "joining" until caught up: a follower that does not yet count as a voter.
  // "learner" while the configuration in force does not count it (a new replica catching up),
  // "removed" once it is not in the configuration at all.
  st.role = core_.joining()                            ? "joining"
            : !core_.membership().contains(core_.id()) ? "removed"
            : core_.learner()                          ? "learner"
                                                       : to_string(core_.role());
  st.term = core_.term();
  st.leader_id = core_.leader_id();
  st.log_size = static_cast<std::uint64_t>(committed_orders());
  st.commit_index = core_.commit_index();
  st.last_index = core_.last_index();
  return st;
}

}  // namespace bazaar::order
