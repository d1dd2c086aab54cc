#include "frontend/order_placement.h"

#include <algorithm>

#include "common/rpc_client.h"
#include "frontend/service_role.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {

namespace {

template <class Rep>
common::CallResult<Rep> judge_bytes(std::string_view body, bool timed_out) {
  if (!timed_out) return common::decode_reply<Rep>(body);
  common::CallResult<Rep> r;
  r.outcome = common::CallOutcome::kTimeout;
  r.error = common::to_string(r.outcome);
  return r;
}

bool is_transport_failure(common::CallOutcome o) {
  // No usable answer from this replica: it may be down, slow, or not an order replica at all.
  return o == common::CallOutcome::kTimeout || o == common::CallOutcome::kBadReply;
}

std::string within(std::string_view what, std::chrono::milliseconds request) {
  std::string s(what);
  s += " within ";
  s += std::to_string(request.count());
  s += " ms";
  return s;
}

}  // namespace

OrderPlacement::OrderPlacement(CallTimeouts timeouts, LeaderTracker& tracker, Metrics* metrics)
    : timeouts_(timeouts),
      tracker_(tracker),
      metrics_(metrics),
      status_body_(proto::encode(proto::StatusRequest{})),
      replica_state_(proto::kMaxReplicaId) {}

// ---- requests -------------------------------------------------------------------------------

std::uint64_t OrderPlacement::place(std::string body, Clock::time_point deadline,
                                    Clock::time_point now, OrderEffects& out) {
  return admit(Request{.kind = Kind::kPlace, .body = std::move(body), .deadline = deadline}, now,
               out);
}

std::uint64_t OrderPlacement::get(std::int64_t number, Clock::time_point deadline,
                                  Clock::time_point now, OrderEffects& out) {
  return admit(Request{.kind = Kind::kGet,
                       .body = proto::encode(proto::GetOrderRequest{number}),
                       .number = number,
                       .deadline = deadline},
               now, out);
}

std::uint64_t OrderPlacement::find_leader(Clock::time_point deadline, Clock::time_point now,
                                          OrderEffects& out) {
  return admit(Request{.kind = Kind::kFindLeader, .deadline = deadline}, now, out);
}

std::uint64_t OrderPlacement::admit(Request request, Clock::time_point now, OrderEffects& out) {
  const std::uint64_t key = next_key_++;
  Request& r = requests_.emplace(key, std::move(request)).first->second;
  restart(key, r, now, out);
  return key;
}

void OrderPlacement::restart(std::uint64_t key, Request& r, Clock::time_point now,
                             OrderEffects& out) {
  if (now >= r.deadline) {
    deadline_passed(key, r, out);
    return;
  }
  switch (r.kind) {
    case Kind::kPlace:
      route_place(key, r, -1, now, out);
      return;
    case Kind::kGet:
      start_get_round(key, r, now, out);
      return;
    case Kind::kFindLeader:
      if (tracker_.routable_leader(now) >= 1) {
        answer(key, FindLeaderResult{.leader = tracker_.leader()}, out);
      } else {
        wait_for_leader(key, r, now, out);
      }
      return;
  }
}

void OrderPlacement::deadline_passed(std::uint64_t key, Request& r, OrderEffects& out) {
  switch (r.kind) {
    case Kind::kPlace:
      answer(key,
             PlaceOrderResult{.status = proto::Status::kUnavailable,
                              .message = within(r.last_problem, timeouts_.request)},
             out);
      return;
    case Kind::kGet:
      answer(key,
             GetOrderResult{.status = proto::Status::kUnavailable,
                            .message = within("no order replica answered", timeouts_.request)},
             out);
      return;
    case Kind::kFindLeader:
      answer(key, FindLeaderResult{}, out);
      return;
  }
}

void OrderPlacement::send(std::uint64_t key, Request& r, std::uint32_t target,
                          std::string_view body, Clock::time_point now, OrderEffects& out) {
  if (++r.tries > 1 && metrics_ != nullptr) metrics_->count_retry();
  const std::uint64_t attempt = next_attempt_++;
  attempts_.emplace(attempt, key);
  r.stage = Stage::kSent;
  r.replica = target;
  r.attempt = attempt;
  Replica& rep = replica_state_[target - 1];
  // A replica nobody waited on was not silent, just idle: its silence counts from now.
  if (rep.outstanding == 0) rep.last_heard = now;
  ++rep.outstanding;
  out.sends.push_back({.replica = target, .attempt = attempt, .body = std::string(body)});
  // Each attempt is capped so one dead leader cannot use the whole budget.
  arm(key, r.timer,
      now + std::clamp<Clock::duration>(r.deadline - now, std::chrono::milliseconds(1),
                                        timeouts_.attempt));
}

void OrderPlacement::settle(Request& r) {
  if (r.attempt == 0) return;
  attempts_.erase(r.attempt);
  r.attempt = 0;
  Replica& rep = replica_state_[r.replica - 1];
  if (rep.outstanding > 0) --rep.outstanding;
}

void OrderPlacement::arm(std::uint64_t key, Clock::time_point& slot, Clock::time_point at) {
  timers_.erase({slot, key});
  slot = at;
  timers_.emplace(at, key);
}

void OrderPlacement::answer(std::uint64_t key, OrderEffects::Answer::Result result,
                            OrderEffects& out) {
  const auto it = requests_.find(key);
  if (it == requests_.end()) return;
  Request& r = it->second;
  timers_.erase({r.timer, key});
  settle(r);
  requests_.erase(it);
  out.answers.push_back({.key = key, .result = std::move(result)});
}

void OrderPlacement::pause(std::uint64_t key, Request& r, Clock::time_point now,
                           OrderEffects& out) {
  if (now >= r.deadline) {
    deadline_passed(key, r, out);
    return;
  }
  r.stage = Stage::kPaused;
  arm(key, r.timer, now + std::min<Clock::duration>(timeouts_.backoff, r.deadline - now));
}

void OrderPlacement::wait_for_leader(std::uint64_t key, Request& r, Clock::time_point now,
                                     OrderEffects& out) {
  r.stage = Stage::kWaiting;
  arm(key, r.timer, r.deadline);
  // Requests that expired while waiting leave their key behind until the next probe; keep the
  // list within twice the number in flight even if a probe takes long (pruning then frees at
  // least half of it, so its cost is spread over as many requests).
  if (waiting_.size() >= 2 * requests_.size()) prune_waiting();
  waiting_.push_back(key);
  if (!discovery_.active) start_discovery(now, out);
}

// ---- placing an order -----------------------------------------------------------------------

void OrderPlacement::route_place(std::uint64_t key, Request& r, std::int32_t target,
                                 Clock::time_point now, OrderEffects& out) {
  if (now >= r.deadline) {
    deadline_passed(key, r, out);
    return;
  }
  if (target < 1) target = tracker_.routable_leader(now);
  if (target < 1) {
    // The known leader is suspect: this front end may be cut off from it while a follower is
    // not, and a follower that hears its leader forwards the order (and its answer, or its
    // hint, says where the leader is).
    target = tracker_.relay(now);
  }
  if (target >= 1) {
    send(key, r, static_cast<std::uint32_t>(target), r.body, now, out);
    return;
  }
  wait_for_leader(key, r, now, out);
}

void OrderPlacement::on_place_reply(std::uint64_t key, Request& r, std::string_view body,
                                    bool timed_out, Clock::time_point now, OrderEffects& out) {
  const std::uint32_t target = r.replica;
  const auto result = judge_bytes<proto::PlaceOrderReply>(body, timed_out);
  if (!result.ok()) {
    if (is_transport_failure(result.outcome)) {
      // Suspect: the next attempt goes to the leader found by probing, or through a follower.
      tracker_.note_timeout(target, now);
      route_place(key, r, -1, now, out);
      return;
    }
    // kRejected: the replica could not decode our request. Retrying cannot help.
    answer(key,
           PlaceOrderResult{.status = proto::Status::kInternal,
                            .message = "order replica rejected the request: " + result.error},
           out);
    return;
  }
  const proto::PlaceOrderReply& rep = result.reply;
  switch (rep.status) {
    case proto::Status::kOk:
      // Placed by the replica asked, or (relayed through a follower that forwarded it) by the
      // leader the reply names: the follower then is no leader, and the leader this front end
      // cannot reach stays suspect, so the next order goes through the follower again.
      if (rep.leader_hint < 1 || rep.leader_hint == static_cast<std::int32_t>(target)) {
        tracker_.note_accepted(target);
      }
      answer(key, PlaceOrderResult{.status = proto::Status::kOk, .order_number = rep.order_number},
             out);
      return;
    case proto::Status::kNotLeader:
      tracker_.note_not_leader(target);
      if (rep.leader_hint >= 1 && tracker_.known(static_cast<std::uint32_t>(rep.leader_hint)) &&
          rep.leader_hint != static_cast<std::int32_t>(target) &&
          !tracker_.suspect(static_cast<std::uint32_t>(rep.leader_hint), now) &&
          ++r.hops <= tracker_.replicas()) {
        route_place(key, r, rep.leader_hint, now, out);
      } else {
        // No useful hint (an election is probably under way), or replicas pointing at each
        // other with stale hints: wait a little instead of spinning.
        r.hops = 0;
        pause(key, r, now, out);
      }
      return;
    case proto::Status::kUnavailable:
      // The leader cannot reach a majority or the catalog right now; nothing was done.
      r.last_problem = rep.message.empty() ? "order service unavailable" : rep.message;
      pause(key, r, now, out);
      return;
    default:  // a final refusal: kInsufficient, kUnknownItem, kConflict, ...
      answer(key, PlaceOrderResult{.status = rep.status, .message = rep.message}, out);
      return;
  }
}

// ---- reading an order -----------------------------------------------------------------------

void OrderPlacement::start_get_round(std::uint64_t key, Request& r, Clock::time_point now,
                                     OrderEffects& out) {
  r.round.clear();
  r.next = 0;
  r.not_found = false;
  r.round_leader = tracker_.routable_leader(now);
  if (r.round_leader >= 1) r.round.push_back(static_cast<std::uint32_t>(r.round_leader));
  const std::vector<std::uint32_t> ids = tracker_.known_ids();
  for (const std::uint32_t id : ids) {
    if (static_cast<std::int32_t>(id) != r.round_leader && !tracker_.suspect(id, now)) {
      r.round.push_back(id);
    }
  }
  if (r.round.empty()) r.round = ids;  // everyone is suspect: try them all anyway
  next_get(key, r, now, out);
}

void OrderPlacement::next_get(std::uint64_t key, Request& r, Clock::time_point now,
                              OrderEffects& out) {
  if (now >= r.deadline) {
    // A follower's "not found" with nobody asked after it: it is the best answer there is.
    if (r.not_found) {
      answer(key, GetOrderResult{.status = proto::Status::kNotFound}, out);
    } else {
      deadline_passed(key, r, out);
    }
    return;
  }
  if (r.next < r.round.size()) {
    send(key, r, r.round[r.next++], r.body, now, out);
    return;
  }
  if (r.not_found) {
    answer(key, GetOrderResult{.status = proto::Status::kNotFound}, out);
    return;
  }
  pause(key, r, now, out);
}

void OrderPlacement::on_get_reply(std::uint64_t key, Request& r, std::string_view body,
                                  bool timed_out, Clock::time_point now, OrderEffects& out) {
  const std::uint32_t id = r.replica;
  const auto result = judge_bytes<proto::GetOrderReply>(body, timed_out);
  if (!result.ok()) {
    if (is_transport_failure(result.outcome)) {
      tracker_.note_timeout(id, now);
      next_get(key, r, now, out);
      return;
    }
    answer(key,
           GetOrderResult{.status = proto::Status::kInternal,
                          .message = "order replica rejected the request: " + result.error},
           out);
    return;
  }
  switch (result.reply.status) {
    case proto::Status::kOk:
      answer(key, GetOrderResult{.status = proto::Status::kOk, .order = result.reply.order}, out);
      return;
    case proto::Status::kNotFound:
      // The leader holds every committed order: its "not found" is final. A follower may just
      // be behind, so ask the others first.
      if (static_cast<std::int32_t>(id) == r.round_leader) {
        answer(key, GetOrderResult{.status = proto::Status::kNotFound}, out);
        return;
      }
      r.not_found = true;
      next_get(key, r, now, out);
      return;
    case proto::Status::kNotLeader:
    case proto::Status::kUnavailable:
      next_get(key, r, now, out);
      return;
    default:
      answer(key, GetOrderResult{.status = result.reply.status}, out);
      return;
  }
}

// ---- events ---------------------------------------------------------------------------------

void OrderPlacement::heard(std::uint32_t id, Clock::time_point now) {
  if (id >= 1 && id <= replica_state_.size()) replica_state_[id - 1].last_heard = now;
}

void OrderPlacement::on_malformed(std::uint32_t replica, Clock::time_point now) {
  heard(replica, now);
}

void OrderPlacement::on_reply(std::uint32_t replica, std::uint64_t attempt, std::string_view body,
                              Clock::time_point now, OrderEffects& out) {
  heard(replica, now);
  if (discovery_.active && discovery_.attempt != 0 && attempt == discovery_.attempt) {
    on_probe_reply(body, false, now, out);
    return;
  }
  const auto a = attempts_.find(attempt);
  if (a == attempts_.end()) return;  // given up on, answered already, or not ours
  const auto it = requests_.find(a->second);
  if (it == requests_.end()) return;
  const std::uint64_t key = it->first;
  Request& r = it->second;
  settle(r);
  if (r.kind == Kind::kPlace) {
    on_place_reply(key, r, body, false, now, out);
  } else {
    on_get_reply(key, r, body, false, now, out);
  }
}

void OrderPlacement::on_timeout(std::uint64_t key, Request& r, Clock::time_point now,
                                OrderEffects& out) {
  switch (r.stage) {
    case Stage::kSent:
      settle(r);
      on_silence(r.replica, now, out);
      if (r.kind == Kind::kPlace) {
        on_place_reply(key, r, {}, true, now, out);
      } else {
        on_get_reply(key, r, {}, true, now, out);
      }
      return;
    case Stage::kPaused:
      restart(key, r, now, out);
      return;
    case Stage::kWaiting:
      // Its deadline, with no leader found yet. Its key stays in waiting_ until the round ends.
      deadline_passed(key, r, out);
      return;
  }
}

void OrderPlacement::on_timers(Clock::time_point now, OrderEffects& out) {
  // Every handler arms its next timer strictly after `now`, so this loop ends.
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const std::uint64_t key = timers_.begin()->second;
    timers_.erase(timers_.begin());
    if (key == kDiscoveryKey) {
      if (discovery_.active && discovery_.attempt != 0) on_probe_reply({}, true, now, out);
      continue;
    }
    const auto it = requests_.find(key);
    if (it != requests_.end()) on_timeout(key, it->second, now, out);
  }
}

void OrderPlacement::on_silence(std::uint32_t id, Clock::time_point now, OrderEffects& out) {
  Replica& rep = replica_state_[id - 1];
  if (now - rep.last_heard < timeouts_.attempt) return;
  // Nothing heard for a whole attempt: the replica may be gone for good (killed, restarted on a
  // new connection, or wedged); what else is outstanding there times out like a lost attempt.
  out.reconnects.push_back(id);
  rep.last_heard = now;
}

std::optional<OrderPlacement::Clock::time_point> OrderPlacement::next_timer() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

std::vector<std::uint64_t> OrderPlacement::abandon_all() {
  std::vector<std::uint64_t> keys;
  keys.reserve(requests_.size());
  for (const auto& [key, r] : requests_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  requests_.clear();
  attempts_.clear();
  timers_.clear();
  waiting_.clear();
  discovery_ = Discovery{};
  for (auto& rep : replica_state_) rep.outstanding = 0;
  return keys;
}

// ---- leader discovery -----------------------------------------------------------------------

void OrderPlacement::start_discovery(Clock::time_point now, OrderEffects& out) {
  discovery_.active = true;
  discovery_.order.clear();
  // Replicas not suspect first, then the suspect ones, each highest id first (the election
  // favours it; a replica that just timed out is likely dead).
  const std::vector<std::uint32_t> ids = tracker_.known_ids();
  for (const std::uint32_t id : ids) {
    if (!tracker_.suspect(id, now)) discovery_.order.push_back(id);
  }
  for (const std::uint32_t id : ids) {
    if (tracker_.suspect(id, now)) discovery_.order.push_back(id);
  }
  discovery_.next = 0;
  discovery_.named = -1;
  next_probe(now, out);
}

void OrderPlacement::prune_waiting() {
  std::erase_if(waiting_, [&](std::uint64_t key) {
    const auto it = requests_.find(key);
    return it == requests_.end() || it->second.stage != Stage::kWaiting;
  });
}

void OrderPlacement::next_probe(Clock::time_point now, OrderEffects& out) {
  // Requests that reached their deadline meanwhile no longer wait; with nobody left, stop.
  prune_waiting();
  if (waiting_.empty()) {
    discovery_.active = false;
    discovery_.attempt = 0;
    timers_.erase({discovery_.timer, kDiscoveryKey});
    return;
  }
  if (discovery_.next >= discovery_.order.size()) {
    end_discovery(discovery_.named, now, out);
    return;
  }
  const std::uint32_t id = discovery_.order[discovery_.next++];
  discovery_.replica = id;
  discovery_.attempt = next_attempt_++;
  Replica& rep = replica_state_[id - 1];
  if (rep.outstanding == 0) rep.last_heard = now;
  ++rep.outstanding;
  out.sends.push_back({.replica = id, .attempt = discovery_.attempt, .body = status_body_});
  arm(kDiscoveryKey, discovery_.timer, now + timeouts_.probe);
}

void OrderPlacement::on_probe_reply(std::string_view body, bool timed_out, Clock::time_point now,
                                    OrderEffects& out) {
  timers_.erase({discovery_.timer, kDiscoveryKey});
  discovery_.attempt = 0;
  const std::uint32_t id = discovery_.replica;
  Replica& rep = replica_state_[id - 1];
  if (rep.outstanding > 0) --rep.outstanding;
  if (timed_out) on_silence(id, now, out);
  const auto r = judge_bytes<proto::StatusReply>(body, timed_out);
  if (!r.ok()) {
    tracker_.note_timeout(id, now);
  } else if (role_of(r.reply.role) == ServiceRole::kLeader) {
    // A leader of an older term than the known leader's is deposed: it cannot commit.
    if (tracker_.note_leader(id, r.reply.term)) {
      end_discovery(static_cast<std::int32_t>(id), now, out);
      return;
    }
  } else {
    const std::int32_t hint = r.reply.leader_id;
    if (discovery_.named < 0 && hint >= 1 && tracker_.known(static_cast<std::uint32_t>(hint)) &&
        !tracker_.suspect(static_cast<std::uint32_t>(hint), now)) {
      discovery_.named = hint;
    } else if (discovery_.named < 0 && hint >= 1 &&
               !tracker_.known(static_cast<std::uint32_t>(hint))) {
      // It follows a leader added after this front end started (docs/REPLICATION.md,
      // "Membership") that it has no socket for yet (none until the leader's announcement
      // reaches it): the follower forwards what it is sent.
      discovery_.named = static_cast<std::int32_t>(id);
    }
  }
  next_probe(now, out);
}

void OrderPlacement::end_discovery(std::int32_t target, Clock::time_point now, OrderEffects& out) {
  discovery_.active = false;
  discovery_.attempt = 0;
  std::vector<std::uint64_t> waiting;
  waiting.swap(waiting_);
  for (const std::uint64_t key : waiting) {
    const auto it = requests_.find(key);
    if (it == requests_.end() || it->second.stage != Stage::kWaiting) continue;
    Request& r = it->second;
    if (r.kind == Kind::kFindLeader) {
      // Only a replica that calls itself leader counts here; a follower's hint is not proof.
      const auto leader = tracker_.leader();
      const bool found = target >= 1 && leader && leader->id == static_cast<std::uint32_t>(target);
      answer(key, FindLeaderResult{.leader = found ? leader : std::nullopt}, out);
    } else if (target >= 1) {
      route_place(key, r, target, now, out);
    } else {
      pause(key, r, now, out);  // then route again, which may start the next round
    }
  }
}

}  // namespace bazaar::frontend
