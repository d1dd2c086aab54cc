// The front end's version-fenced LRU cache of catalog items (DESIGN.md G4).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "frontend/service_results.h"
#include "proto_msgs/messages.h"

namespace bazaar::frontend {

/// Taken before a lookup is sent to the catalog and handed back with its reply to fill(): it
/// says how old the reply may be, so an invalidation or flush that came in between can refuse it.
struct FillTicket {
  std::uint64_t value = 0;
};

/// What fill() did with a catalog reply.
enum class FillOutcome : std::uint8_t {
  kStored,     // now cached (new entry, or replaced an entry of the same or an older version)
  kFenced,     // an invalidation newer than the reply was seen while it was on its way
  kStale,      // the cache already holds a newer version of the item
  kFlushed,    // the whole cache was flushed (or a fence dropped) after the ticket was taken
  kInactive,   // the cache is off (--no-cache) or paused (no live bus)
  kNewSource,  // the reply came from a new catalog incarnation: the cache was flushed instead
};

/// Why the whole cache was emptied; a label of bazaar_cache_flushes_total.
enum class FlushReason : std::uint8_t {
  kBusLost,         // no broker heartbeat for 3 intervals: invalidations may be lost
  kBusRestart,      // a new broker incarnation (or the first heartbeat ever)
  kSequenceGap,     // an event sequence number was skipped: an invalidation was lost
  kCatalogRestart,  // a new catalog incarnation (in a reply or an event), or its first event
  kCount,
};
const char* to_string(FlushReason reason);

/// Counters of one cache, summed over its shards.
struct CacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;      // entries pushed out by the LRU bound
  std::uint64_t invalidations = 0;  // invalidations applied (bus and local)
  std::uint64_t fills = 0;          // replies stored
  std::uint64_t fills_refused = 0;  // replies fill() did not store (fenced, stale, flushed)
  std::uint64_t flushes[static_cast<std::size_t>(FlushReason::kCount)] = {};
  std::uint64_t entries = 0;
  std::uint64_t capacity = 0;
};

/// An LRU map from item name to the item as the catalog last sent it, with the rules of G4:
///
/// - Every entry carries the item's version. An invalidation {name, v} removes an older entry
///   and leaves a fence: a reply with a version below v whose request left before the
///   invalidation arrived is refused, so a late catalog reply cannot re-fill an older value.
///   (Invalidation.version is the item's version after the change, PROTOCOL.md, so a reply
///   carrying v itself is that new value and may be stored.)
/// - invalidate_local() is for a trade this front end acknowledged, whose new version it does
///   not know: it refuses every reply whose request left before it (read-your-writes).
/// - flush() empties everything and refuses every reply whose request left before it.
/// - Fences are bounded too: when a shard's fence table is full its oldest fence is dropped and
///   the shard refuses every reply whose request left before that fence was set, which is
///   stricter than the fence, so dropping one never lets a stale value in.
///
/// Thread-safe. Entries are spread over shards by name hash, each with its own mutex held only
/// for the map and list operations (no I/O, no allocation-heavy work), so HTTP I/O threads and
/// the catalog link's thread rarely wait on each other. With several shards the LRU order is per
/// shard (each holds capacity/shards entries); small caches use one shard and are exactly LRU.
class LookupCache {
 public:
  /// `capacity` entries; 0 turns the cache off (every call is then a cheap no-op/miss).
  /// `shards` 0 picks a count from the capacity (1 for small caches, up to 16).
  explicit LookupCache(std::size_t capacity, std::size_t shards = 0);
  ~LookupCache();

  LookupCache(const LookupCache&) = delete;
  LookupCache& operator=(const LookupCache&) = delete;

  bool enabled() const { return capacity_ > 0; }
  /// Enabled and not paused: lookups may be served from and stored in the cache.
  bool active() const { return enabled() && active_.load(std::memory_order_acquire); }

  /// Pauses (false) or resumes (true) the cache; both flush it with `reason`. Paused, get()
  /// misses and fill() stores nothing. A new cache starts paused until the bus is heard.
  void set_active(bool active, FlushReason reason);

  /// The cached item, marking it most recently used; counts a hit or a miss.
  std::optional<proto::Item> get(const std::string& name);
  /// Like get() but counts nothing on a miss: a look that is not a lookup (tests, tools).
  std::optional<proto::Item> get_if_cached(const std::string& name);

  /// Take one before sending the lookup whose reply will be passed to fill().
  FillTicket ticket() const { return FillTicket{clock_.load(std::memory_order_seq_cst)}; }

  /// Offers a catalog reply (an item that exists) from catalog incarnation `source`.
  FillOutcome fill(const proto::Item& item, FillTicket ticket, std::uint64_t source);

  /// The cache's part of the catalog's answer to a lookup sent with `ticket`: an item found is
  /// offered to fill(); any other answer only tells the catalog incarnation (unknown names are
  /// not cached: hostile lookups must not push real items out). `incarnation` 0 means the
  /// catalog did not answer: nothing to do.
  void offer(const LookupResult& result, FillTicket ticket, std::uint64_t incarnation);

  /// The catalog changed `name` to `version` (an Invalidation from the bus).
  void invalidate(const std::string& name, std::uint64_t version);
  /// This front end had a trade on `name` acknowledged; its new version is not known.
  void invalidate_local(const std::string& name);
  /// The answer to an order on `name` this front end placed, before its client hears it:
  /// invalidate_local() when the trade was acknowledged (read-your-writes), nothing otherwise.
  void on_order_answer(const std::string& name, proto::Status status);

  /// Empties the cache and refuses every reply whose request left before now.
  void flush(FlushReason reason);

  /// The catalog incarnation the entries come from; a different one flushes the cache
  /// (kCatalogRestart) and is remembered. Returns true when it flushed. 0 is ignored.
  bool note_source(std::uint64_t incarnation);

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }
  CacheStats stats() const;

 private:
  struct Shard;

  Shard& shard_for(const std::string& name) const;
  /// Moves the clock on; returns the new value (tickets taken before it are lower).
  std::uint64_t tick() { return clock_.fetch_add(1, std::memory_order_seq_cst) + 1; }
  std::optional<proto::Item> find(const std::string& name, bool count_miss);

  const std::size_t capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  // The fill clock: tickets read it, invalidations and flushes move it on. seq_cst, so a ticket
  // read before a request is sent is ordered against an invalidation applied on another thread.
  std::atomic<std::uint64_t> clock_{1};
  std::atomic<bool> active_{false};
  std::atomic<std::size_t> size_{0};  // entries over all shards
  std::atomic<std::uint64_t> flushes_[static_cast<std::size_t>(FlushReason::kCount)] = {};

  std::mutex source_mu_;
  std::uint64_t source_ = 0;  // guarded by source_mu_; 0 until the first reply or event
};

}  // namespace bazaar::frontend
