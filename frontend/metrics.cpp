#include "frontend/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <utility>

#include "common/exposition.h"

namespace bazaar::frontend {

namespace {

constexpr const char* kRequestsName = "bazaar_http_requests_total";
constexpr const char* kDurationName = "bazaar_http_request_duration_seconds";
constexpr const char* kRetriesName = "bazaar_backend_retries_total";

using prometheus::MetricFamily;
using prometheus::MetricType;

}  // namespace

const char* to_string(RouteLabel label) {
  switch (label) {
    case RouteLabel::kItem:
      return "item";
    case RouteLabel::kItemList:
      return "item_list";
    case RouteLabel::kOrderPlace:
      return "order_place";
    case RouteLabel::kOrderGet:
      return "order_get";
    case RouteLabel::kHealth:
      return "health";
    case RouteLabel::kMetrics:
      return "metrics";
    case RouteLabel::kOther:
      return "other";
    case RouteLabel::kRejected:
      return "rejected";
    case RouteLabel::kCount:
      break;
  }
  return "unknown";
}

Metrics::Metrics() : registry_(std::make_unique<prometheus::Registry>()) {
  requests_family_ = &prometheus::BuildCounter()
                          .Name(kRequestsName)
                          .Help("HTTP requests answered, by route and status code.")
                          .Register(*registry_);
  auto& durations =
      prometheus::BuildHistogram()
          .Name(kDurationName)
          .Help("Time from a request's last byte read to its reply being ready, by route.")
          .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries bounds(kBuckets.begin(), kBuckets.end());
  for (std::size_t r = 0; r < kRoutes; ++r) {
    const auto route = static_cast<RouteLabel>(r);
    if (route == RouteLabel::kRejected) continue;  // refused before routing: never timed
    durations_[r] = &durations.Add({{"route", to_string(route)}}, bounds);
  }
  retries_ =
      &prometheus::BuildCounter()
           .Name(kRetriesName)
           .Help(
               "Attempts made after a failed one (catalog timeouts, order replicas, leader hints).")
           .Register(*registry_)
           .Add({});
}

Metrics::~Metrics() = default;

std::size_t Metrics::code_slot(unsigned status) {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (kCodes[i] == status) return i;
  }
  return kCodes.size();
}

prometheus::Counter& Metrics::request_counter(std::size_t route, std::size_t slot) {
  if (prometheus::Counter* c = requests_[route][slot].load(std::memory_order_acquire)) return *c;
  std::lock_guard<std::mutex> lock(add_mu_);
  if (prometheus::Counter* c = requests_[route][slot].load(std::memory_order_relaxed)) return *c;
  const std::string code = slot < kCodes.size() ? std::to_string(kCodes[slot]) : "other";
  prometheus::Counter& c =
      requests_family_->Add({{"route", to_string(static_cast<RouteLabel>(route))}, {"code", code}});
  requests_[route][slot].store(&c, std::memory_order_release);
  return c;
}

void Metrics::observe(RouteLabel route, unsigned status, std::chrono::nanoseconds latency) {
  const auto r = static_cast<std::size_t>(route);
  if (r >= kRoutes) return;
  request_counter(r, code_slot(status)).Increment();
  if (durations_[r] != nullptr) {
    durations_[r]->Observe(
        std::chrono::duration<double>(std::max(latency, std::chrono::nanoseconds(0))).count());
  }
}

void Metrics::observe_rejected(unsigned status) {
  request_counter(static_cast<std::size_t>(RouteLabel::kRejected), code_slot(status)).Increment();
}

void Metrics::count_retry() {
  retries_->Increment();
}

std::uint64_t Metrics::requests(RouteLabel route, unsigned status) const {
  const prometheus::Counter* c =
      requests_[static_cast<std::size_t>(route)][code_slot(status)].load(std::memory_order_acquire);
  return c != nullptr ? static_cast<std::uint64_t>(c->Value()) : 0;
}

std::uint64_t Metrics::retries() const {
  return static_cast<std::uint64_t>(retries_->Value());
}

std::vector<MetricFamily> Metrics::collect(const MetricsSnapshot& extra) const {
  std::vector<MetricFamily> registered = registry_->Collect();
  auto take = [&](const char* name) {
    const auto it = std::find_if(registered.begin(), registered.end(),
                                 [&](const MetricFamily& f) { return f.name == name; });
    return it != registered.end() ? std::move(*it) : MetricFamily{};
  };
  MetricFamily requests = take(kRequestsName);
  // The library sorts labels by name; route before code keeps every series line as it was
  // before the move to prometheus-cpp, for the dashboards and alerts that match them.
  for (prometheus::ClientMetric& m : requests.metric) {
    std::stable_partition(m.label.begin(), m.label.end(),
                          [](const auto& label) { return label.name == "route"; });
  }

  const CacheStats& c = extra.cache;
  std::vector<std::pair<std::string, double>> flushes;
  for (std::size_t i = 0; i < static_cast<std::size_t>(FlushReason::kCount); ++i) {
    flushes.emplace_back(to_string(static_cast<FlushReason>(i)), static_cast<double>(c.flushes[i]));
  }
  constexpr MetricType kCounter = MetricType::Counter;
  constexpr MetricType kGauge = MetricType::Gauge;

  std::vector<MetricFamily> out;
  out.push_back(std::move(requests));
  out.push_back(take(kDurationName));
  out.push_back(common::single_family("bazaar_cache_enabled",
                                      "1 when the lookup cache is on (--cache-size > 0).", kGauge,
                                      extra.cache_enabled ? 1 : 0));
  out.push_back(common::single_family("bazaar_cache_entries", "Items in the lookup cache.", kGauge,
                                      common::sample(c.entries)));
  out.push_back(common::single_family("bazaar_cache_capacity", "Most items the lookup cache holds.",
                                      kGauge, common::sample(c.capacity)));
  out.push_back(common::single_family("bazaar_cache_hits_total", "Lookups answered from the cache.",
                                      kCounter, common::sample(c.hits)));
  out.push_back(common::single_family("bazaar_cache_misses_total",
                                      "Lookups that asked the catalog.", kCounter,
                                      common::sample(c.misses)));
  out.push_back(common::single_family("bazaar_cache_evictions_total",
                                      "Entries pushed out by the LRU capacity bound.", kCounter,
                                      common::sample(c.evictions)));
  out.push_back(common::single_family(
      "bazaar_cache_invalidations_total",
      "Invalidations applied (from the bus, and local ones after this front end's trades).",
      kCounter, common::sample(c.invalidations)));
  out.push_back(common::single_family("bazaar_cache_fills_total",
                                      "Catalog replies stored in the cache.", kCounter,
                                      common::sample(c.fills)));
  out.push_back(common::single_family(
      "bazaar_cache_fills_refused_total",
      "Catalog replies not stored: fenced by a newer invalidation, stale, or older than a flush.",
      kCounter, common::sample(c.fills_refused)));
  out.push_back(common::labelled_family("bazaar_cache_flushes_total",
                                        "Whole-cache flushes, by reason.", kCounter, "reason",
                                        flushes));
  out.push_back(take(kRetriesName));
  out.push_back(common::single_family(
      "bazaar_order_failovers_total",
      "Times the order leader this front end follows changed to another replica.", kCounter,
      common::sample(extra.failovers)));
  out.push_back(common::single_family("bazaar_http_connections", "Open HTTP connections.", kGauge,
                                      common::sample(extra.connections)));
  out.push_back(common::single_family(
      "bazaar_http_connections_max",
      "Most HTTP connections (--max-connections, fitted to the file-descriptor limit).", kGauge,
      common::sample(extra.max_connections)));
  out.push_back(common::labelled_family(
      "bazaar_http_connections_evicted_total",
      "Idle connections closed to admit a new one, by the bound that was reached.", kCounter,
      "reason",
      {{"table_full", common::sample(extra.evicted_table_full)},
       {"per_client", common::sample(extra.evicted_per_client)}}));
  out.push_back(common::labelled_family(
      "bazaar_http_connections_refused_total",
      "New connections answered 503 with Retry-After and closed, by reason.", kCounter, "reason",
      {{"table_full", common::sample(extra.refused_table_full)},
       {"per_client", common::sample(extra.refused_per_client)},
       {"no_descriptors", common::sample(extra.refused_no_descriptors)}}));
  out.push_back(common::single_family(
      "bazaar_lookups_queued",
      "Requests (lookups, lists, status checks) waiting to be sent to the catalog (beyond "
      "--max-in-flight).",
      kGauge, common::sample(extra.lookups_queued)));
  out.push_back(common::single_family(
      "bazaar_orders_queued",
      "Requests (orders, order reads, leader probes) waiting to be taken up by the order link "
      "(beyond --max-orders-in-flight).",
      kGauge, common::sample(extra.orders_queued)));
  return out;
}

std::string Metrics::render(const MetricsSnapshot& extra) const {
  return common::render_text(collect(extra));
}

}  // namespace bazaar::frontend
