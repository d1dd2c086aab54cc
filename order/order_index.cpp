#include "order/order_index.h"

#include <algorithm>
#include <stdexcept>

namespace bazaar::order {

OrderIndex::OrderIndex(SqliteLogStore& store, const raft::RaftCore& core)
    : store_(store), core_(core) {
  // The uncommitted tail is all a restart reads (in the core's batches): its request ids.
  const std::uint64_t last = core_.last_index();
  const std::uint64_t batch = core_.config().max_batch;
  for (std::uint64_t lo = core_.applied_index() + 1; lo <= last;) {
    const std::uint64_t hi = std::min<std::uint64_t>(last + 1, lo + batch);
    const auto entries = core_.entries(lo, hi);
    for (std::size_t k = 0; k < entries.size(); ++k) {
      if (entries[k].kind == proto::LogEntry::kOrder) uncommitted_[entries[k].request_id] = lo + k;
    }
    lo = hi;
  }
}

std::optional<OrderIndex::Found> OrderIndex::find(const std::string& id) const {
  if (auto it = uncommitted_.find(id); it != uncommitted_.end()) {
    return Found{it->second, core_.entry(it->second), false};
  }
  // Past the uncommitted tail only numbered orders remain: the store's index has them.
  if (auto stored = store_.find_request(id); stored && stored->entry.order_number >= 0) {
    return Found{stored->index, std::move(stored->entry), true};
  }
  return std::nullopt;
}

void OrderIndex::note_proposed(const std::string& id, std::uint64_t index) {
  uncommitted_[id] = index;
}

std::vector<OrderIndex::Committed> OrderIndex::persist(const raft::Ready& ready) {
  // Number the orders this Ready commits: the next numbers, in log order (the same on every
  // replica, since every replica commits the same log).
  std::vector<Committed> committed;
  std::vector<AppliedOrder> applied;
  std::int64_t next = store_.committed_orders();
  for (std::size_t k = 0; k < ready.committed.size(); ++k) {
    const proto::LogEntry& e = ready.committed[k];
    if (e.kind != proto::LogEntry::kOrder) continue;
    const std::uint64_t index = ready.committed_first + k;
    applied.push_back({.index = index, .number = next});
    committed.push_back({.index = index, .number = next, .request_id = e.request_id});
    ++next;
  }
  const raft::LogWrite write = ready.log_write();
  if (!write.empty() || !applied.empty()) {
    const raft::WriteOutcome outcome = store_.write(write, applied);
    if (outcome != raft::WriteOutcome::kWritten) {
      throw std::logic_error(std::string("order replica: the log store refused a write: ") +
                             raft::to_string(outcome));
    }
  }
  // The uncommitted ids follow the log: cut with it, extended by what a leader sent, and left
  // behind by what committed (the store answers for those now).
  std::optional<std::uint64_t> cut = ready.truncate_from;
  if (!ready.entries.empty()) cut = std::min(cut.value_or(ready.first_index), ready.first_index);
  if (cut) std::erase_if(uncommitted_, [&](const auto& kv) { return kv.second >= *cut; });
  // An entry this same Ready commits (a follower catching up) is answered by the store at once.
  // (committed_first is 0 when the Ready commits nothing: then none is skipped.)
  const std::uint64_t committed_end = ready.committed_first + ready.committed.size();
  for (std::size_t k = 0; k < ready.entries.size(); ++k) {
    const proto::LogEntry& e = ready.entries[k];
    const std::uint64_t index = ready.first_index + k;
    if (e.kind == proto::LogEntry::kOrder && index >= committed_end) {
      uncommitted_[e.request_id] = index;
    }
  }
  for (const auto& c : committed) {
    if (auto it = uncommitted_.find(c.request_id);
        it != uncommitted_.end() && it->second == c.index) {
      uncommitted_.erase(it);
    }
  }
  return committed;
}

}  // namespace bazaar::order
