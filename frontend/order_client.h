// Places and reads orders on the replicated order service, finding the leader and riding out
// fail-overs within one request deadline.
#pragma once

#include <chrono>
#include <cstdint>

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

/// Retry policy over an OrderTransport; shares what it learns through the LeaderTracker.
/// Not thread-safe (one per bridge thread, like the transport).
///
/// place(): send to the known leader; on kNotLeader follow the replica's hint; on a timeout mark
/// the replica suspect and look for the leader by probing replicas with StatusRequest, highest
/// id first; on kUnavailable (no majority or no catalog) pause and retry. Every retry carries
/// the same request_id, so the order service applies it at most once. Gives up with
/// kUnavailable when the request deadline has passed.
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
  /// Counts one attempt; `tries` is this request's count so far (the first is not a retry).
  void count_attempt(std::uint32_t& tries);

  OrderTransport& transport_;
  LeaderTracker& tracker_;
  const CallTimeouts timeouts_;
  Metrics* const metrics_;
  std::uint64_t attempts_ = 0;
};

}  // namespace bazaar::frontend
