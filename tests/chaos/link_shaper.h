// The pure part of bazaar-netem, the userspace delayer of the chaos harness: decides for each
// packet whether it is dropped (loss), and when a held packet is due. No sockets, no clock: the
// caller passes the time. Packets leave in the order they came (FIFO), so a link is delayed, not
// reordered; jitter only stretches the gaps.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace bazaar::chaos {

struct ShaperOptions {
  std::chrono::milliseconds delay{0};   // added to every packet
  std::chrono::milliseconds jitter{0};  // plus a uniform 0..jitter
  double loss = 0;                      // probability 0..1 that a packet is dropped
  std::size_t max_held = 10000;         // bound: beyond it a packet passes undelayed
  std::uint64_t seed = 1;
};

/// What to do with a packet that just arrived.
enum class Admit : std::uint8_t {
  kHeld,     // queued: hand it back from due() when its time comes
  kDropped,  // lost: verdict DROP now
  kPassed,   // the queue is full: verdict ACCEPT now (the bound wins over the delay)
};

/// One shaped link direction. Not thread-safe (one loop owns it).
class LinkShaper {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LinkShaper(ShaperOptions options);

  /// Decides packet `id`'s fate, arriving at `now`.
  [[nodiscard]] Admit admit(std::uint32_t id, Clock::time_point now);
  /// The held packets due at `now`, oldest first, removed from the queue.
  std::vector<std::uint32_t> due(Clock::time_point now);
  /// Every held packet, removed (for a clean exit: accept them all).
  std::vector<std::uint32_t> drain();
  /// When the oldest held packet is due; Clock::time_point::max() when none is held.
  Clock::time_point next_due() const;
  std::size_t held() const { return queue_.size(); }

 private:
  struct Held {
    std::uint32_t id;
    Clock::time_point release;
  };
  ShaperOptions options_;
  std::mt19937_64 rng_;
  std::deque<Held> queue_;  // release times never decrease (FIFO)
};

}  // namespace bazaar::chaos
