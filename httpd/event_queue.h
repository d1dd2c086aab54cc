// The bounded queue of one event-stream client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace bazaar::httpd {

enum class PushOutcome : std::uint8_t {
  kQueued,    // stored; the queue held events already (a wake-up is pending)
  kFirst,     // stored into an empty queue: the writer must be woken
  kOverflow,  // the queue was full: nothing stored, and the queue is now overflowed for good
  kDropped,   // already overflowed earlier: nothing stored
};

/// Formatted events waiting to be written to one client. Holds at most `limit` events; an event
/// that finds it full overflows it, and an overflowed queue takes nothing more: the client has
/// fallen behind and is dropped (the browser reconnects and fetches everything again), never
/// waited for. Not thread-safe (EventSubscription guards it).
class EventQueue {
 public:
  explicit EventQueue(std::size_t limit);

  [[nodiscard]] PushOutcome push(std::string event);

  /// Appends every queued event to `out`, in order, and empties the queue. Returns how many.
  std::size_t drain_into(std::string& out);

  bool overflowed() const { return overflowed_; }
  std::size_t size() const { return events_.size(); }
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::deque<std::string> events_;
  bool overflowed_ = false;
};

}  // namespace bazaar::httpd
