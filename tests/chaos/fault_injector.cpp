#include "tests/chaos/fault_injector.h"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace bazaar::chaos {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

FaultInjector::FaultInjector(testing::Cluster& cluster, const FaultSchedule& schedule,
                             int frontends, std::function<void(const std::string&)> log)
    : cluster_(cluster), schedule_(schedule), frontends_(frontends), log_(std::move(log)) {}

double FaultInjector::seconds() const {
  return std::chrono::duration<double>(Clock::now() - t0_).count();
}

bool FaultInjector::sleep_for(std::chrono::milliseconds d) {
  const auto until = Clock::now() + d;
  for (;;) {
    const auto next_tick = t0_ + std::chrono::seconds(ticked_ + 1);
    const auto wake = std::min({until, end_, next_tick});
    std::this_thread::sleep_until(wake);
    if (Clock::now() >= next_tick) {
      ++ticked_;
      if (tick_) tick_(ticked_);
    }
    if (Clock::now() >= end_) return false;
    if (Clock::now() >= until) return true;
  }
}

std::vector<std::string> FaultInjector::targets(const FaultEvent& e) {
  const int replicas = cluster_.replicas();
  // The leader as the replicas see it now. Just after a fail-over there may be none for a
  // moment; wait a little for one rather than hit a random replica.
  std::string leader;
  const bool needs_leader = e.kind == FaultKind::kLeader || e.kind == FaultKind::kFollower ||
                            e.kind == FaultKind::kLeaderAndCatalog ||
                            e.kind == FaultKind::kMajority;
  for (int i = 0; needs_leader && i < 20 && leader.empty(); ++i) {
    leader = cluster_.leader();
    if (leader.empty() && !sleep_for(100ms)) return {};
  }
  if (needs_leader && leader.empty()) leader = "order-" + std::to_string(replicas);
  std::vector<std::string> followers;
  for (int k = 1; k <= replicas; ++k) {
    const std::string name = "order-" + std::to_string(k);
    if (name != leader) followers.push_back(name);
  }
  const std::string follower = followers[e.pick % followers.size()];
  switch (e.kind) {
    case FaultKind::kLeader:
      return {leader};
    case FaultKind::kFollower:
      return {follower};
    case FaultKind::kCatalog:
      return {"catalog"};
    case FaultKind::kBroker:
      return {"broker"};
    case FaultKind::kFrontend:
      return {"frontend-" + std::to_string(1 + e.pick % static_cast<std::uint32_t>(frontends_))};
    case FaultKind::kLeaderAndCatalog:
      // Which dies first is part of the schedule: the catalog first leaves the leader's trades
      // unanswered, the leader first leaves them applied and uncommitted.
      return (e.pick >> 8) % 2 ? std::vector<std::string>{leader, "catalog"}
                               : std::vector<std::string>{"catalog", leader};
    case FaultKind::kMajority:
      return {leader, follower};
  }
  return {};
}

void FaultInjector::check_unexpected_exits() {
  std::vector<std::string> names{"broker", "catalog"};
  for (int k = 1; k <= cluster_.replicas(); ++k) names.push_back("order-" + std::to_string(k));
  for (int k = 1; k <= frontends_; ++k) names.push_back("frontend-" + std::to_string(k));
  for (const auto& name : names) {
    if (std::find(down_.begin(), down_.end(), name) != down_.end()) continue;
    if (!cluster_.running(name)) {
      char line[200];
      std::snprintf(line, sizeof line, "t=%.1fs %s exited without being killed (see %s/%s.log)",
                    seconds(), name.c_str(), cluster_.dir().c_str(), name.c_str());
      problems_.push_back(line);
      log_(line);
      cluster_.start(name);
    }
  }
}

void FaultInjector::run(Clock::time_point end, const std::function<void(int)>& tick) {
  t0_ = Clock::now();
  end_ = end;
  tick_ = tick;
  for (const FaultEvent& e : schedule_.events()) {
    if (!sleep_for(e.gap)) break;
    check_unexpected_exits();
    const std::vector<std::string> names = targets(e);
    if (names.empty()) break;  // the end came while looking for the leader
    std::string what;
    for (const auto& name : names) {
      cluster_.kill(name, 9);
      down_.push_back(name);
      what += (what.empty() ? "" : " ") + name;
    }
    ++kills_[to_string(e.kind)];
    ++events_done_;
    char line[200];
    std::snprintf(line, sizeof line, "t=%.1fs kill %s (%s), down %lld ms", seconds(),
                  to_string(e.kind), what.c_str(), static_cast<long long>(e.down.count()));
    log_(line);
    sleep_for(e.down);  // cut short by the end: the fault is repaired below either way
    // Restart in the order killed (the catalog before a leader killed after it, and so on).
    for (const auto& name : names) {
      const auto t = Clock::now();
      cluster_.start(name);
      if (!cluster_.running(name)) {
        problems_.push_back(name + " did not restart (see its log in " + cluster_.dir() + ")");
      }
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
      if (took > 5s) {
        std::snprintf(line, sizeof line, "t=%.1fs %s took %lld ms to be healthy again", seconds(),
                      name.c_str(), static_cast<long long>(took.count()));
        log_(line);
      }
    }
    down_.clear();
  }
  // Out of events before the end (restarts were quick): the clients go on without faults.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now());
  if (left.count() > 0) sleep_for(left);
  check_unexpected_exits();
}

std::vector<std::string> FaultInjector::repair_all() {
  std::vector<std::string> names{"broker", "catalog"};
  for (int k = 1; k <= cluster_.replicas(); ++k) names.push_back("order-" + std::to_string(k));
  for (int k = 1; k <= frontends_; ++k) names.push_back("frontend-" + std::to_string(k));
  std::vector<std::string> started;
  for (const auto& name : names) {
    if (cluster_.running(name)) continue;
    cluster_.start(name);
    started.push_back(name);
    if (!cluster_.running(name)) problems_.push_back(name + " could not be started");
  }
  for (const auto& name : names) {
    if (!cluster_.wait_healthy(name, 20s)) problems_.push_back(name + " not healthy at the end");
  }
  return started;
}

}  // namespace bazaar::chaos
