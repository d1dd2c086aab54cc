#include "order/commit_waiters.h"

namespace bazaar::order {

void CommitWaiters::add(std::uint64_t index, const std::vector<std::uint64_t>& tokens) {
  auto& w = waiting_[index];
  w.insert(w.end(), tokens.begin(), tokens.end());
}

std::vector<std::uint64_t> CommitWaiters::take(std::uint64_t index) {
  auto node = waiting_.extract(index);
  return node.empty() ? std::vector<std::uint64_t>{} : std::move(node.mapped());
}

std::vector<std::uint64_t> CommitWaiters::take_all() {
  std::vector<std::uint64_t> out;
  for (auto& [index, tokens] : waiting_) out.insert(out.end(), tokens.begin(), tokens.end());
  waiting_.clear();
  return out;
}

}  // namespace bazaar::order
