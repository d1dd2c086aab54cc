// What the chaos harness does to a cluster, whichever way it runs: processes of the integration
// harness on loopback (LoopbackControl), or `launch/bazaar up --netns`, each process on a host
// of its own (NetnsCluster, which can also cut and slow links).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace bazaar::chaos {

/// Process names are the launch script's: broker, catalog, order-1..R, frontend-1..F.
class ClusterControl {
 public:
  virtual ~ClusterControl() = default;
  /// SIGKILL `name` and wait until it is gone.
  virtual void kill(const std::string& name) = 0;
  /// Sends `sig` (SIGSTOP, SIGCONT) to a running process and returns at once.
  virtual void signal(const std::string& name, int sig) = 0;
  /// Starts `name` again on its data and waits (bounded) until it is healthy.
  virtual void start(const std::string& name) = 0;
  /// As for a machine whose disk was lost (launch/bazaar replace): deletes order replica
  /// `name`'s database (it must not run), starts it with --join, and waits until it has caught
  /// up (its status no longer says "joining"); false when it has not within `timeout`.
  virtual bool replace(const std::string& name, std::chrono::milliseconds timeout) = 0;
  virtual bool running(const std::string& name) = 0;
  virtual bool wait_healthy(const std::string& name, std::chrono::milliseconds timeout) = 0;
  /// The replica that says it leads ("order-K") and its term; "" when none answers so.
  virtual std::string leader(std::uint64_t* term = nullptr) = 0;
  virtual int replicas() const = 0;
  virtual int frontends() const = 0;
  /// The directory with every process's log and database (NAME.log, NAME.db).
  virtual const std::string& dir() const = 0;
  /// Frontend k's base URL ("http://HOST:PORT"), k = 1..frontends().
  virtual std::string url(int frontend) const = 0;
  /// Every process name, in start order.
  std::vector<std::string> names() const {
    std::vector<std::string> n{"broker", "catalog"};
    for (int k = 1; k <= replicas(); ++k) n.push_back("order-" + std::to_string(k));
    for (int k = 1; k <= frontends(); ++k) n.push_back("frontend-" + std::to_string(k));
    return n;
  }
};

/// The integration harness's Cluster on loopback (kills and pauses only).
class LoopbackControl : public ClusterControl {
 public:
  LoopbackControl(testing::Cluster& cluster, int frontends)
      : cluster_(cluster), frontends_(frontends) {}
  void kill(const std::string& name) override { cluster_.kill(name, 9); }
  void signal(const std::string& name, int sig) override;
  void start(const std::string& name) override { cluster_.start(name); }
  bool replace(const std::string& name, std::chrono::milliseconds timeout) override;
  bool running(const std::string& name) override { return cluster_.running(name); }
  bool wait_healthy(const std::string& name, std::chrono::milliseconds timeout) override {
    return cluster_.wait_healthy(name, timeout);
  }
  std::string leader(std::uint64_t* term = nullptr) override;
  int replicas() const override { return cluster_.replicas(); }
  int frontends() const override { return frontends_; }
  const std::string& dir() const override { return cluster_.dir(); }
  std::string url(int frontend) const override {
    return "http://127.0.0.1:" + std::to_string(cluster_.http_port(frontend));
  }

 private:
  testing::Cluster& cluster_;
  int frontends_;
};

}  // namespace bazaar::chaos
