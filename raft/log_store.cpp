#include "raft/log_store.h"

#include <algorithm>

namespace bazaar::raft {

const char* to_string(WriteOutcome o) {
  switch (o) {
    case WriteOutcome::kWritten:
      return "written";
    case WriteOutcome::kHole:
      return "entries would leave a hole in the log";
    case WriteOutcome::kRemovesCommitted:
      return "the write removes or replaces a committed entry";
    case WriteOutcome::kTermGoesBack:
      return "a term goes back";
    case WriteOutcome::kVoteChanges:
      return "a second vote in one term";
    case WriteOutcome::kCommitPastLog:
      return "the commit index is past the log";
    case WriteOutcome::kCommitGoesBack:
      return "the commit index goes back";
    case WriteOutcome::kBadConfig:
      return "the configuration index is past the commit index or goes back";
  }
  return "?";
}

std::size_t entry_bytes(const proto::LogEntry& e) {
  // term, order number and quantity (8 bytes each), kind and side, and framing.
  constexpr std::size_t kFixed = 32;
  return kFixed + e.request_id.size() + e.name.size();
}

WriteOutcome check_write(const LogStore& store, const LogWrite& w) {
  const HardState stored = store.hard_state();
  if (w.hard_state) {
    if (w.hard_state->term < stored.term) return WriteOutcome::kTermGoesBack;
    if (w.hard_state->term == stored.term && stored.voted_for >= 0 &&
        w.hard_state->voted_for != stored.voted_for) {
      return WriteOutcome::kVoteChanges;
    }
  }
  const std::uint64_t commit = store.commit_index();
  std::uint64_t last = store.last_index();
  if (w.truncate_from) {
    if (*w.truncate_from <= commit || *w.truncate_from < store.first_index()) {
      return WriteOutcome::kRemovesCommitted;
    }
    last = std::min(last, *w.truncate_from - 1);
  }
  if (!w.entries.empty()) {
    const std::uint64_t first = w.first_index;
    if (first == 0 || first > last + 1) return WriteOutcome::kHole;
    if (first <= commit || first < store.first_index()) return WriteOutcome::kRemovesCommitted;
    // The entry before `first` stays; terms along a Raft log never fall.
    std::uint64_t term = store.term(first - 1).value_or(0);
    for (const auto& e : w.entries) {
      if (e.term < term) return WriteOutcome::kTermGoesBack;
      term = e.term;
    }
    last = first + w.entries.size() - 1;
  }
  if (w.commit_index) {
    if (*w.commit_index < commit) return WriteOutcome::kCommitGoesBack;
    if (*w.commit_index > last) return WriteOutcome::kCommitPastLog;
  }
  if (w.config_index && (*w.config_index > w.commit_index.value_or(commit) ||
                         *w.config_index < store.config_index())) {
    return WriteOutcome::kBadConfig;
  }
  return WriteOutcome::kWritten;
}

}  // namespace bazaar::raft
