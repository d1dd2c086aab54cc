// Carries out a FaultSchedule on a running Cluster: SIGKILLs the chosen processes, waits, starts
// them again on their own data, and notices any process that died without being killed.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/chaos/fault_schedule.h"
#include "tests/integration/cluster.h"

namespace bazaar::chaos {

/// Runs the schedule on the caller's thread, which must be the thread that started the cluster
/// and must outlive every process: the harness starts children with PR_SET_PDEATHSIG, which
/// fires when the *thread* that forked them ends, not the process, so a process restarted from
/// a helper thread would be killed by the kernel the moment that thread returned.
class FaultInjector {
 public:
  /// `log` receives one human-readable line per event.
  FaultInjector(testing::Cluster& cluster, const FaultSchedule& schedule, int frontends,
                std::function<void(const std::string&)> log);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  /// Carries out events until `end`: a fault in progress at `end` is repaired at once (each
  /// restart waits up to 20 s for health), no new one starts. `tick` is called about once a
  /// second with the seconds since run() began (for progress lines).
  void run(std::chrono::steady_clock::time_point end, const std::function<void(int)>& tick);

  /// Kills per fault kind, and events carried out.
  const std::map<std::string, int>& kills_by_kind() const { return kills_; }
  int events_done() const { return events_done_; }
  /// Problems seen: a process that ended without being killed, one that would not restart.
  const std::vector<std::string>& problems() const { return problems_; }

  /// Starts every process that is not running (in dependency order) and waits until each is
  /// healthy; returns the names it had to start. Records a problem for any that stays down.
  std::vector<std::string> repair_all();

 private:
  /// Sleeps `d`, or until the end of the run; returns false when the end came first.
  bool sleep_for(std::chrono::milliseconds d);
  /// The processes an event kills, resolved now (the leader is whoever leads now).
  std::vector<std::string> targets(const FaultEvent& e);
  void check_unexpected_exits();
  double seconds() const;

  testing::Cluster& cluster_;
  const FaultSchedule& schedule_;
  int frontends_;
  std::function<void(const std::string&)> log_;
  std::chrono::steady_clock::time_point t0_, end_;
  std::function<void(int)> tick_;
  int ticked_ = 0;                 // whole seconds reported through tick_
  std::vector<std::string> down_;  // killed by us and not yet restarted
  std::map<std::string, int> kills_;
  int events_done_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace bazaar::chaos
