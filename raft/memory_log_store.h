// A LogStore in memory: for the tests and the simulation, where "the disk" is what survives a
// simulated crash (keep the store, drop the core).
#pragma once

#include <vector>

#include "raft/log_store.h"

namespace bazaar::raft {

/// Holds everything it is given in memory; never throws, never forgets. Not thread-safe.
class MemoryLogStore final : public LogStore {
 public:
  MemoryLogStore() = default;
  /// Starts from a log 1..log.size() (log[0] is index 1), as if written and committed to
  /// `commit` (at most log.size()).
  MemoryLogStore(HardState hard, std::vector<proto::LogEntry> log, std::uint64_t commit);

  HardState hard_state() const override { return hard_; }
  std::uint64_t commit_index() const override { return commit_; }
  std::uint64_t config_index() const override { return config_; }
  std::uint64_t first_index() const override { return 1; }
  std::uint64_t last_index() const override { return log_.size(); }
  std::optional<std::uint64_t> term(std::uint64_t index) const override;
  [[nodiscard]] EntriesRead entries(std::uint64_t lo, std::uint64_t hi,
                                    std::size_t max_bytes) const override;
  [[nodiscard]] WriteOutcome write(const LogWrite& w) override;

  /// Writes that returned kWritten, since construction (the simulation counts syncs with it).
  std::uint64_t writes() const { return writes_; }

 private:
  HardState hard_;
  std::vector<proto::LogEntry> log_;  // log_[0] is index 1
  std::uint64_t commit_ = 0;
  std::uint64_t config_ = 0;
  std::uint64_t writes_ = 0;
};

}  // namespace bazaar::raft
