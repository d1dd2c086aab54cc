// GET /cluster.json: the front end's picture of the whole cluster, assembled from the
// services' StatusReply answers and its own numbers. Pure: no sockets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frontend/lookup_cache.h"
#include "frontend/service_results.h"
#include "proto_msgs/messages.h"
#include "storefront/rate_window.h"

namespace bazaar::storefront {

/// What one round of status probes found: a reply, or nothing within the probe deadline.
struct ClusterProbe {
  std::optional<proto::StatusReply> broker;
  std::optional<proto::StatusReply> catalog;
  std::vector<std::optional<proto::StatusReply>> replicas;  // replica id k at index k-1
  std::int64_t age_ms = -1;  // how long ago the round ended; -1: no round yet
};

/// Everything the cluster view shows.
struct ClusterSnapshot {
  ClusterProbe probe;
  std::optional<frontend::LeaderInfo> announced_leader;  // what this front end routes orders to
  bool bus_alive = false;
  bool cache_enabled = false;
  frontend::CacheStats cache;
  std::uint64_t event_streams = 0;
  std::vector<RateSample> orders;  // POST /orders per second, oldest first
  std::string edition;             // "products" or "stocks"
};

/// The leader as the probes show it: the replica that answered with role "leader" in the
/// highest term, or nothing (all down, or an election under way).
std::optional<frontend::LeaderInfo> probed_leader(const ClusterProbe& probe);

/// {"data": {...}} as documented in docs/ARCHITECTURE.md ("The pages"): broker, catalog, each
/// replica (up, role, term, leader_id, committed orders, commit and last index, how many log
/// entries behind the leader's last), the
/// leader, this front end (cache size and hit ratio, bus, streams) and the order chart.
std::string cluster_json(const ClusterSnapshot& snapshot);

}  // namespace bazaar::storefront
