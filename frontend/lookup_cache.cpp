#include "frontend/lookup_cache.h"

#include <algorithm>
#include <functional>

namespace bazaar::frontend {

namespace {

// Above this many entries a cache is split into shards of at least this many each; below it one
// shard keeps the LRU order exact (and tests of it simple).
constexpr std::size_t kEntriesPerShard = 256;
constexpr std::size_t kMaxShards = 16;
// Fences a shard keeps at least; beyond max(this, its capacity) the oldest is dropped.
constexpr std::size_t kMinFencesPerShard = 64;

std::size_t shard_count(std::size_t capacity, std::size_t requested) {
  if (capacity == 0) return 1;
  const std::size_t n = requested > 0 ? requested : capacity / kEntriesPerShard;
  return std::clamp<std::size_t>(n, 1, std::min(kMaxShards, capacity));
}

}  // namespace

const char* to_string(FlushReason reason) {
  switch (reason) {
    case FlushReason::kBusLost:
      return "bus_lost";
    case FlushReason::kBusRestart:
      return "bus_restart";
    case FlushReason::kSequenceGap:
      return "sequence_gap";
    case FlushReason::kCatalogRestart:
      return "catalog_restart";
    case FlushReason::kCount:
      break;
  }
  return "unknown";
}

/// One shard: an LRU list of entries (most recent first) with a map into it, and the fences.
/// Every field is guarded by `mu`.
struct LookupCache::Shard {
  struct Entry {
    proto::Item item;  // item.name is the key
  };
  /// What an invalidation left behind for one name. A reply is refused when it is older than
  /// the fence: (version < version_floor and its ticket < version_ticket) — a bus invalidation
  /// — or its ticket < local_ticket — a local one, whose version is unknown.
  struct Fence {
    std::uint64_t version_floor = 0;
    std::uint64_t version_ticket = 0;
    std::uint64_t local_ticket = 0;
    std::list<std::string>::iterator age;  // position in fence_order
  };

  explicit Shard(std::size_t cap)
      : capacity(cap), fence_capacity(std::max(kMinFencesPerShard, cap)) {}

  /// Drops the oldest fence, raising the floor so nothing it refused can get in now.
  void drop_oldest_fence() {
    const auto it = fences.find(fence_order.front());
    floor = std::max({floor, it->second.version_ticket, it->second.local_ticket});
    fences.erase(it);
    fence_order.pop_front();
  }

  Fence& fence_for(const std::string& name) {
    auto it = fences.find(name);
    if (it != fences.end()) {
      // Refreshed fences go to the young end, so the oldest is the one least likely needed.
      fence_order.splice(fence_order.end(), fence_order, it->second.age);
      return it->second;
    }
    if (fences.size() >= fence_capacity) drop_oldest_fence();
    fence_order.push_back(name);
    Fence& f = fences[name];
    f.age = std::prev(fence_order.end());
    return f;
  }

  const std::size_t capacity;
  const std::size_t fence_capacity;
  std::mutex mu;
  std::list<Entry> lru;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
  std::unordered_map<std::string, Fence> fences;
  std::list<std::string> fence_order;  // oldest first
  std::uint64_t floor = 0;             // replies with a ticket below it are refused
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t invalidations = 0;
  std::uint64_t fills = 0;
  std::uint64_t fills_refused = 0;
};

LookupCache::LookupCache(std::size_t capacity, std::size_t shards) : capacity_(capacity) {
  const std::size_t n = shard_count(capacity, shards);
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // Spread the capacity so the shards add up to exactly `capacity`.
    shards_.push_back(std::make_unique<Shard>(capacity / n + (i < capacity % n ? 1 : 0)));
  }
}

LookupCache::~LookupCache() = default;

LookupCache::Shard& LookupCache::shard_for(const std::string& name) const {
  if (shards_.size() == 1) return *shards_[0];
  return *shards_[std::hash<std::string>{}(name) % shards_.size()];
}

void LookupCache::set_active(bool active, FlushReason reason) {
  if (!enabled()) return;
  if (!active) {
    // Pause first, then empty: a fill racing with this either sees the pause or is refused by
    // the floor the flush raises.
    active_.store(false, std::memory_order_release);
    flush(reason);
  } else {
    // Empty first: whatever was filled before the bus came back predates its invalidations.
    flush(reason);
    active_.store(true, std::memory_order_release);
  }
}

std::optional<proto::Item> LookupCache::find(const std::string& name, bool count_miss) {
  if (!active()) return std::nullopt;
  Shard& s = shard_for(name);
  std::lock_guard<std::mutex> lock(s.mu);
  const auto it = s.index.find(name);
  if (it == s.index.end()) {
    if (count_miss) ++s.misses;
    return std::nullopt;
  }
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  ++s.hits;
  return it->second->item;
}

std::optional<proto::Item> LookupCache::get(const std::string& name) {
  if (!enabled()) return std::nullopt;
  if (!active()) {
    // Paused: a lookup that has to ask the catalog is still a miss.
    Shard& s = shard_for(name);
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.misses;
    return std::nullopt;
  }
  return find(name, true);
}

std::optional<proto::Item> LookupCache::get_if_cached(const std::string& name) {
  return find(name, false);
}

FillOutcome LookupCache::fill(const proto::Item& item, FillTicket ticket, std::uint64_t source) {
  if (!active()) return FillOutcome::kInactive;
  // A reply from a catalog we have not seen before: what we hold may predate invalidations we
  // never got (the restarted catalog's stream starts again), so start over. This reply's ticket
  // is older than the flush, so it is not stored either.
  if (note_source(source)) return FillOutcome::kNewSource;
  Shard& s = shard_for(item.name);
  std::lock_guard<std::mutex> lock(s.mu);
  // Checked under the lock: set_active(false) pauses before it flushes, so this sees either.
  if (!active_.load(std::memory_order_acquire)) return FillOutcome::kInactive;
  if (ticket.value < s.floor) {
    ++s.fills_refused;
    return FillOutcome::kFlushed;
  }
  const auto fence = s.fences.find(item.name);
  if (fence != s.fences.end()) {
    const Shard::Fence& f = fence->second;
    if (ticket.value < f.local_ticket ||
        (item.version < f.version_floor && ticket.value < f.version_ticket)) {
      ++s.fills_refused;
      return FillOutcome::kFenced;
    }
  }
  const auto it = s.index.find(item.name);
  if (it != s.index.end()) {
    // Never step back: another thread may have stored a newer reply first.
    if (item.version < it->second->item.version) {
      ++s.fills_refused;
      return FillOutcome::kStale;
    }
    it->second->item = item;
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    ++s.fills;
    return FillOutcome::kStored;
  }
  s.lru.push_front(Shard::Entry{item});
  s.index.emplace(item.name, s.lru.begin());
  size_.fetch_add(1, std::memory_order_relaxed);
  ++s.fills;
  while (s.index.size() > s.capacity) {
    s.index.erase(s.lru.back().item.name);
    s.lru.pop_back();
    size_.fetch_sub(1, std::memory_order_relaxed);
    ++s.evictions;
  }
  return FillOutcome::kStored;
}

void LookupCache::offer(const LookupResult& result, FillTicket ticket, std::uint64_t incarnation) {
  if (!enabled() || incarnation == 0) return;
  if (result.status == proto::Status::kOk) {
    fill(result.item, ticket, incarnation);
  } else {
    note_source(incarnation);
  }
}

void LookupCache::invalidate(const std::string& name, std::uint64_t version) {
  if (!enabled()) return;
  const std::uint64_t now = tick();
  Shard& s = shard_for(name);
  std::lock_guard<std::mutex> lock(s.mu);
  ++s.invalidations;
  Shard::Fence& f = s.fence_for(name);
  f.version_floor = std::max(f.version_floor, version);
  f.version_ticket = std::max(f.version_ticket, now);
  const auto it = s.index.find(name);
  // An entry at `version` or newer already holds the change (a reply overtook the event).
  if (it != s.index.end() && it->second->item.version < version) {
    s.lru.erase(it->second);
    s.index.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void LookupCache::on_order_answer(const std::string& name, proto::Status status) {
  // Read-your-writes: before the client hears of its trade, no lookup here may answer with the
  // item as it was before it (the bus invalidation may still be on its way). Only acknowledged
  // trades: one whose outcome is unknown (503) reaches us, if it ever commits, through the bus
  // like any other front end's, and meanwhile the cached item keeps being served, which is what
  // a catalog outage needs.
  if (status == proto::Status::kOk) invalidate_local(name);
}

void LookupCache::invalidate_local(const std::string& name) {
  if (!enabled()) return;
  const std::uint64_t now = tick();
  Shard& s = shard_for(name);
  std::lock_guard<std::mutex> lock(s.mu);
  ++s.invalidations;
  Shard::Fence& f = s.fence_for(name);
  f.local_ticket = std::max(f.local_ticket, now);
  const auto it = s.index.find(name);
  if (it != s.index.end()) {
    s.lru.erase(it->second);
    s.index.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void LookupCache::flush(FlushReason reason) {
  if (!enabled()) return;
  const std::uint64_t now = tick();
  for (auto& shard : shards_) {
    Shard& s = *shard;
    std::lock_guard<std::mutex> lock(s.mu);
    size_.fetch_sub(s.index.size(), std::memory_order_relaxed);
    s.lru.clear();
    s.index.clear();
    // The floor refuses every reply older than the flush, so no fence is needed any more.
    s.fences.clear();
    s.fence_order.clear();
    s.floor = std::max(s.floor, now);
  }
  flushes_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

bool LookupCache::note_source(std::uint64_t incarnation) {
  if (!enabled() || incarnation == 0) return false;
  {
    std::lock_guard<std::mutex> lock(source_mu_);
    if (incarnation == source_) return false;
    const bool first = source_ == 0;
    source_ = incarnation;
    // The very first reply needs no flush when nothing was stored before it; events (the bus
    // side) decide on their own whether a first contact calls for one.
    if (first && size() == 0) return false;
  }
  flush(FlushReason::kCatalogRestart);
  return true;
}

CacheStats LookupCache::stats() const {
  CacheStats st;
  for (const auto& shard : shards_) {
    Shard& s = *shard;
    std::lock_guard<std::mutex> lock(s.mu);
    st.hits += s.hits;
    st.misses += s.misses;
    st.evictions += s.evictions;
    st.invalidations += s.invalidations;
    st.fills += s.fills;
    st.fills_refused += s.fills_refused;
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(FlushReason::kCount); ++i) {
    st.flushes[i] = flushes_[i].load(std::memory_order_relaxed);
  }
  st.entries = size();
  st.capacity = capacity_;
  return st;
}

}  // namespace bazaar::frontend
