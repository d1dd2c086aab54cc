// What the front end believes about the order leader and the bus, shared by the order link, the
// bus subscriber and /health, and fed by announcements and by the answers replicas give.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "frontend/service_results.h"

namespace bazaar::frontend {

/// Thread-safe (one mutex; every method is short and never blocks on I/O). Time is passed in,
/// so the rules can be tested without sleeping. The replicas it knows are 1..replicas at start,
/// and any replica the order link has connected to since, on the strength of its announcement
/// (note_endpoint, then learn: a replica added to the cluster later, docs/REPLICATION.md
/// "Membership"); ids it does not know are ignored.
class LeaderTracker {
 public:
  using Clock = std::chrono::steady_clock;

  /// A replica that timed out is avoided for `suspect_window` when picking where to send.
  LeaderTracker(std::uint32_t replicas, std::chrono::milliseconds suspect_window);

  /// How many replicas it knows (the front end's --orders, and those learnt since).
  std::uint32_t replicas() const;
  /// Whether replica `id` is known (the order link has a socket for it).
  bool known(std::uint32_t id) const;
  /// The known replica ids, highest first.
  std::vector<std::uint32_t> known_ids() const;

  // ---- replicas added to the cluster -----------------------------------------------------

  /// A LeaderAnnouncement's endpoint: replica `id`, not known, accepts clients at `endpoint`.
  /// Kept until the order link takes it (take_new_endpoints). Ignored for a known id, an id
  /// outside 1..9, or an endpoint a client cannot connect to (not tcp://, or a wildcard host).
  void note_endpoint(std::uint32_t id, const std::string& endpoint);
  /// The endpoints noted since the last call (for the order link's thread).
  std::map<std::uint32_t, std::string> take_new_endpoints();
  /// The order link has connected to replica `id`: it is known from now on.
  void learn(std::uint32_t id);

  // ---- leader ----------------------------------------------------------------------------

  /// A LeaderAnnouncement, or a StatusReply whose role is "leader". Taken when `term` is at
  /// least the highest seen: there is at most one leader per term, so an equal term is the same
  /// leader re-announcing (e.g. after a broker restart). A lower term is taken only while no
  /// leader is known. Returns true when taken.
  bool note_leader(std::uint32_t id, std::uint64_t term);

  /// Replica `id` just committed an order: it leads (the term is unchanged) and is not suspect.
  void note_accepted(std::uint32_t id);

  /// Replica `id` says it does not lead: forget it as leader (the term is kept).
  void note_not_leader(std::uint32_t id);

  /// Replica `id` did not answer in time: avoid it until `now + suspect_window`, and forget it
  /// as leader if it was.
  void note_timeout(std::uint32_t id, Clock::time_point now);

  bool suspect(std::uint32_t id, Clock::time_point now) const;

  /// Where to send an order: the leader's id, or -1 when none is known or it is suspect.
  std::int32_t routable_leader(Clock::time_point now) const;

  /// Where to send an order when the last known leader timed out (this front end may be cut off
  /// from it while its followers are not): the highest id that is neither that leader nor
  /// suspect, which forwards the order to the leader it hears (or answers "not leader" during an
  /// election); -1 when there is none, or no leader was ever known or it is not suspect.
  std::int32_t relay(Clock::time_point now) const;

  /// The leader as known (announced, probed or confirmed), for /health.
  std::optional<LeaderInfo> leader() const;

  /// Times the leader changed from one replica to another (a fail-over followed), for /metrics.
  std::uint64_t failovers() const;

  // ---- bus -------------------------------------------------------------------------------

  /// A broker heartbeat published every `interval_ms`.
  void note_heartbeat(std::uint32_t interval_ms, Clock::time_point now);

  /// True when a heartbeat arrived within 3 of its intervals.
  bool bus_alive(Clock::time_point now) const;

 private:
  /// Needs mu_.
  bool known_locked(std::uint32_t id) const;
  /// Makes `id` the leader; counts a fail-over when another replica led before. Needs mu_.
  void take_leader_locked(std::uint32_t id);

  const std::chrono::milliseconds suspect_window_;

  mutable std::mutex mu_;
  std::uint32_t known_ = 0;                             // guarded by mu_; bit k: replica k
  std::map<std::uint32_t, std::string> new_endpoints_;  // guarded by mu_; noted, not yet taken
  std::int32_t leader_id_ = -1;                         // guarded by mu_; -1: unknown
  std::int32_t last_leader_id_ = -1;                    // guarded by mu_; kept when forgotten
  std::uint64_t failovers_ = 0;                         // guarded by mu_
  std::uint64_t term_ = 0;                              // guarded by mu_; highest term seen
  std::vector<Clock::time_point> suspect_until_;        // guarded by mu_; index id-1, all 9 ids
  std::optional<Clock::time_point> last_heartbeat_;     // guarded by mu_
  std::chrono::milliseconds heartbeat_interval_{250};   // guarded by mu_
};

}  // namespace bazaar::frontend
