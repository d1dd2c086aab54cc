// Item lookups to the catalog, many at once over one DEALER socket, without a thread per call.
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
#include <zmq.hpp>

#include "frontend/backend.h"
#include "frontend/link_inbox.h"
#include "frontend/metrics.h"
#include "frontend/order_client.h"

namespace bazaar::frontend {

/// Limits of a CatalogLink.
struct CatalogLinkOptions {
  std::string endpoint;              // the catalog's ROUTER endpoint
  CallTimeouts timeouts;             // request: whole budget; attempt: one try
  std::size_t queue_limit = 4096;    // lookups waiting to be sent; beyond it try_lookup refuses
  std::size_t max_in_flight = 1024;  // lookups sent and not yet answered
};

/// The lookup path of the front end: a bridge thread per outstanding request would cap how many
/// lookups are in flight at once (each blocks on its REQ socket for a whole round trip) and
/// costs two thread wake-ups per request. Instead one thread owns one DEALER socket and keeps up
/// to max_in_flight lookups outstanding, each tagged with its own id frame
/// ([id, "", LookupRequest]; the catalog's REP workers echo the envelope back), and hands each
/// reply to its callback. Under load it sends and receives in batches, so the cost per lookup
/// falls as load rises.
///
/// Deadlines (Lazy Pirate, adapted to many requests on one socket): an attempt not answered
/// within timeouts.attempt is sent again under a new id (a late reply to an old id is dropped,
/// so it can never answer the wrong request); when nothing at all was heard for a whole attempt
/// period the socket is dropped and made anew; at the request deadline the callback gets
/// kUnavailable. Lookups are reads, so sending one twice is harmless.
///
/// try_lookup() and stop() are thread-safe; the callback runs on the link's thread (for lookups
/// still queued when a link that never started is stopped: on the thread calling stop()) and
/// must not block (post the real work elsewhere).
class CatalogLink {
 public:
  /// `result.status` is the catalog's answer, kUnavailable at the deadline, or kInternal for a
  /// reply that makes no sense; `incarnation` is the catalog's when it answered, else 0.
  using Done = std::function<void(LookupResult result, std::uint64_t incarnation)>;

  /// Makes the socket (throws common::StartupError on a malformed endpoint); does not start.
  CatalogLink(zmq::context_t& ctx, CatalogLinkOptions options, Metrics* metrics = nullptr);
  ~CatalogLink();

  CatalogLink(const CatalogLink&) = delete;
  CatalogLink& operator=(const CatalogLink&) = delete;

  void start();
  /// Queues a lookup of `name`; false (and `done` is dropped uncalled) when queue_limit lookups
  /// wait already or the link is stopping.
  bool try_lookup(std::string name, Done done);
  /// Answers everything queued or outstanding with kUnavailable, stops and joins. Idempotent.
  void stop();

  std::size_t queued() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    std::string name;
    Done done;
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
  static void finish(Job& job, LookupResult result, std::uint64_t incarnation);

  zmq::context_t& ctx_;
  const CatalogLinkOptions options_;
  Metrics* const metrics_;
  LinkInbox<Job> inbox_;  // lookups from try_lookup(), at most options_.queue_limit

  // The link thread's own state (also touched by the constructor and after the join).
  std::unique_ptr<zmq::socket_t> socket_;
  std::unordered_map<std::uint64_t, Pending> pending_;               // by attempt id
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;  // attempt deadlines
  std::uint64_t next_id_ = 1;

  std::thread thread_;
};

}  // namespace bazaar::frontend
