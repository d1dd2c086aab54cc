#include "tests/chaos/fault_schedule.h"

#include <random>

namespace bazaar::chaos {

namespace {

// Relative weights per kind, in enum order. The leader is the interesting one (trades applied at
// the catalog and not yet committed); double faults are rarer so the system also has time to
// serve between them.
// Network faults: the leader's links weigh most, as the leader's kills do.
constexpr int kWeights[kFaultKinds] = {30, 15, 20, 15, 8, 6, 6, 14, 12, 10, 10, 10, 18, 12, 12};

}  // namespace

const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::kLeader:
      return "leader";
    case FaultKind::kFollower:
      return "follower";
    case FaultKind::kCatalog:
      return "catalog";
    case FaultKind::kBroker:
      return "broker";
    case FaultKind::kFrontend:
      return "frontend";
    case FaultKind::kLeaderAndCatalog:
      return "leader+catalog";
    case FaultKind::kMajority:
      return "majority";
    case FaultKind::kPartitionLeader:
      return "partition-leader";
    case FaultKind::kPartitionCatalog:
      return "partition-catalog";
    case FaultKind::kPartitionFrontend:
      return "partition-frontend";
    case FaultKind::kFlap:
      return "flap";
    case FaultKind::kSplit:
      return "split";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kDelay:
      return "delay";
    case FaultKind::kWipe:
      return "wipe";
  }
  return "?";
}

FaultClass class_of(FaultKind kind) {
  switch (kind) {
    case FaultKind::kPartitionLeader:
    case FaultKind::kPartitionCatalog:
    case FaultKind::kPartitionFrontend:
    case FaultKind::kFlap:
    case FaultKind::kSplit:
      return FaultClass::kPartition;
    case FaultKind::kPause:
      return FaultClass::kPause;
    case FaultKind::kDelay:
      return FaultClass::kDelay;
    case FaultKind::kWipe:
      return FaultClass::kWipe;
    default:
      return FaultClass::kKill;
  }
}

const char* to_string(FaultClass c) {
  switch (c) {
    case FaultClass::kKill:
      return "kill";
    case FaultClass::kPartition:
      return "partition";
    case FaultClass::kPause:
      return "pause";
    case FaultClass::kDelay:
      return "delay";
    case FaultClass::kWipe:
      return "wipe";
  }
  return "?";
}

bool parse_fault_class(const std::string& name, FaultClass& c) {
  for (FaultClass k : {FaultClass::kKill, FaultClass::kPartition, FaultClass::kPause,
                       FaultClass::kDelay, FaultClass::kWipe}) {
    if (name == to_string(k)) {
      c = k;
      return true;
    }
  }
  return false;
}

bool parse_fault_kind(const std::string& name, FaultKind& kind) {
  for (int k = 0; k < kFaultKinds; ++k) {
    if (name == to_string(static_cast<FaultKind>(k))) {
      kind = static_cast<FaultKind>(k);
      return true;
    }
  }
  return false;
}

FaultSchedule::FaultSchedule(const ScheduleOptions& options) {
  // std::mt19937_64 and our own scaling (not std::uniform_int_distribution, whose algorithm the
  // standard leaves to the library), so a seed means the same schedule on every platform.
  std::mt19937_64 rng(options.seed);
  const auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  std::vector<FaultKind> kinds = options.kinds;
  if (kinds.empty()) {
    for (int k = 0; k < kFaultKinds; ++k) kinds.push_back(static_cast<FaultKind>(k));
  }
  int total = 0;
  for (FaultKind k : kinds) total += kWeights[static_cast<int>(k)];

  std::chrono::milliseconds covered{0};
  while (covered < options.duration) {
    FaultEvent e;
    e.gap = std::chrono::milliseconds(uniform(options.min_gap.count(), options.max_gap.count()));
    std::int64_t draw = uniform(0, total - 1);
    for (FaultKind k : kinds) {
      draw -= kWeights[static_cast<int>(k)];
      if (draw < 0) {
        e.kind = k;
        break;
      }
    }
    // One draw either way, so a kill-only schedule is the one the same seed always gave.
    const bool net = class_of(e.kind) != FaultClass::kKill && class_of(e.kind) != FaultClass::kWipe;
    e.down = std::chrono::milliseconds(
        net ? uniform(options.min_net.count(), options.max_net.count())
            : uniform(options.min_down.count(), options.max_down.count()));
    e.pick = static_cast<std::uint32_t>(rng());
    covered += e.gap + e.down;
    events_.push_back(e);
  }
}

}  // namespace bazaar::chaos
