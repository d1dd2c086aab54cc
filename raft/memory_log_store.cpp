#include "raft/memory_log_store.h"

#include <algorithm>

namespace bazaar::raft {

MemoryLogStore::MemoryLogStore(HardState hard, std::vector<proto::LogEntry> log,
                               std::uint64_t commit)
    : hard_(hard), log_(std::move(log)), commit_(std::min<std::uint64_t>(commit, log_.size())) {}

std::optional<std::uint64_t> MemoryLogStore::term(std::uint64_t index) const {
  if (index == 0) return 0;
  if (index > log_.size()) return std::nullopt;
  return log_[index - 1].term;
}

EntriesRead MemoryLogStore::entries(std::uint64_t lo, std::uint64_t hi,
                                    std::size_t max_bytes) const {
  EntriesRead out;
  if (lo < first_index()) {
    out.outcome = ReadOutcome::kCompacted;
    return out;
  }
  if (lo > hi || hi > log_.size() + 1) {
    out.outcome = ReadOutcome::kUnavailable;
    return out;
  }
  std::size_t bytes = 0;
  for (std::uint64_t i = lo; i < hi; ++i) {
    const proto::LogEntry& e = log_[i - 1];
    bytes += entry_bytes(e);
    if (bytes > max_bytes && !out.entries.empty()) break;
    out.entries.push_back(e);
  }
  return out;
}

WriteOutcome MemoryLogStore::write(const LogWrite& w) {
  const WriteOutcome check = check_write(*this, w);
  if (check != WriteOutcome::kWritten) return check;
  if (w.hard_state) hard_ = *w.hard_state;
  if (w.truncate_from && *w.truncate_from <= log_.size()) log_.resize(*w.truncate_from - 1);
  if (!w.entries.empty()) {
    log_.resize(w.first_index - 1);  // an overlap cuts the tail (check_write: no hole)
    log_.insert(log_.end(), w.entries.begin(), w.entries.end());
  }
  if (w.commit_index) commit_ = *w.commit_index;
  if (w.config_index) config_ = *w.config_index;
  ++writes_;
  return WriteOutcome::kWritten;
}

}  // namespace bazaar::raft
