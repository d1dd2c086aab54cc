// The clients of a leader that wait for their order's entry to commit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace bazaar::order {

/// Client tokens by the log index of the entry they wait for. Not thread-safe: the Replica owns
/// it and bounds it (ReplicaOptions::max_pending counts these clients too).
class CommitWaiters {
 public:
  /// `tokens` wait for the entry at `index` (joining any that wait already).
  void add(std::uint64_t index, const std::vector<std::uint64_t>& tokens);
  void add(std::uint64_t index, std::uint64_t token) { waiting_[index].push_back(token); }
  /// The entry at `index` committed: removes and returns the clients that waited for it.
  std::vector<std::uint64_t> take(std::uint64_t index);
  /// Leadership ended: removes and returns every client (to be answered "not leader").
  std::vector<std::uint64_t> take_all();
  bool empty() const { return waiting_.empty(); }

 private:
  std::map<std::uint64_t, std::vector<std::uint64_t>> waiting_;
};

}  // namespace bazaar::order
