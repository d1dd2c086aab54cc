#include "tests/chaos/fault_schedule.h"

#include <random>

namespace bazaar::chaos {

namespace {

// Relative weights per kind, in enum order. The leader is the interesting one (trades applied at
// the catalog and not yet committed); double faults are rarer so the system also has time to
// serve between them.
constexpr int kWeights[kFaultKinds] = {30, 15, 20, 15, 8, 6, 6};

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
  }
  return "?";
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
    e.down = std::chrono::milliseconds(uniform(options.min_down.count(), options.max_down.count()));
    e.pick = static_cast<std::uint32_t>(rng());
    covered += e.gap + e.down;
    events_.push_back(e);
  }
}

}  // namespace bazaar::chaos
