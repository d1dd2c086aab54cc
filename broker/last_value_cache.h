// Which leader announcement the broker replays to a new subscriber (zguide's last-value cache).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::broker {

/// Pure bookkeeping, no sockets: remembers the newest leader announcement seen on the bus and
/// says whether a subscription should get it replayed. Not thread-safe (the bus loop owns it).
class LastValueCache {
 public:
  /// Offers a published event. Keeps it when `topic` is the leader topic and its term is at least
  /// the kept one's (a later announcement of the same term replaces an earlier one; a stale term
  /// never replaces a newer one). Returns true when kept. Undecodable payloads are ignored.
  bool offer(std::string_view topic, std::string_view payload);

  /// The payload to replay for a subscription to `prefix` (a subscriber's topic filter), or
  /// nothing when no announcement is known or the filter does not match the leader topic.
  std::optional<std::string> replay_for(std::string_view prefix) const;

  std::uint64_t term() const { return term_; }

 private:
  std::optional<std::string> payload_;  // newest LeaderAnnouncement envelope
  std::uint64_t term_ = 0;              // its term
};

}  // namespace bazaar::broker
