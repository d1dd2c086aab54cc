// Carries out a FaultSchedule on a running cluster: SIGKILLs the chosen processes and starts them
// again on their own data; pauses processes (SIGSTOP/SIGCONT); on a cluster in namespaces, cuts
// links (partitions, flapping pairs, minority splits) and slows them; heals each fault after its
// time; and notices any process that died without being killed.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/chaos/cluster_control.h"
#include "tests/chaos/fault_schedule.h"

namespace bazaar::chaos {

class NetnsCluster;

/// Runs the schedule on the caller's thread, which must be the thread that started the cluster
/// and must outlive every process: the harness starts children with PR_SET_PDEATHSIG, which
/// fires when the *thread* that forked them ends, not the process, so a process restarted from
/// a helper thread would be killed by the kernel the moment that thread returned.
class FaultInjector {
 public:
  /// `net` is the same cluster when it runs in namespaces (network faults), else nullptr; an
  /// event of a network kind without it is skipped. `log` receives one line per event.
  FaultInjector(ClusterControl& cluster, NetnsCluster* net, const FaultSchedule& schedule,
                std::function<void(const std::string&)> log);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  /// Carries out events until `end`: a fault in progress at `end` is repaired at once (each
  /// restart waits up to 20 s for health), no new one starts. `tick` is called about once a
  /// second with the seconds since run() began (for progress lines).
  void run(std::chrono::steady_clock::time_point end, const std::function<void(int)>& tick);

  /// When `*stop` becomes true (a signal), run() ends within about a second, as at `end`.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }

  /// Events carried out per fault kind, and in all.
  const std::map<std::string, int>& faults_by_kind() const { return faults_; }
  int events_done() const { return events_done_; }
  /// Problems seen: a process that ended without being killed, one that would not restart.
  const std::vector<std::string>& problems() const { return problems_; }

  /// Starts every process that is not running (in dependency order) and waits until each is
  /// healthy; returns the names it had to start. Records a problem for any that stays down.
  std::vector<std::string> repair_all();

 private:
  /// Sleeps `d`, or until the end of the run; returns false when the end came first.
  bool sleep_for(std::chrono::milliseconds d);
  /// The processes a kill event kills, resolved now (the leader is whoever leads now).
  std::vector<std::string> targets(const FaultEvent& e);
  /// The leader now (waiting up to 2 s for one), or the highest replica when none answers.
  std::string current_leader();
  void kill_event(const FaultEvent& e);
  /// Partition, flap, pause, delay: inject, hold for e.down, heal (also when the end comes).
  void network_event(const FaultEvent& e);
  /// Two distinct processes, half the time with the leader among them.
  std::pair<std::string, std::string> pick_pair(std::mt19937_64& rng, const std::string& leader);
  void check_unexpected_exits();
  double seconds() const;
  void note(const FaultEvent& e, const std::string& what);
  /// kWipe: kills a replica, then replaces it (ClusterControl::replace) and waits for it.
  void wipe_event(const FaultEvent& e);

  ClusterControl& cluster_;
  NetnsCluster* net_;
  const FaultSchedule& schedule_;
  std::function<void(const std::string&)> log_;
  std::chrono::steady_clock::time_point t0_, end_;
  std::function<void(int)> tick_;
  const std::atomic<bool>* stop_ = nullptr;
  int ticked_ = 0;                 // whole seconds reported through tick_
  std::vector<std::string> down_;  // killed by us and not yet restarted
  std::map<std::string, int> faults_;
  int events_done_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace bazaar::chaos
