// Asks every service how it is (StatusRequest), on a thread of its own, while someone looks at
// the cluster page.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/rpc_client.h"
#include "storefront/cluster_view.h"

namespace bazaar::storefront {

struct ClusterMonitorOptions {
  std::string broker;                            // the broker's status (REP) endpoint
  std::string catalog;                           // the catalog's endpoint
  std::vector<std::string> replicas;             // order replica endpoints, id k at index k-1
  std::chrono::milliseconds interval{500};       // between the starts of two rounds
  std::chrono::milliseconds probe_timeout{250};  // per service, per round
  /// Rounds run only while latest() was called within this; then the thread sleeps, so an
  /// unwatched front end sends nothing.
  std::chrono::milliseconds watch_window{10000};
};

/// One thread, one RpcClient (REQ, Lazy Pirate) per service. A round asks each service in turn
/// with probe_timeout, so a round takes at most (2 + replicas) x probe_timeout when everything
/// is down. latest() never blocks on I/O: it returns the last round's results.
class ClusterMonitor {
 public:
  ClusterMonitor(zmq::context_t& ctx, ClusterMonitorOptions options);
  ~ClusterMonitor();

  ClusterMonitor(const ClusterMonitor&) = delete;
  ClusterMonitor& operator=(const ClusterMonitor&) = delete;

  void start();
  /// Stops and joins the thread (within one round). Idempotent.
  void stop();

  /// The last round's results (age_ms -1 before the first), and marks the cluster as watched:
  /// a sleeping monitor starts a round at once. Thread-safe.
  ClusterProbe latest();

 private:
  using Clock = std::chrono::steady_clock;
  void run();
  std::optional<proto::StatusReply> ask(common::RpcClient& client);

  const ClusterMonitorOptions options_;
  // Used by the monitor thread only.
  common::RpcClient broker_;
  common::RpcClient catalog_;
  std::vector<std::unique_ptr<common::RpcClient>> replicas_;

  std::mutex mu_;
  std::condition_variable wake_;
  ClusterProbe latest_;                // guarded by mu_; age_ms unused here
  Clock::time_point probed_at_{};      // guarded by mu_; end of the last round
  bool probed_ = false;                // guarded by mu_
  Clock::time_point watched_until_{};  // guarded by mu_
  bool stop_ = false;                  // guarded by mu_
  std::thread thread_;
};

}  // namespace bazaar::storefront
