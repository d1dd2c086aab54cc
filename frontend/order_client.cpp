#include "frontend/order_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace bazaar::frontend {

namespace {

bool is_transport_failure(common::CallOutcome o) {
  // No usable answer from this replica: it may be down, slow, or not an order replica at all.
  return o == common::CallOutcome::kTimeout || o == common::CallOutcome::kBadReply;
}

}  // namespace

void count_attempt(std::uint32_t& tries, Metrics* metrics) {
  if (++tries > 1 && metrics != nullptr) metrics->count_retry();
}

PlaceStep judge_place_attempt(LeaderTracker& tracker, std::uint32_t replicas, std::uint32_t target,
                              const common::CallResult<proto::PlaceOrderReply>& r,
                              PlaceProgress& progress, LeaderTracker::Clock::time_point now) {
  PlaceStep step;
  if (!r.ok()) {
    if (is_transport_failure(r.outcome)) {
      tracker.note_timeout(target, now);
      step.next = PlaceStep::Next::kRetry;
      return step;
    }
    // kRejected: the replica could not decode our request. Retrying cannot help.
    step.next = PlaceStep::Next::kAnswer;
    step.result = {proto::Status::kInternal, -1, "order replica rejected the request: " + r.error};
    return step;
  }
  const proto::PlaceOrderReply& rep = r.reply;
  switch (rep.status) {
    case proto::Status::kOk:
      tracker.note_accepted(target);
      step.next = PlaceStep::Next::kAnswer;
      step.result = {proto::Status::kOk, rep.order_number, {}};
      return step;
    case proto::Status::kNotLeader:
      tracker.note_not_leader(target);
      if (rep.leader_hint >= 1 && static_cast<std::uint32_t>(rep.leader_hint) <= replicas &&
          rep.leader_hint != static_cast<std::int32_t>(target) &&
          !tracker.suspect(static_cast<std::uint32_t>(rep.leader_hint), now) &&
          ++progress.hops <= replicas) {
        step.next = PlaceStep::Next::kRetry;
        step.target = rep.leader_hint;
      } else {
        // No useful hint (an election is probably under way), or replicas pointing at each
        // other with stale hints: wait a little instead of spinning.
        progress.hops = 0;
        step.next = PlaceStep::Next::kPause;
      }
      return step;
    case proto::Status::kUnavailable:
      // The leader cannot reach a majority or the catalog right now; nothing was done.
      progress.last_problem = rep.message.empty() ? "order service unavailable" : rep.message;
      step.next = PlaceStep::Next::kPause;
      return step;
    default:
      step.next = PlaceStep::Next::kAnswer;
      step.result = {rep.status, -1, rep.message};
      return step;
  }
}

PlaceOrderResult place_deadline_result(const PlaceProgress& progress,
                                       std::chrono::milliseconds request) {
  return {proto::Status::kUnavailable, -1,
          progress.last_problem + " within " + std::to_string(request.count()) + " ms"};
}

std::vector<std::uint32_t> probe_order(const LeaderTracker& tracker, std::uint32_t replicas,
                                       LeaderTracker::Clock::time_point now) {
  std::vector<std::uint32_t> order;
  order.reserve(replicas);
  for (std::uint32_t id = replicas; id >= 1; --id) {
    if (!tracker.suspect(id, now)) order.push_back(id);
  }
  for (std::uint32_t id = replicas; id >= 1; --id) {
    if (tracker.suspect(id, now)) order.push_back(id);
  }
  return order;
}

ProbeVerdict judge_probe(LeaderTracker& tracker, std::uint32_t replicas, std::uint32_t id,
                         const common::CallResult<proto::StatusReply>& r,
                         LeaderTracker::Clock::time_point now) {
  ProbeVerdict v;
  if (!r.ok()) {
    tracker.note_timeout(id, now);
    return v;
  }
  if (r.reply.role == "leader") {
    // A leader of an older term than the known leader's is deposed: it cannot commit.
    if (tracker.note_leader(id, r.reply.term)) v.leader = static_cast<std::int32_t>(id);
    return v;
  }
  const std::int32_t hint = r.reply.leader_id;
  if (hint >= 1 && static_cast<std::uint32_t>(hint) <= replicas &&
      !tracker.suspect(static_cast<std::uint32_t>(hint), now)) {
    v.named = hint;
  }
  return v;
}

OrderClient::OrderClient(OrderTransport& transport, LeaderTracker& tracker, CallTimeouts timeouts,
                         Metrics* metrics)
    : transport_(transport), tracker_(tracker), timeouts_(timeouts), metrics_(metrics) {}

void OrderClient::count_attempt(std::uint32_t& tries) {
  ++attempts_;
  frontend::count_attempt(tries, metrics_);
}

std::chrono::milliseconds OrderClient::slice(std::chrono::milliseconds cap,
                                             Clock::time_point deadline) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(std::chrono::milliseconds(1), std::min(cap, left));
}

void OrderClient::pause(Clock::time_point deadline) const {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return;
  std::this_thread::sleep_for(std::min<Clock::duration>(timeouts_.backoff, left));
}

std::int32_t OrderClient::discover(Clock::time_point deadline) {
  const std::uint32_t n = transport_.replicas();
  std::int32_t named = -1;
  for (std::uint32_t id : probe_order(tracker_, n, Clock::now())) {
    if (Clock::now() >= deadline) break;
    const ProbeVerdict v = judge_probe(
        tracker_, n, id, transport_.status(id, slice(timeouts_.probe, deadline)), Clock::now());
    if (v.leader >= 1) return v.leader;
    if (named < 0) named = v.named;
  }
  return named;
}

std::int32_t OrderClient::find_leader(std::chrono::milliseconds budget) {
  const auto now = Clock::now();
  const std::int32_t known = tracker_.routable_leader(now);
  if (known >= 1) return known;
  const auto deadline = now + budget;
  // Only a replica that calls itself leader counts here; a follower's hint is not proof.
  const std::int32_t found = discover(deadline);
  if (found >= 1 && tracker_.leader() &&
      tracker_.leader()->id == static_cast<std::uint32_t>(found)) {
    return found;
  }
  return -1;
}

PlaceOrderResult OrderClient::place(const proto::PlaceOrderRequest& request) {
  const auto deadline = Clock::now() + timeouts_.request;
  const std::uint32_t n = transport_.replicas();
  std::int32_t hint = -1;
  PlaceProgress progress;
  while (Clock::now() < deadline) {
    std::int32_t target = hint;
    hint = -1;
    if (target < 1) target = tracker_.routable_leader(Clock::now());
    if (target < 1) target = discover(deadline);
    if (target < 1) {
      pause(deadline);
      continue;
    }
    const auto id = static_cast<std::uint32_t>(target);
    count_attempt(progress.tries);
    auto r = transport_.place(id, request, slice(timeouts_.attempt, deadline));
    if (!r.ok()) spdlog::debug("order {}: replica {} {}", request.request_id, id, r.error);
    PlaceStep step = judge_place_attempt(tracker_, n, id, r, progress, Clock::now());
    switch (step.next) {
      case PlaceStep::Next::kAnswer:
        return std::move(step.result);
      case PlaceStep::Next::kRetry:
        hint = step.target;
        continue;
      case PlaceStep::Next::kPause:
        pause(deadline);
        continue;
    }
  }
  return place_deadline_result(progress, timeouts_.request);
}

GetOrderResult OrderClient::get(std::int64_t number) {
  const auto deadline = Clock::now() + timeouts_.request;
  const std::uint32_t n = transport_.replicas();
  const proto::GetOrderRequest request{number};
  std::uint32_t tries = 0;
  while (Clock::now() < deadline) {
    const auto now = Clock::now();
    const std::int32_t leader = tracker_.routable_leader(now);
    std::vector<std::uint32_t> order;
    if (leader >= 1) order.push_back(static_cast<std::uint32_t>(leader));
    for (std::uint32_t id = n; id >= 1; --id) {
      if (static_cast<std::int32_t>(id) != leader && !tracker_.suspect(id, now)) {
        order.push_back(id);
      }
    }
    if (order.empty()) {  // everyone is suspect: try them all anyway
      for (std::uint32_t id = n; id >= 1; --id) order.push_back(id);
    }
    bool not_found = false;
    for (std::uint32_t id : order) {
      if (Clock::now() >= deadline) break;
      count_attempt(tries);
      auto r = transport_.get(id, request, slice(timeouts_.attempt, deadline));
      if (!r.ok()) {
        if (is_transport_failure(r.outcome)) {
          tracker_.note_timeout(id, Clock::now());
          continue;
        }
        return {proto::Status::kInternal, {}, "order replica rejected the request: " + r.error};
      }
      switch (r.reply.status) {
        case proto::Status::kOk:
          return {proto::Status::kOk, r.reply.order, {}};
        case proto::Status::kNotFound:
          // The leader holds every committed order: its "not found" is final. A follower may
          // just be behind, so ask the others first.
          if (static_cast<std::int32_t>(id) == leader) return {proto::Status::kNotFound, {}, {}};
          not_found = true;
          continue;
        case proto::Status::kNotLeader:
        case proto::Status::kUnavailable:
          continue;
        default:
          return {r.reply.status, {}, {}};
      }
    }
    if (not_found) return {proto::Status::kNotFound, {}, {}};
    pause(deadline);
  }
  return {proto::Status::kUnavailable,
          {},
          "no order replica answered within " + std::to_string(timeouts_.request.count()) + " ms"};
}

}  // namespace bazaar::frontend
