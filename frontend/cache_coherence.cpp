#include "frontend/cache_coherence.h"

#include <spdlog/spdlog.h>

namespace bazaar::frontend {

namespace {

// Publishers tracked at once. The bus carries a handful (broker, catalog, order replicas); past
// this, the table is reset, which only makes the next event of each look like a first one.
constexpr std::size_t kMaxStreams = 256;
// Heartbeats missed before the bus counts as dead (the same rule as LeaderTracker::bus_alive).
constexpr int kMissedHeartbeats = 3;

}  // namespace

CacheCoherence::CacheCoherence(LookupCache& cache) : cache_(cache) {}

StreamStep CacheCoherence::step(const proto::EventHeader& header) {
  auto it = streams_.find(header.publisher);
  if (it == streams_.end()) {
    if (streams_.size() >= kMaxStreams) streams_.clear();
    streams_.emplace(header.publisher, Stream{header.incarnation, header.seq});
    return StreamStep::kFirst;
  }
  Stream& s = it->second;
  if (s.incarnation != header.incarnation) {
    s = Stream{header.incarnation, header.seq};
    return StreamStep::kNewIncarnation;
  }
  if (header.seq <= s.seq) return StreamStep::kOld;
  const bool gap = header.seq != s.seq + 1;
  s.seq = header.seq;
  return gap ? StreamStep::kGap : StreamStep::kNext;
}

StreamStep CacheCoherence::on_heartbeat(const proto::Heartbeat& hb, Clock::time_point now) {
  const StreamStep st = step(hb.header);
  last_heartbeat_ = now;
  if (hb.interval_ms > 0) heartbeat_interval_ = std::chrono::milliseconds(hb.interval_ms);
  if (!alive_ || st == StreamStep::kFirst || st == StreamStep::kNewIncarnation) {
    // The bus is (back) up, or it is another broker: resume on an empty cache.
    if (alive_) spdlog::info("cache: new broker incarnation, flushed");
    alive_ = true;
    cache_.set_active(true, FlushReason::kBusRestart);
  } else if (st == StreamStep::kGap) {
    spdlog::info("cache: broker heartbeat sequence gap, flushed");
    cache_.flush(FlushReason::kSequenceGap);
  }
  return st;
}

StreamStep CacheCoherence::on_invalidation(const proto::Invalidation& inv) {
  const StreamStep st = step(inv.header);
  // note_source() also flushes on a catalog incarnation first seen in a LookupReply; doing
  // it here too keeps the two in step, so the next reply does not flush a second time.
  const bool flushed = cache_.note_source(inv.header.incarnation);
  if (!flushed) {
    switch (st) {
      case StreamStep::kFirst:
      case StreamStep::kNewIncarnation:
        cache_.flush(FlushReason::kCatalogRestart);
        break;
      case StreamStep::kGap:
        spdlog::info("cache: invalidation sequence gap from {}, flushed", inv.header.publisher);
        cache_.flush(FlushReason::kSequenceGap);
        break;
      case StreamStep::kNext:
      case StreamStep::kOld:
        break;
    }
  }
  // Also after a flush: its fence refuses replies from before this event either way.
  cache_.invalidate(inv.name, inv.version);
  return st;
}

void CacheCoherence::on_undecodable_invalidation() {
  cache_.flush(FlushReason::kSequenceGap);
}

bool CacheCoherence::on_tick(Clock::time_point now) {
  if (!alive_ || now - last_heartbeat_ <= kMissedHeartbeats * heartbeat_interval_) return false;
  alive_ = false;
  spdlog::warn(
      "cache: no broker heartbeat for {} ms, paused and flushed",
      std::chrono::duration_cast<std::chrono::milliseconds>(now - last_heartbeat_).count());
  cache_.set_active(false, FlushReason::kBusLost);
  return true;
}

}  // namespace bazaar::frontend
