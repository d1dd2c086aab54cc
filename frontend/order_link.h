// Orders to the replicated order service, many at once over one DEALER socket per replica,
// without a thread per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "frontend/backend.h"
#include "frontend/leader_tracker.h"
#include "frontend/link_inbox.h"
#include "frontend/metrics.h"
#include "frontend/order_client.h"

namespace bazaar::frontend {

/// Limits of an OrderLink.
struct OrderLinkOptions {
  std::vector<std::string> endpoints;  // order replicas' client endpoints; replica k at k-1
  CallTimeouts timeouts;               // request, attempt, probe and backoff, as OrderClient's
  std::size_t queue_limit = 4096;      // orders waiting to be taken up; beyond it try_place refuses
  std::size_t max_in_flight = 1024;    // orders taken up and not yet answered
};

/// The order path of the front end (POST /orders). Through the bridge every order cost two
/// thread wake-ups and a REQ socket of its own for a whole round trip; here one thread owns one
/// DEALER socket per replica and keeps up to max_in_flight orders outstanding, each attempt
/// tagged with its own id frame ([attempt id, "", PlaceOrderRequest]; the replica's ROUTER
/// echoes every frame before the body, so the reply comes back as [attempt id, "", reply]).
/// A reply to an attempt that is unknown or given up on is dropped, so it can never answer the
/// wrong order.
///
/// Retry policy: OrderClient::place()'s, through the same functions (judge_place_attempt,
/// probe_order, judge_probe), each order a small state machine driven by the link's timers: send
/// to the routable leader; on kNotLeader follow the hint; on an attempt timeout
/// (timeouts.attempt) mark the replica suspect and look for the leader; on kUnavailable pause
/// timeouts.backoff; at the request deadline answer kUnavailable. Every attempt of an order
/// carries the same request_id (the same encoded bytes), so the order service applies it at most
/// once. Looking for the leader is one shared round at a time: StatusRequests to one replica
/// after another in probe_order(), each within timeouts.probe, taken by every order waiting for a
/// leader, so a fail-over under load costs a few probes, not a few per order.
///
/// Sockets (Lazy Pirate, per replica): when an attempt or probe at a replica times out and
/// nothing at all was heard from it for a whole attempt period, its socket is dropped and made
/// anew, so a dead replica's queue does not wait to be delivered to its successor.
///
/// try_place(), queued() and stop() are thread-safe; the callback runs on the link's thread (for
/// orders still queued when a link that never started is stopped: on the thread calling stop())
/// and must not block (post the real work elsewhere). The LeaderTracker is shared with the bridge's
/// OrderClients and the bus subscriber (it is thread-safe).
class OrderLink {
 public:
  /// `result` is the order service's answer, kUnavailable at the deadline or on stop, or
  /// kInternal when a replica could not decode the request.
  using Done = std::function<void(PlaceOrderResult result)>;

  /// Makes the sockets (throws common::StartupError on a malformed endpoint or none at all);
  /// does not start. `tracker` must count replicas() == endpoints.size() and, like `metrics`
  /// (may be null: nothing counted), outlive the link.
  OrderLink(zmq::context_t& ctx, OrderLinkOptions options, LeaderTracker& tracker,
            Metrics* metrics = nullptr);
  ~OrderLink();

  OrderLink(const OrderLink&) = delete;
  OrderLink& operator=(const OrderLink&) = delete;

  void start();
  /// Queues `request`; false (and `done` is dropped uncalled) when queue_limit orders wait
  /// already or the link is stopping. The request deadline starts now.
  bool try_place(proto::PlaceOrderRequest request, Done done);
  /// Answers everything queued or outstanding with kUnavailable, stops and joins. Idempotent.
  void stop();

  /// Orders waiting to be taken up by the link thread.
  std::size_t queued() const;

 private:
  using Clock = LeaderTracker::Clock;

  struct Job {
    std::string request_id;  // for logs
    std::string body;        // the encoded PlaceOrderRequest, sent as is by every attempt
    Done done;
    Clock::time_point deadline;  // of the whole request
  };

  /// Where an order taken up stands. Each has exactly one timer armed while it lives.
  enum class Stage : std::uint8_t {
    kSent,     // an attempt at `replica` is out; timer: the attempt's deadline
    kPaused,   // backing off; timer: when to try again
    kWaiting,  // waiting for the discovery round's leader; timer: the request deadline
  };

  struct Order {
    Job job;
    PlaceProgress progress;
    Stage stage = Stage::kPaused;
    std::uint32_t replica = 0;  // kSent: where the attempt went
    std::uint64_t attempt = 0;  // kSent: its id
    Clock::time_point timer;    // its entry in timers_
  };

  /// The one discovery round at a time (OrderClient::discover, asynchronously).
  struct Discovery {
    bool active = false;
    std::vector<std::uint32_t> order;  // replicas to probe, from probe_order()
    std::size_t next = 0;              // index of the next replica to probe
    std::int32_t named = -1;           // first usable leader a follower named
    std::uint32_t replica = 0;         // the replica probed now
    std::uint64_t attempt = 0;         // the outstanding probe's id
    Clock::time_point timer;           // its deadline, in timers_ under kDiscoveryKey
  };

  struct Replica {
    std::unique_ptr<zmq::socket_t> socket;
    Clock::time_point last_heard;  // last reply, or when it was last sent to while idle
    std::size_t outstanding = 0;   // attempts and probes sent to it and not yet settled
  };

  void run();
  void make_socket(std::uint32_t id);
  /// Sends [attempt, "", body] to replica `id` without blocking; a refused send is an attempt
  /// that will time out, like a lost one.
  void send_to(std::uint32_t id, std::uint64_t attempt, std::string_view body,
               Clock::time_point now);
  /// An attempt or probe at replica `id` is settled (answered or given up on).
  void settle(std::uint32_t id);
  /// A timer at replica `id` fired: remakes its socket when it has been silent too long.
  void on_silence(std::uint32_t id, Clock::time_point now);

  void arm(std::uint64_t key, Clock::time_point& slot, Clock::time_point at);
  void disarm(std::uint64_t key, Clock::time_point slot);

  /// Takes `job` up as order `key` and routes it.
  void admit(Job job, Clock::time_point now);
  /// Sends order `key` to `target` when >= 1, else to the routable leader, else waits for the
  /// discovery round; answers kUnavailable when its deadline has passed.
  void route(std::uint64_t key, Order& order, std::int32_t target, Clock::time_point now);
  void send_attempt(std::uint64_t key, Order& order, std::uint32_t target, Clock::time_point now);
  /// Acts on the policy's verdict on order `key`'s last attempt.
  void apply(std::uint64_t key, Order& order, PlaceStep step, Clock::time_point now);
  void pause(std::uint64_t key, Order& order, Clock::time_point now);
  void answer(std::uint64_t key, PlaceOrderResult result);
  void on_place_reply(std::uint64_t attempt, std::string_view body, Clock::time_point now);
  void on_order_timer(std::uint64_t key, Clock::time_point now);

  /// Drops from waiting_ the keys of orders that no longer wait (answered at their deadline).
  void prune_waiting();
  void start_discovery(Clock::time_point now);
  /// Probes the next replica of the round, or ends it when none is left or nobody waits.
  void next_probe(Clock::time_point now);
  void on_probe_reply(std::string_view body, Clock::time_point now);
  void on_probe_timer(Clock::time_point now);
  /// Ends the round: the waiting orders go to `target` when >= 1, else pause and try again.
  void end_discovery(std::int32_t target, Clock::time_point now);

  void receive_replies(std::uint32_t id);
  void fire_timers(Clock::time_point now);
  static void finish(Done& done, PlaceOrderResult result);

  zmq::context_t& ctx_;
  const OrderLinkOptions options_;
  LeaderTracker& tracker_;
  Metrics* const metrics_;
  const std::uint32_t replicas_;
  const std::string status_body_;  // the encoded StatusRequest every probe sends
  LinkInbox<Job> inbox_;           // orders from try_place(), at most options_.queue_limit

  // The link thread's own state (also touched by the constructor and after the join).
  static constexpr std::uint64_t kDiscoveryKey = 0;  // timers_ key of the probe; orders: 1..
  std::vector<Replica> sockets_;                     // index id-1
  std::unordered_map<std::uint64_t, Order> orders_;  // by key; at most max_in_flight
  std::unordered_map<std::uint64_t, std::uint64_t> attempts_;     // attempt id -> order key
  std::set<std::pair<Clock::time_point, std::uint64_t>> timers_;  // (when, order key)
  // Orders in Stage::kWaiting, in arrival order, plus keys of some that have left since (pruned
  // at every probe and whenever it reaches max_in_flight).
  std::vector<std::uint64_t> waiting_;
  Discovery discovery_;
  std::uint64_t next_key_ = 1;
  std::uint64_t next_attempt_ = 1;

  std::thread thread_;
};

}  // namespace bazaar::frontend
