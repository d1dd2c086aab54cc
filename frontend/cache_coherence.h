// The bus side of the cache rules (G4): which events invalidate an entry and which flush it all.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "frontend/lookup_cache.h"
#include "proto_msgs/messages.h"

namespace bazaar::frontend {

/// Where one event stands in its publisher's stream.
enum class StreamStep : std::uint8_t {
  kNext,            // seq is the last one + 1: nothing was lost
  kFirst,           // the first event heard from this publisher
  kNewIncarnation,  // the publisher restarted: its seq starts again
  kGap,             // seq skipped ahead: events were lost (a high-water mark dropped them)
  kOld,             // seq at or below the last one: a replay; ignored for sequencing
};

/// Applies bus events to a LookupCache. Pure (time is passed in), so the flush rules are tested
/// without sockets. Not thread-safe: the bus thread alone calls it.
///
/// - Heartbeats: the first one, and one from a new broker incarnation, flush and resume the
///   cache (kBusRestart); a seq gap flushes (kSequenceGap). No heartbeat for 3 intervals pauses
///   and flushes the cache (kBusLost) until the next one: with the bus down, invalidations
///   would be lost silently, so nothing may be served from or stored in the cache meanwhile.
/// - Invalidations: a gap flushes (kSequenceGap); the first event of a catalog incarnation
///   flushes (kCatalogRestart), since invalidations sent before our subscription reached the
///   catalog could be missing without any gap to show it; then the entry is invalidated.
class CacheCoherence {
 public:
  using Clock = std::chrono::steady_clock;

  /// `cache` must outlive this.
  explicit CacheCoherence(LookupCache& cache);

  StreamStep on_heartbeat(const proto::Heartbeat& hb, Clock::time_point now);
  StreamStep on_invalidation(const proto::Invalidation& inv);
  /// An "inv" event that could not be decoded: as good as lost, so flush (kSequenceGap).
  void on_undecodable_invalidation();
  /// Called at least every few hundred ms: pauses the cache once heartbeats stop. Returns true
  /// when this call paused it.
  bool on_tick(Clock::time_point now);

  bool bus_alive() const { return alive_; }

 private:
  struct Stream {
    std::uint64_t incarnation = 0;
    std::uint64_t seq = 0;
  };
  /// Advances the stream of the event's publisher.
  StreamStep step(const proto::EventHeader& header);

  LookupCache& cache_;
  std::unordered_map<std::string, Stream> streams_;  // by publisher name, bounded
  bool alive_ = false;
  Clock::time_point last_heartbeat_{};
  std::chrono::milliseconds heartbeat_interval_{250};
};

}  // namespace bazaar::frontend
