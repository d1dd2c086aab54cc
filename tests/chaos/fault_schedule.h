// The chaos harness's fault schedule: which process to kill, cut off, pause or slow down, when,
// and for how long, drawn from a seed. Pure: no processes, no clock. The same seed always gives the
// same schedule, so a failing run can be replayed (the interleaving with the clients differs, the
// faults do not).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::chaos {

/// What one fault event kills. Which replica "leader" and "follower" mean is decided when the
/// event fires (it is whoever leads then); `FaultEvent::pick` chooses among the followers.
enum class FaultKind : std::uint8_t {
  kLeader,            // the current order leader
  kFollower,          // one order replica that does not lead
  kCatalog,           // the catalog (restarted on the same database)
  kBroker,            // the event bus (it holds no state)
  kFrontend,          // one frontend (clients switch to another or wait for it)
  kLeaderAndCatalog,  // both at once: the window between a trade and its commit, twice over
  kMajority,          // two order replicas, the leader among them: no majority for a while
  // Network faults (a cluster in namespaces, `launch/bazaar up --netns`): iptables DROP rules.
  kPartitionLeader,    // the leader from every other order replica
  kPartitionCatalog,   // the leader from the catalog
  kPartitionFrontend,  // one frontend from the leader
  kFlap,               // one pair of processes cut and healed again and again
  kSplit,              // a minority (one replica and some others) from the rest
  kPause,              // SIGSTOP any one process, SIGCONT after the fault's time (0.3-6 s)
  kDelay,              // delay (and some loss) on the link between two processes, both ways
  // One order replica (the leader half the time) loses its disk: killed, its database deleted,
  // started again with --join after the fault's time (launch/bazaar replace); the next fault
  // waits until it has caught up, so a majority's copies are never lost at once.
  kWipe,
};
inline constexpr int kFaultKinds = 15;

/// The classes of `--faults`: kill (the first seven), partition (five), pause, delay, wipe.
enum class FaultClass : std::uint8_t { kKill, kPartition, kPause, kDelay, kWipe };
FaultClass class_of(FaultKind kind);
/// "kill", "partition", "pause", "delay", "wipe"; parse_fault_class is its inverse.
const char* to_string(FaultClass c);
bool parse_fault_class(const std::string& name, FaultClass& c);

/// Stable lower-case name ("leader", "follower", ..., "leader+catalog", "majority").
const char* to_string(FaultKind kind);
/// The kind named `name` (as printed by to_string); false when there is none.
bool parse_fault_kind(const std::string& name, FaultKind& kind);

/// One fault: wait `gap` after the previous one was repaired, inject, wait `down`, repair.
struct FaultEvent {
  std::chrono::milliseconds gap{0};
  FaultKind kind = FaultKind::kLeader;
  std::chrono::milliseconds down{0};
  std::uint32_t pick = 0;  // chooses a follower or frontend among those eligible; for network
                           // faults also the processes, link delay and loss (FaultInjector)
};

struct ScheduleOptions {
  std::uint64_t seed = 1;
  std::chrono::seconds duration{60};
  std::vector<FaultKind> kinds;  // kinds to draw from; empty means every kind
  std::chrono::milliseconds min_gap{500}, max_gap{2500};
  std::chrono::milliseconds min_down{100}, max_down{4000};  // kills
  std::chrono::milliseconds min_net{300}, max_net{6000};    // partitions, pauses, delays
};

/// A seeded sequence of fault events covering at least `duration` of nominal time (gaps plus
/// down times). Weights favour the leader, the case that matters most for G1 and G2.
class FaultSchedule {
 public:
  explicit FaultSchedule(const ScheduleOptions& options);

  const std::vector<FaultEvent>& events() const { return events_; }

 private:
  std::vector<FaultEvent> events_;
};

}  // namespace bazaar::chaos
