#include "storefront/cluster_view.h"

#include <nlohmann/json.hpp>

#include "frontend/service_role.h"

namespace bazaar::storefront {

namespace {

using nlohmann::ordered_json;

ordered_json service_json(const std::optional<proto::StatusReply>& s) {
  if (!s) return ordered_json{{"up", false}};
  return ordered_json{{"up", true}, {"role", s->role}};
}

ordered_json leader_json(const std::optional<frontend::LeaderInfo>& l) {
  if (!l) return nullptr;
  return ordered_json{{"id", l->id}, {"term", l->term}};
}

}  // namespace

std::optional<frontend::LeaderInfo> probed_leader(const ClusterProbe& probe) {
  std::optional<frontend::LeaderInfo> best;
  for (std::size_t i = 0; i < probe.replicas.size(); ++i) {
    const auto& r = probe.replicas[i];
    if (!r || frontend::role_of(r->role) != frontend::ServiceRole::kLeader) continue;
    if (!best || r->term > best->term) {
      best = frontend::LeaderInfo{.id = static_cast<std::uint32_t>(i + 1), .term = r->term};
    }
  }
  return best;
}

std::string cluster_json(const ClusterSnapshot& snap) {
  const auto leader = probed_leader(snap.probe);
  std::optional<std::uint64_t> leader_last;
  if (leader) leader_last = snap.probe.replicas[leader->id - 1]->last_index;

  ordered_json broker = service_json(snap.probe.broker);
  if (snap.probe.broker) broker["events"] = snap.probe.broker->log_size;
  ordered_json catalog = service_json(snap.probe.catalog);
  if (snap.probe.catalog) catalog["items"] = snap.probe.catalog->log_size;

  ordered_json replicas = ordered_json::array();
  for (std::size_t i = 0; i < snap.probe.replicas.size(); ++i) {
    const auto& r = snap.probe.replicas[i];
    ordered_json j{{"id", i + 1}, {"up", r.has_value()}};
    if (r) {
      j["role"] = r->role;
      j["term"] = r->term;
      j["leader_id"] = r->leader_id;
      j["committed"] = r->log_size;
      j["commit_index"] = r->commit_index;
      j["last_index"] = r->last_index;
      // Log entries the leader holds and this replica has not received yet.
      if (leader_last) {
        j["behind"] = *leader_last > r->last_index ? *leader_last - r->last_index : 0;
      } else {
        j["behind"] = nullptr;
      }
    }
    replicas.push_back(std::move(j));
  }

  const std::uint64_t lookups = snap.cache.hits + snap.cache.misses;
  ordered_json cache{{"enabled", snap.cache_enabled},
                     {"size", snap.cache.entries},
                     {"capacity", snap.cache.capacity},
                     {"hits", snap.cache.hits},
                     {"misses", snap.cache.misses}};
  if (lookups > 0) {
    cache["hit_ratio"] = static_cast<double>(snap.cache.hits) / static_cast<double>(lookups);
  } else {
    cache["hit_ratio"] = nullptr;
  }

  ordered_json per_second = ordered_json::array();
  ordered_json errors = ordered_json::array();
  ordered_json avg = ordered_json::array();
  ordered_json max = ordered_json::array();
  for (const auto& s : snap.orders) {
    per_second.push_back(s.count);
    errors.push_back(s.errors);
    // Rounded to microseconds: the chart needs no more, and the JSON stays short.
    avg.push_back(static_cast<double>(static_cast<std::int64_t>(s.latency_avg_ms * 1000)) / 1000);
    max.push_back(static_cast<double>(static_cast<std::int64_t>(s.latency_max_ms * 1000)) / 1000);
  }

  ordered_json data{
      {"edition", snap.edition},
      {"leader", leader_json(leader)},
      {"broker", std::move(broker)},
      {"catalog", std::move(catalog)},
      {"replicas", std::move(replicas)},
      {"frontend", ordered_json{{"announced_leader", leader_json(snap.announced_leader)},
                                {"bus", snap.bus_alive},
                                {"event_streams", snap.event_streams},
                                {"cache", std::move(cache)}}},
      {"orders", ordered_json{{"interval_s", 1},
                              {"per_second", std::move(per_second)},
                              {"errors", std::move(errors)},
                              {"latency_avg_ms", std::move(avg)},
                              {"latency_max_ms", std::move(max)}}},
      {"probe_age_ms", snap.probe.age_ms},
  };
  return ordered_json{{"data", std::move(data)}}.dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace);
}

}  // namespace bazaar::storefront
