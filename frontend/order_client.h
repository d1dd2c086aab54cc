// Places and reads orders on the replicated order service, finding the leader and riding out
// fail-overs within one request deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/backend.h"
#include "frontend/leader_tracker.h"
#include "frontend/metrics.h"
#include "frontend/order_transport.h"

namespace bazaar::frontend {

/// Deadlines of the bridge's calls.
struct CallTimeouts {
  /// Whole budget of one HTTP request, retries included (--request-timeout).
  std::chrono::milliseconds request{3000};
  /// One attempt at one replica or the catalog. Short enough that a dead leader costs little
  /// of the budget (a SIGKILLed peer just never answers a REQ); long enough for a loaded one.
  std::chrono::milliseconds attempt{500};
  /// One StatusRequest while looking for the leader.
  std::chrono::milliseconds probe{200};
  /// Pause between rounds when no replica can take the order right now (election under way).
  std::chrono::milliseconds backoff{50};
};

// ---- the retry policy's pieces, shared by OrderClient (blocking, one order at a time) and
// OrderLink (one thread, many orders in flight), so both follow exactly one policy ----------

/// What one order has been through so far, across its attempts.
struct PlaceProgress {
  std::uint32_t tries = 0;  // attempts sent (the first is not a retry)
  std::uint32_t hops = 0;   // kNotLeader hints followed in a row without a pause
  std::string last_problem = "no order leader answered";  // for the final kUnavailable
};

/// What to do after one attempt at placing an order.
struct PlaceStep {
  enum class Next : std::uint8_t {
    kAnswer,  // `result` is final
    kRetry,   // try again now: at `target` when >= 1, else at the routable leader or one found
    kPause,   // wait CallTimeouts::backoff, then try again like kRetry without a target
  };
  Next next = Next::kRetry;
  std::int32_t target = -1;  // kRetry: a replica named by a kNotLeader hint
  PlaceOrderResult result;   // kAnswer
};

/// Counts one attempt of a request in `tries`, and as a retry in `metrics` (may be null) when
/// it is not the request's first.
void count_attempt(std::uint32_t& tries, Metrics* metrics);

/// Judges the outcome `r` of an attempt at replica `target` (1..replicas) and tells `tracker`
/// what it shows: a timeout or an undecodable reply makes the replica suspect (kRetry, so the
/// next attempt goes to the leader found by probing); kOk, or a final refusal (kInsufficient,
/// kUnknownItem, kConflict, ...) is the answer; an ErrorReply (our request could not be decoded)
/// answers kInternal; kNotLeader follows a usable hint at once, at most `replicas` times in a
/// row, else pauses; kUnavailable (no majority or no catalog right now) pauses.
PlaceStep judge_place_attempt(LeaderTracker& tracker, std::uint32_t replicas, std::uint32_t target,
                              const common::CallResult<proto::PlaceOrderReply>& r,
                              PlaceProgress& progress, LeaderTracker::Clock::time_point now);

/// The answer when the request deadline `request` passed without one.
PlaceOrderResult place_deadline_result(const PlaceProgress& progress,
                                       std::chrono::milliseconds request);

/// The order in which to probe for the leader: replicas not suspect first, then the suspect
/// ones, each highest id first (the election favours it; a replica that just timed out is
/// likely dead).
std::vector<std::uint32_t> probe_order(const LeaderTracker& tracker, std::uint32_t replicas,
                                       LeaderTracker::Clock::time_point now);

/// What one StatusRequest to replica `id` showed while looking for the leader.
struct ProbeVerdict {
  std::int32_t leader = -1;  // `id` leads a term the tracker took: send there
  std::int32_t named = -1;   // a follower's usable (valid, not suspect) leader hint: a fallback
};

/// Judges a probe's outcome `r` and tells `tracker` what it shows: no usable answer makes `id`
/// suspect; a replica that says it leads is taken when its term is not older than the known
/// leader's (a deposed leader cannot commit).
ProbeVerdict judge_probe(LeaderTracker& tracker, std::uint32_t replicas, std::uint32_t id,
                         const common::CallResult<proto::StatusReply>& r,
                         LeaderTracker::Clock::time_point now);

/// Retry policy over an OrderTransport; shares what it learns through the LeaderTracker.
/// Not thread-safe (one per bridge thread, like the transport).
///
/// place(): send to the known leader; on kNotLeader follow the replica's hint; on a timeout mark
/// the replica suspect and look for the leader by probing replicas with StatusRequest, highest
/// id first; on kUnavailable (no majority or no catalog) pause and retry. Every retry carries
/// the same request_id, so the order service applies it at most once. Gives up with
/// kUnavailable when the request deadline has passed. The decisions are the free functions
/// above; OrderLink drives the same ones asynchronously.
class OrderClient {
 public:
  /// `metrics` (may be null) counts every attempt after a request's first as a retry.
  OrderClient(OrderTransport& transport, LeaderTracker& tracker, CallTimeouts timeouts,
              Metrics* metrics = nullptr);

  PlaceOrderResult place(const proto::PlaceOrderRequest& request);

  /// Reads from the leader when known (it has every committed order), else from any replica
  /// that has it. kNotFound from the leader, or from every replica that answered, is final.
  GetOrderResult get(std::int64_t number);

  /// The leader's id as known, or else found by probing the replicas within `budget`; -1 when
  /// none answers as leader. Used by /health, so a front end that missed every announcement
  /// still reports (and learns) the leader.
  std::int32_t find_leader(std::chrono::milliseconds budget);

  /// Attempts (sends to a replica) made by this client since it was created.
  std::uint64_t attempts() const { return attempts_; }

 private:
  using Clock = LeaderTracker::Clock;

  /// Probes replicas (non-suspect first, highest id first) for one whose role is "leader";
  /// falls back to the leader a follower names. -1 when none is found before `deadline`.
  std::int32_t discover(Clock::time_point deadline);
  std::chrono::milliseconds slice(std::chrono::milliseconds cap, Clock::time_point deadline) const;
  void pause(Clock::time_point deadline) const;
  /// Counts one attempt (count_attempt() plus attempts_).
  void count_attempt(std::uint32_t& tries);

  OrderTransport& transport_;
  LeaderTracker& tracker_;
  const CallTimeouts timeouts_;
  Metrics* const metrics_;
  std::uint64_t attempts_ = 0;
};

}  // namespace bazaar::frontend
