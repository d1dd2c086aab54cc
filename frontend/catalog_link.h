// The front end's way to the catalog: many requests in flight over one DEALER socket, on one
// thread, without a thread per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <zmq.hpp>

#include "frontend/link_inbox.h"
#include "frontend/metrics.h"
#include "frontend/service_results.h"

namespace bazaar::frontend {

/// Limits of a CatalogLink.
struct CatalogLinkOptions {
  std::string endpoint;              // the catalog's ROUTER endpoint
  CallTimeouts timeouts;             // request: whole budget; attempt: one try
  std::size_t queue_limit = 4096;    // requests waiting to be sent; beyond it try_* refuse
  std::size_t max_in_flight = 1024;  // requests sent and not yet answered
};

/// Every request the front end makes of the catalog: item lookups, the item list, and the
/// status check of /health. One thread owns one DEALER socket and keeps up to max_in_flight
/// requests outstanding, each tagged with its own id frame ([id, "", request]; the catalog's REP
/// workers echo the envelope back), and hands each reply to its callback. Under load it sends and
/// receives in batches, so the cost per request falls as load rises.
///
/// Deadlines (Lazy Pirate, adapted to many requests on one socket): an attempt not answered
/// within timeouts.attempt is sent again under a new id (a late reply to an old id is dropped,
/// so it can never answer the wrong request); when nothing at all was heard for a whole attempt
/// period the socket is dropped and made anew; at the request deadline the callback gets
/// kUnavailable. Every request here is a read, so sending one twice is harmless.
///
/// try_lookup(), try_list(), try_status(), queued() and stop() are thread-safe; callbacks run on
/// the link's thread (for requests still queued when a link that never started is stopped: on
/// the thread calling stop()) and must not block (post the real work elsewhere).
class CatalogLink {
 public:
  /// `result.status` is the catalog's answer, kUnavailable at the deadline, or kInternal for a
  /// reply that makes no sense; `incarnation` is the catalog's when it answered, else 0.
  using LookupDone = std::function<void(LookupResult result, std::uint64_t incarnation)>;
  /// Likewise, for the whole list.
  using ListDone = std::function<void(ListResult result)>;
  /// Whether the catalog answered a StatusRequest in time.
  using StatusDone = std::function<void(bool answered)>;

  /// Makes the socket (throws common::StartupError on a malformed endpoint); does not start.
  /// `metrics` (may be null: nothing counted) counts every resent lookup or list as a retry.
  CatalogLink(zmq::context_t& ctx, CatalogLinkOptions options, Metrics* metrics = nullptr);
  ~CatalogLink();

  CatalogLink(const CatalogLink&) = delete;
  CatalogLink& operator=(const CatalogLink&) = delete;

  void start();
  /// Queues a lookup of `name`; false (and `done` is dropped uncalled) when queue_limit requests
  /// wait already or the link is stopping. The request deadline starts now.
  [[nodiscard]] bool try_lookup(std::string name, LookupDone done);
  /// Queues a request for every item, as try_lookup().
  [[nodiscard]] bool try_list(ListDone done);
  /// Queues a status check that takes at most `budget`, as try_lookup().
  [[nodiscard]] bool try_status(std::chrono::milliseconds budget, StatusDone done);
  /// Answers everything queued or outstanding (kUnavailable, or not answered), stops and joins.
  /// Idempotent.
  void stop();

  std::size_t queued() const;

 private:
  using Clock = std::chrono::steady_clock;
  using Done = std::variant<LookupDone, ListDone, StatusDone>;
  struct Job {
    Done done;                   // which of the three requests this is
    std::string name;            // try_lookup: the item
    Clock::time_point deadline;  // of the whole request
  };
  struct Pending {
    Job job;
    Clock::time_point attempt_deadline;
  };

  void run();
  void make_socket();
  /// make_socket() on the link's thread: false (and the old socket kept) when it fails.
  [[nodiscard]] bool remake_socket();
  /// Sends one attempt of `job` under a fresh id and records it as pending.
  void send_attempt(Job job, Clock::time_point now);
  void receive_replies(Clock::time_point& last_reply);
  void on_reply(std::uint64_t id, std::string_view body);
  void expire(Clock::time_point now, Clock::time_point& last_reply);
  /// Answers `job` with kUnavailable (or "not answered") and `message`.
  static void fail(Job& job, const std::string& message);

  zmq::context_t& ctx_;
  const CatalogLinkOptions options_;
  Metrics* const metrics_;
  LinkInbox<Job> inbox_;  // requests from try_*(), at most options_.queue_limit

  // The link thread's own state (also touched by the constructor and after the join).
  std::unique_ptr<zmq::socket_t> socket_;
  std::unordered_map<std::uint64_t, Pending> pending_;               // by attempt id
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;  // attempt deadlines
  std::uint64_t next_id_ = 1;

  std::thread thread_;
};

}  // namespace bazaar::frontend
