// The durable side of a Raft replica, as an interface: its log, its hard state (term and vote)
// and a lower bound of its commit index. Shaped after etcd raft's `Storage` (FirstIndex,
// LastIndex, Term, Entries with a size limit), with the write side added: one LogWrite is what
// the core's Ready asks to persist, and a store makes it durable at once (SQLite: one
// transaction, one sync), so a crash leaves all of a write or none of it.
//
// Implementations: MemoryLogStore (raft/memory_log_store.h) for tests and the simulation, and
// order::SqliteLogStore (order/sqlite_log_store.h), the order replica's database. Both check
// every write against the rules below with check_write() before touching anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "proto_msgs/messages.h"

namespace bazaar::raft {

/// What must survive a crash besides the log: the current term and the vote cast in it.
struct HardState {
  std::uint64_t term = 0;
  std::int32_t voted_for = -1;  // replica id, or -1
  bool operator==(const HardState&) const = default;
};

/// One batch of records to make durable together, applied in this order: hard state, removal
/// of the entries from `truncate_from` on, the entries from `first_index` on (they replace
/// whatever the store holds from there: an overlap cuts the tail, as etcd's Append does), the
/// commit index, the index of the configuration in force. Fields left unset are left as they
/// are.
struct LogWrite {
  std::optional<HardState> hard_state;
  std::optional<std::uint64_t> truncate_from;
  std::uint64_t first_index = 0;  // index of entries[0]; unused when entries is empty
  std::vector<proto::LogEntry> entries;
  std::optional<std::uint64_t> commit_index;
  /// The latest committed configuration entry (kind kConfig), once the core has put it in force.
  std::optional<std::uint64_t> config_index;
  bool empty() const {
    return !hard_state && !truncate_from && entries.empty() && !commit_index && !config_index;
  }
};

/// Why a write was refused; nothing of a refused write is stored. Each is a bug in the caller
/// (a core that breaks a Raft rule), which must stop rather than go on from a log it cannot
/// trust.
enum class WriteOutcome : std::uint8_t {
  kWritten,
  kHole,              // entries would start past the end of the log (after the truncation)
  kRemovesCommitted,  // a truncation or overlap at or below the commit index
  kTermGoesBack,      // the hard state's term below the stored one, or entry terms that fall
  kVoteChanges,       // another vote in the term of the stored vote (one vote per term)
  kCommitPastLog,     // a commit index past the last entry (after the write)
  kCommitGoesBack,    // a commit index below the stored one
  kBadConfig,         // a configuration index past the commit index, or below the stored one
};
const char* to_string(WriteOutcome o);

enum class ReadOutcome : std::uint8_t {
  kOk,
  kCompacted,    // the range starts before first_index(): those entries are gone
  kUnavailable,  // the range ends past last_index()
};

struct EntriesRead {
  ReadOutcome outcome = ReadOutcome::kOk;
  std::vector<proto::LogEntry> entries;
};

/// The bytes an entry counts for in entries()'s size limit: its strings and a fixed overhead
/// for the numbers (about its encoded size in an AppendEntries).
std::size_t entry_bytes(const proto::LogEntry& e);

/// A replica's durable state. Not thread-safe: one owner (the replica's service thread).
/// Reads see every write that returned kWritten. A store whose disk fails throws from the call
/// that hit the failure (SQLite: SQLite::Exception); its owner must then stop, since it can no
/// longer promise what it acknowledges.
class LogStore {
 public:
  virtual ~LogStore() = default;

  virtual HardState hard_state() const = 0;
  /// The persisted commit index: a lower bound of the cluster's (never above last_index()).
  virtual std::uint64_t commit_index() const = 0;
  /// The index of the committed configuration entry in force (LogWrite::config_index), at or
  /// below commit_index(); 0 while none has committed (the configuration is the one the replica
  /// was started with). The core reads that one entry at start: constant time.
  virtual std::uint64_t config_index() const = 0;
  /// The index of the first entry held. 1 while nothing has been compacted (no store compacts
  /// yet: the order replica keeps its whole history on disk).
  virtual std::uint64_t first_index() const = 0;
  /// The index of the last entry; first_index() - 1 when the log is empty.
  virtual std::uint64_t last_index() const = 0;
  /// The term of entry `index`, for first_index() - 1 <= index <= last_index() (the entry before
  /// the first has term 0 while nothing is compacted); nullopt outside.
  virtual std::optional<std::uint64_t> term(std::uint64_t index) const = 0;
  /// Entries lo..hi-1, ascending, stopping before the entry that would take the total of
  /// entry_bytes() past max_bytes (but always the first one, so a large entry still moves).
  /// lo == hi reads nothing. kCompacted when lo < first_index(), kUnavailable when hi >
  /// last_index() + 1 (or lo > hi); no entries then.
  [[nodiscard]] virtual EntriesRead entries(std::uint64_t lo, std::uint64_t hi,
                                            std::size_t max_bytes) const = 0;
  /// Makes `w` durable, all of it or (when refused, or when it throws) none of it.
  [[nodiscard]] virtual WriteOutcome write(const LogWrite& w) = 0;
};

/// Checks `w` against the rules of WriteOutcome on `store`'s current state, reading at most the
/// term of one stored entry. Every implementation calls it first.
[[nodiscard]] WriteOutcome check_write(const LogStore& store, const LogWrite& w);

}  // namespace bazaar::raft
