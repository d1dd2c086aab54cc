#include "frontend/leader_tracker.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "proto_msgs/messages.h"

namespace bazaar::frontend {

LeaderTracker::LeaderTracker(std::uint32_t replicas, std::chrono::milliseconds suspect_window)
    : suspect_window_(suspect_window), suspect_until_(proto::kMaxReplicaId) {
  for (std::uint32_t id = 1; id <= std::min(replicas, proto::kMaxReplicaId); ++id) {
    known_ |= 1u << id;
  }
}

bool LeaderTracker::known_locked(std::uint32_t id) const {
  return id >= 1 && id <= proto::kMaxReplicaId && (known_ & (1u << id)) != 0;
}

std::uint32_t LeaderTracker::replicas() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<std::uint32_t>(std::popcount(known_));
}

bool LeaderTracker::known(std::uint32_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return known_locked(id);
}

std::vector<std::uint32_t> LeaderTracker::known_ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::uint32_t> ids;
  for (std::uint32_t id = proto::kMaxReplicaId; id >= 1; --id) {
    if (known_locked(id)) ids.push_back(id);
  }
  return ids;
}

void LeaderTracker::note_endpoint(std::uint32_t id, const std::string& endpoint) {
  // A replica bound to every interface announces an address nobody can connect to.
  const bool connectable = endpoint.rfind("tcp://", 0) == 0 && endpoint.rfind("tcp://*", 0) != 0 &&
                           endpoint.rfind("tcp://0.0.0.0", 0) != 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (id < 1 || id > proto::kMaxReplicaId || known_locked(id) || !connectable) return;
  new_endpoints_[id] = endpoint;
}

std::map<std::uint32_t, std::string> LeaderTracker::take_new_endpoints() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(new_endpoints_, {});
}

void LeaderTracker::learn(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (id >= 1 && id <= proto::kMaxReplicaId) known_ |= 1u << id;
}

bool LeaderTracker::note_leader(std::uint32_t id, std::uint64_t term) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!known_locked(id)) return false;
  // A lower term is taken only while no leader is known: order replicas keep their term on
  // disk, so this is rare, but a front end must never be stuck refusing every leader (say,
  // after the whole order service was rebuilt from scratch). A deposed leader taken this way
  // answers kNotLeader or fails to commit, and is forgotten again.
  if (term < term_ && leader_id_ >= 0) return false;
  term_ = term;
  take_leader_locked(id);
  // A fresh claim of leadership outweighs an old timeout: try it again.
  suspect_until_[id - 1] = Clock::time_point{};
  return true;
}

void LeaderTracker::note_accepted(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!known_locked(id)) return;
  take_leader_locked(id);
  suspect_until_[id - 1] = Clock::time_point{};
}

void LeaderTracker::take_leader_locked(std::uint32_t id) {
  const auto next = static_cast<std::int32_t>(id);
  if (last_leader_id_ >= 1 && last_leader_id_ != next) ++failovers_;
  leader_id_ = next;
  last_leader_id_ = next;
}

std::uint64_t LeaderTracker::failovers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failovers_;
}

void LeaderTracker::note_not_leader(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (leader_id_ == static_cast<std::int32_t>(id)) leader_id_ = -1;
}

void LeaderTracker::note_timeout(std::uint32_t id, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!known_locked(id)) return;
  suspect_until_[id - 1] = now + suspect_window_;
  // A leader that does not answer is not one we can name: forget it (the term is kept), so
  // /health says so and whoever answers as leader next is taken.
  if (leader_id_ == static_cast<std::int32_t>(id)) leader_id_ = -1;
}

bool LeaderTracker::suspect(std::uint32_t id, Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!known_locked(id)) return true;
  return now < suspect_until_[id - 1];
}

std::int32_t LeaderTracker::routable_leader(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (leader_id_ < 0) return -1;
  if (now < suspect_until_[static_cast<std::size_t>(leader_id_ - 1)]) return -1;
  return leader_id_;
}

std::int32_t LeaderTracker::relay(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  // The leader is forgotten when it times out (note_timeout); the last one known is the one
  // this front end may be cut off from.
  const std::int32_t cut = leader_id_ >= 1 ? leader_id_ : last_leader_id_;
  if (cut < 1 || now >= suspect_until_[static_cast<std::size_t>(cut - 1)]) return -1;
  for (auto id = static_cast<std::int32_t>(suspect_until_.size()); id >= 1; --id) {
    if (id != cut && known_locked(static_cast<std::uint32_t>(id)) &&
        now >= suspect_until_[static_cast<std::size_t>(id - 1)]) {
      return id;
    }
  }
  return -1;
}

std::optional<LeaderInfo> LeaderTracker::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (leader_id_ < 0) return std::nullopt;
  return LeaderInfo{static_cast<std::uint32_t>(leader_id_), term_};
}

void LeaderTracker::note_heartbeat(std::uint32_t interval_ms, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  last_heartbeat_ = now;
  if (interval_ms > 0) heartbeat_interval_ = std::chrono::milliseconds(interval_ms);
}

bool LeaderTracker::bus_alive(Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_heartbeat_ && now - *last_heartbeat_ <= 3 * heartbeat_interval_;
}

}  // namespace bazaar::frontend
