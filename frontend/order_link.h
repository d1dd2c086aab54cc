// The front end's way to the order replicas: many requests in flight over one DEALER socket per
// replica, on one thread, without a thread per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "frontend/leader_tracker.h"
#include "frontend/link_inbox.h"
#include "frontend/metrics.h"
#include "frontend/order_placement.h"
#include "frontend/service_results.h"

namespace bazaar::frontend {

/// Limits of an OrderLink.
struct OrderLinkOptions {
  std::vector<std::string> endpoints;  // order replicas' client endpoints; replica k at k-1
  CallTimeouts timeouts;               // request, attempt, probe and backoff
  std::size_t queue_limit = 4096;      // requests waiting to be taken up; beyond it try_* refuse
  std::size_t max_in_flight = 1024;    // requests taken up and not yet answered
};

/// Every request the front end makes of the order service: placing an order (POST /orders),
/// reading one (GET /orders/N), looking for the leader (/health). One thread owns one DEALER
/// socket per replica and keeps up to max_in_flight requests outstanding, each attempt tagged
/// with its own id frame ([attempt id, "", request]; the replica's ROUTER echoes every frame
/// before the body, so the reply comes back as [attempt id, "", reply]).
///
/// What to send where and when (the retry policy, leader discovery, deadlines) is decided by an
/// OrderPlacement, which this class feeds with the replies and timer firings; it only moves the
/// bytes, runs the timers and remakes a socket when the state machine finds its replica silent
/// for a whole attempt period (Lazy Pirate: a dead replica's queue is dropped, not delivered to
/// its successor).
///
/// try_place(), try_get(), try_find_leader(), queued() and stop() are thread-safe; callbacks run
/// on the link's thread (for requests still queued when a link that never started is stopped: on
/// the thread calling stop()) and must not block (post the real work elsewhere). The
/// LeaderTracker is shared with the bus subscriber (it is thread-safe).
class OrderLink {
 public:
  /// The order service's answer, kUnavailable at the deadline or on stop, or kInternal when a
  /// replica could not decode the request.
  using PlaceDone = std::function<void(PlaceOrderResult result)>;
  /// Likewise, for reading order N.
  using GetDone = std::function<void(GetOrderResult result)>;
  /// The leader once one answered as leader; empty at the deadline or on stop.
  using FindLeaderDone = std::function<void(FindLeaderResult result)>;

  /// Makes the sockets (throws common::StartupError on a malformed endpoint or none at all);
  /// does not start. `tracker` must count replicas() == endpoints.size() and, like `metrics`
  /// (may be null: nothing counted), outlive the link.
  OrderLink(zmq::context_t& ctx, OrderLinkOptions options, LeaderTracker& tracker,
            Metrics* metrics = nullptr);
  ~OrderLink();

  OrderLink(const OrderLink&) = delete;
  OrderLink& operator=(const OrderLink&) = delete;

  void start();
  /// Queues `request`; false (and `done` is dropped uncalled) when queue_limit requests wait
  /// already or the link is stopping. The request deadline starts now.
  [[nodiscard]] bool try_place(proto::PlaceOrderRequest request, PlaceDone done);
  /// Queues a read of order `number`, as try_place().
  [[nodiscard]] bool try_get(std::int64_t number, GetDone done);
  /// Queues a look for the leader that takes at most `budget`, as try_place().
  [[nodiscard]] bool try_find_leader(std::chrono::milliseconds budget, FindLeaderDone done);
  /// Answers everything queued or outstanding (kUnavailable, or no leader), stops and joins.
  /// Idempotent.
  void stop();

  /// Requests waiting to be taken up by the link thread.
  std::size_t queued() const;

 private:
  using Clock = LeaderTracker::Clock;
  using Done = std::variant<PlaceDone, GetDone, FindLeaderDone>;

  struct Job {
    Done done;                   // which of the three requests this is
    std::string body;            // try_place: the encoded PlaceOrderRequest
    std::int64_t number = 0;     // try_get: the order asked for
    Clock::time_point deadline;  // of the whole request
  };

  void run();
  /// (Re)makes replica `id`'s socket, connected to endpoints_[id - 1].
  void make_socket(std::uint32_t id);
  /// Connects to the replicas the tracker was told of (LeaderTracker::note_endpoint) and makes
  /// them known to it: a replica added to the cluster after this front end started.
  void connect_new_replicas();
  void admit(Job job, Clock::time_point now);
  /// Carries out what the state machine asked for in effects_, then clears it.
  void apply();
  void receive_replies(std::uint32_t id);
  static void finish(Done& done, OrderEffects::Answer::Result result);
  static void finish_shutting_down(Done& done);

  zmq::context_t& ctx_;
  const OrderLinkOptions options_;
  LeaderTracker& tracker_;
  LinkInbox<Job> inbox_;  // requests from try_*(), at most options_.queue_limit

  // The link thread's own state (also touched by the constructor and after the join).
  OrderPlacement placement_;
  OrderEffects effects_;                                 // what the last input asked for
  std::vector<std::string> endpoints_;                   // index id-1, all 9 ids; "": none
  std::vector<std::unique_ptr<zmq::socket_t>> sockets_;  // index id-1, all 9 ids; null: none
  std::unordered_map<std::uint64_t, Done> callbacks_;    // by request key; at most max_in_flight

  std::thread thread_;
};

}  // namespace bazaar::frontend
