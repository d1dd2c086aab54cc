// The chaos harness's cluster with every process on a host of its own: it runs
// `launch/bazaar up --netns` (the one implementation of that layout) and drives the processes
// through the run directory the script writes (pid files, netns.txt, cluster.env). Network
// faults are iptables rules inside the processes' namespaces, and bazaar-netem delayers; heal()
// removes every one of them, and `launch/bazaar down` deletes the namespaces (and so any rule
// left) when the cluster goes away. Needs root.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/chaos/cluster_control.h"

namespace bazaar::chaos {

struct NetnsOptions {
  std::string launch;  // path of launch/bazaar
  std::string dir;     // run directory (made by the caller; the cluster lives in it)
  int replicas = 3;
  int frontends = 2;
  std::string catalog = "stocks";
};

class NetnsCluster : public ClusterControl {
 public:
  explicit NetnsCluster(NetnsOptions options);
  /// Heals every fault, then `launch/bazaar down` (namespaces, veths and bridge removed).
  ~NetnsCluster() override;
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  /// `launch/bazaar up --netns`; false with `error` set (the script's output) when it failed.
  bool up(std::string& error);

  void kill(const std::string& name) override;
  void signal(const std::string& name, int sig) override;
  void start(const std::string& name) override;
  /// launch/bazaar replace, which does all of it and waits (the timeout bounds the call).
  bool replace(const std::string& name, std::chrono::milliseconds timeout) override;
  bool running(const std::string& name) override;
  bool wait_healthy(const std::string& name, std::chrono::milliseconds timeout) override;
  std::string leader(std::uint64_t* term = nullptr) override;
  int replicas() const override { return options_.replicas; }
  int frontends() const override { return options_.frontends; }
  const std::string& dir() const override { return options_.dir; }
  std::string url(int frontend) const override;

  /// Drops every packet between each process of `a` and each of `b`, both ways, until heal().
  void cut(const std::vector<std::string>& a, const std::vector<std::string>& b);
  /// Delays the packets between `a` and `b` (both ways) by delay + 0..jitter ms and drops
  /// `loss_percent` of them, until heal(). False when bazaar-netem is not built.
  bool slow(const std::string& a, const std::string& b, int delay_ms, int jitter_ms,
            double loss_percent, std::uint64_t seed);
  /// Removes every rule and stops every delayer added since the last heal().
  void heal();
  /// Rules of ours still in any namespace (`iptables-save` lines), to prove heal() complete: a
  /// rule left would turn a harness bug into a false violation.
  std::vector<std::string> leftover_rules();
  /// The namespace address of process `name`.
  std::string address(const std::string& name) const;

 private:
  pid_t pid_of(const std::string& name) const;
  std::string endpoint(const std::string& name) const;
  /// Runs `ip netns exec NS iptables-restore --noflush` with `rules` (filter table lines).
  void add_rules(const std::string& name, const std::vector<std::string>& rules);

  NetnsOptions options_;
  int base_port_ = 0, http_port_ = 0;
  std::map<std::string, std::pair<std::string, std::string>> hosts_;  // name -> {ns, address}
  std::set<std::string> touched_;  // namespaces with rules of ours
  std::vector<pid_t> delayers_;    // bazaar-netem processes (our children)
  bool is_up_ = false;
};

}  // namespace bazaar::chaos
