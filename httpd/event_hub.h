// The front end's push side: bus events (item changes, leader changes) fanned out to every open
// GET /events stream, each through a bounded queue of its own.
#pragma once

#include <prometheus/metric_family.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "httpd/event_queue.h"

namespace bazaar::httpd {

/// Counters of the event streams, shared by the hub and its subscriptions (which may outlive
/// it on an I/O thread), read for /metrics.
struct EventStreamCounters {
  std::atomic<std::uint64_t> open{0};       // subscriptions alive now
  std::atomic<std::uint64_t> opened{0};     // subscriptions ever granted
  std::atomic<std::uint64_t> refused{0};    // subscribe() refused: max_streams reached
  std::atomic<std::uint64_t> dropped{0};    // clients dropped because their queue overflowed
  std::atomic<std::uint64_t> published{0};  // events published (each counted once)
};

enum class TakeOutcome : std::uint8_t {
  kEvents,      // events were appended to `out`
  kNothing,     // nothing queued
  kOverflowed,  // the client fell behind: close its stream
  kClosed,      // the hub stopped: close the stream
};

/// One client's end: the hub pushes (bus thread), the stream writer takes (its I/O thread).
/// Thread-safe.
class EventSubscription {
 public:
  /// Called from whatever thread pushed, with the subscription's lock held: it must only post
  /// work elsewhere (never call back into the subscription).
  using Wake = std::function<void()>;

  EventSubscription(std::size_t queue_limit, std::shared_ptr<EventStreamCounters> counters);
  ~EventSubscription();

  EventSubscription(const EventSubscription&) = delete;
  EventSubscription& operator=(const EventSubscription&) = delete;

  /// The writer's wake-up, set once when the stream starts; called at once if events (or the
  /// close) are already waiting.
  void set_wake(Wake wake);

  /// Moves every queued event's bytes to the end of `out`.
  [[nodiscard]] TakeOutcome take(std::string& out);

  /// True once the client fell behind (overflow) or the hub closed the stream: a writer in the
  /// middle of a write stops at once instead of finishing it.
  bool ended();

  /// Hub side: queue one formatted event; wakes the writer when the queue was empty or has just
  /// overflowed.
  PushOutcome push(std::string event);

  /// Hub side, at shutdown: marks it closed, wakes the writer a last time, forgets the wake-up
  /// (so nothing is posted to an I/O context that is about to go).
  void close();

 private:
  std::mutex mu_;
  EventQueue queue_;     // guarded by mu_
  Wake wake_;            // guarded by mu_
  bool closed_ = false;  // guarded by mu_
  const std::shared_ptr<EventStreamCounters> counters_;
};

struct EventHubOptions {
  std::size_t max_streams = 256;  // --max-event-streams: more get 503
  std::size_t queue_limit = 256;  // --event-queue: events one client may lag behind
};

/// Thread-safe. publish_*() is called by the bus thread, subscribe() by I/O threads. A new
/// subscription first gets the last leader event, so a page knows the leader at once.
class EventHub {
 public:
  explicit EventHub(EventHubOptions options = {});

  /// A new stream, or null when max_streams are open or the hub stopped.
  std::shared_ptr<EventSubscription> subscribe();

  /// The catalog changed `name` (now at `version`): "item" event.
  void publish_item(std::string_view name, std::uint64_t version);
  /// Order replica `id` leads `term`: "leader" event (also kept for new subscribers).
  void publish_leader(std::uint32_t id, std::uint64_t term);
  /// Events may have been lost (bus restart, sequence gap): "resync" event.
  void publish_resync(std::string_view reason);

  /// Closes every stream and refuses new ones. Call before the HTTP server's I/O contexts stop.
  void stop();

  const EventHubOptions& options() const { return options_; }
  const EventStreamCounters& counters() const { return *counters_; }

  /// The bazaar_event_stream* families, appended to /metrics.
  std::vector<prometheus::MetricFamily> metric_families() const;

 private:
  void publish(std::string event);

  const EventHubOptions options_;
  const std::shared_ptr<EventStreamCounters> counters_;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<EventSubscription>> subscriptions_;  // guarded by mu_
  std::string last_leader_;                                      // guarded by mu_; formatted
  bool stopped_ = false;                                         // guarded by mu_
};

}  // namespace bazaar::httpd
