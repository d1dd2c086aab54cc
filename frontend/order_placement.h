// The order link's decisions as a pure state machine: every request to the order replicas in
// flight (placing an order, reading one, looking for the leader for /health), fed replies and
// timer firings, returning what to send. No sockets, threads or clocks of its own, so every
// branch of the retry policy is unit-tested (tests/unit/frontend_order_placement_test.cpp);
// OrderLink moves the bytes and runs the timers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "frontend/leader_tracker.h"
#include "frontend/metrics.h"
#include "frontend/service_results.h"

namespace bazaar::frontend {

/// The answer to a find_leader(): the leader as known once one answered as leader, else empty.
struct FindLeaderResult {
  std::optional<LeaderInfo> leader;
};

/// What the state machine asks its driver to do after an input. Cleared by the caller.
struct OrderEffects {
  /// Send `body` to replica `replica` tagged with `attempt`; a reply carries the tag back.
  struct Send {
    std::uint32_t replica = 0;
    std::uint64_t attempt = 0;
    std::string body;
  };
  /// Request `key` is answered (and forgotten).
  struct Answer {
    using Result = std::variant<PlaceOrderResult, GetOrderResult, FindLeaderResult>;
    std::uint64_t key = 0;
    Result result;
  };
  std::vector<Send> sends;
  std::vector<Answer> answers;
  /// Replicas silent for a whole attempt period while something waited on them: drop their
  /// socket (and what it still queues) and connect afresh.
  std::vector<std::uint32_t> reconnects;

  void clear() {
    sends.clear();
    answers.clear();
    reconnects.clear();
  }
};

/// Every request in flight at the order replicas, one small state machine each, and the one
/// round of leader discovery they share.
///
/// Placing an order: send to the routable leader; on kNotLeader follow a usable hint at once (at
/// most `replicas` hops in a row, else pause); on an attempt timeout (timeouts.attempt, capped by
/// what is left of the deadline) mark the replica suspect and route again, through a follower
/// that forwards while probes look for a leader this front end can reach; on kUnavailable pause
/// timeouts.backoff; with no leader known, wait for the discovery round; at the deadline answer
/// kUnavailable. Every attempt sends the same bytes (the same request_id), so the order service
/// applies it at most once. An ErrorReply (our request could not be decoded) answers kInternal.
///
/// Reading an order (GET /orders/N): ask the routable leader first (it holds every committed
/// order, so its kNotFound is final and an acknowledged order is always found: read-your-writes),
/// then the replicas not suspect, highest id first (every replica when all are suspect); a
/// follower's kNotFound is final only once nobody had it in a round; after a round without an
/// answer pause timeouts.backoff and start over, until the deadline (then kUnavailable).
///
/// Looking for the leader (/health): answered at once when a routable leader is known, else by
/// the discovery round: only a replica that says it leads counts, not a follower's hint.
///
/// Discovery: one round at a time, StatusRequests to one replica after another (not suspect
/// first, then suspect, each highest id first), each within timeouts.probe, taken by every
/// request waiting for a leader, so a fail-over under load costs a few probes, not a few per
/// order. A replica that says it leads is taken when its term is not older than the known
/// leader's (a deposed leader cannot commit).
///
/// A reply whose attempt is unknown (given up on, answered already, duplicated) is dropped, so it
/// can never answer the wrong request. Not thread-safe: the link's thread alone drives it. The
/// LeaderTracker (shared with the bus subscriber, thread-safe) holds what it learns.
class OrderPlacement {
 public:
  using Clock = LeaderTracker::Clock;

  /// Requests go to the replicas `tracker` knows, which may grow (LeaderTracker::learn).
  /// `tracker` and `metrics` (may be null: nothing counted; every attempt after a request's first
  /// counts as a retry) must outlive the state machine.
  OrderPlacement(CallTimeouts timeouts, LeaderTracker& tracker, Metrics* metrics = nullptr);

  // ---- requests (each returns the key its answer will carry) --------------------------------

  /// Places the order encoded in `body` (a PlaceOrderRequest, sent as is by every attempt).
  std::uint64_t place(std::string body, Clock::time_point deadline, Clock::time_point now,
                      OrderEffects& out);
  /// Reads committed order `number`.
  std::uint64_t get(std::int64_t number, Clock::time_point deadline, Clock::time_point now,
                    OrderEffects& out);
  /// Looks for the leader until `deadline`.
  std::uint64_t find_leader(Clock::time_point deadline, Clock::time_point now, OrderEffects& out);

  // ---- events -------------------------------------------------------------------------------

  /// Bytes `body` arrived from replica `replica` tagged `attempt`.
  void on_reply(std::uint32_t replica, std::uint64_t attempt, std::string_view body,
                Clock::time_point now, OrderEffects& out);
  /// Something that is not a tagged reply arrived from `replica`: not an answer, but a sign of
  /// life.
  void on_malformed(std::uint32_t replica, Clock::time_point now);
  /// Fires every timer due at `now`.
  void on_timers(Clock::time_point now, OrderEffects& out);

  // ---- state --------------------------------------------------------------------------------

  /// When on_timers() has something to do next, if anything is in flight.
  std::optional<Clock::time_point> next_timer() const;
  /// Requests in flight (taken up, not yet answered).
  std::size_t in_flight() const { return requests_.size(); }
  /// Forgets every request and returns their keys, for answering at shutdown.
  std::vector<std::uint64_t> abandon_all();

 private:
  enum class Kind : std::uint8_t { kPlace, kGet, kFindLeader };
  /// Where a request stands. Each has exactly one timer armed while it lives.
  enum class Stage : std::uint8_t {
    kSent,     // an attempt at `replica` is out; timer: the attempt's deadline
    kPaused,   // backing off; timer: when to try again
    kWaiting,  // waiting for the discovery round; timer: the request deadline
  };

  struct Request {
    Kind kind = Kind::kPlace;
    std::string body;         // kPlace: the PlaceOrderRequest; kGet: the GetOrderRequest
    std::int64_t number = 0;  // kGet: the order asked for
    Clock::time_point deadline;
    Stage stage = Stage::kPaused;
    std::uint32_t replica = 0;  // kSent: where the attempt went
    std::uint64_t attempt = 0;  // kSent: its id; 0 when none is out
    Clock::time_point timer;    // its entry in timers_
    std::uint32_t tries = 0;    // attempts sent (the first is not a retry)
    std::uint32_t hops = 0;     // kPlace: kNotLeader hints followed in a row without a pause
    std::string last_problem = "no order leader answered";  // kPlace: for the final kUnavailable
    // kGet: this round's replicas in the order asked, the next to ask, the leader asked first
    // (-1: none known), and whether one of them said "not found".
    std::vector<std::uint32_t> round;
    std::size_t next = 0;
    std::int32_t round_leader = -1;
    bool not_found = false;
  };

  /// The one discovery round at a time.
  struct Discovery {
    bool active = false;
    std::vector<std::uint32_t> order;  // replicas to probe
    std::size_t next = 0;              // index of the next replica to probe
    std::int32_t named = -1;           // first usable leader a follower named
    std::uint32_t replica = 0;         // the replica probed now
    std::uint64_t attempt = 0;         // the outstanding probe's id; 0 when none is out
    Clock::time_point timer;           // its deadline, in timers_ under kDiscoveryKey
  };

  struct Replica {
    Clock::time_point last_heard;  // last reply, or when it was last sent to while idle
    std::size_t outstanding = 0;   // attempts and probes sent to it and not yet settled
  };

  static constexpr std::uint64_t kDiscoveryKey = 0;  // timers_ key of the probe; requests: 1..

  std::uint64_t admit(Request request, Clock::time_point now, OrderEffects& out);
  void send(std::uint64_t key, Request& r, std::uint32_t target, std::string_view body,
            Clock::time_point now, OrderEffects& out);
  void settle(Request& r);
  void arm(std::uint64_t key, Clock::time_point& slot, Clock::time_point at);
  void answer(std::uint64_t key, OrderEffects::Answer::Result result, OrderEffects& out);
  void deadline_passed(std::uint64_t key, Request& r, OrderEffects& out);
  /// Goes back to the requests' first step, or answers at the deadline.
  void restart(std::uint64_t key, Request& r, Clock::time_point now, OrderEffects& out);
  void pause(std::uint64_t key, Request& r, Clock::time_point now, OrderEffects& out);
  void wait_for_leader(std::uint64_t key, Request& r, Clock::time_point now, OrderEffects& out);
  void on_timeout(std::uint64_t key, Request& r, Clock::time_point now, OrderEffects& out);

  // kPlace
  void route_place(std::uint64_t key, Request& r, std::int32_t target, Clock::time_point now,
                   OrderEffects& out);
  void on_place_reply(std::uint64_t key, Request& r, std::string_view body, bool timed_out,
                      Clock::time_point now, OrderEffects& out);
  // kGet
  void start_get_round(std::uint64_t key, Request& r, Clock::time_point now, OrderEffects& out);
  void next_get(std::uint64_t key, Request& r, Clock::time_point now, OrderEffects& out);
  void on_get_reply(std::uint64_t key, Request& r, std::string_view body, bool timed_out,
                    Clock::time_point now, OrderEffects& out);

  // discovery
  void start_discovery(Clock::time_point now, OrderEffects& out);
  void prune_waiting();
  void next_probe(Clock::time_point now, OrderEffects& out);
  void on_probe_reply(std::string_view body, bool timed_out, Clock::time_point now,
                      OrderEffects& out);
  void end_discovery(std::int32_t target, Clock::time_point now, OrderEffects& out);

  /// Replica `id`'s attempt timed out: a reconnect when it was silent for a whole attempt.
  void on_silence(std::uint32_t id, Clock::time_point now, OrderEffects& out);
  void heard(std::uint32_t id, Clock::time_point now);

  const CallTimeouts timeouts_;
  LeaderTracker& tracker_;
  Metrics* const metrics_;
  const std::string status_body_;  // the encoded StatusRequest every probe sends

  std::unordered_map<std::uint64_t, Request> requests_;           // by key
  std::unordered_map<std::uint64_t, std::uint64_t> attempts_;     // attempt id -> request key
  std::set<std::pair<Clock::time_point, std::uint64_t>> timers_;  // (when, key)
  // Requests in Stage::kWaiting, in arrival order, plus keys of some that have left since
  // (pruned at every probe and whenever it reaches twice the number of requests in flight).
  std::vector<std::uint64_t> waiting_;
  Discovery discovery_;
  std::vector<Replica> replica_state_;  // index id-1, every id 1..9 (known or not)
  std::uint64_t next_key_ = 1;
  std::uint64_t next_attempt_ = 1;
};

}  // namespace bazaar::frontend
