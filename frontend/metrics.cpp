#include "frontend/metrics.h"

#include <algorithm>
#include <cstdio>

namespace bazaar::frontend {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void append_number(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.9g", v);
  out.append(buf, static_cast<std::size_t>(n));
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, std::uint64_t v) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

void single(std::string& out, const char* name, const char* type, const char* help,
            std::uint64_t v) {
  header(out, name, type, help);
  sample(out, name, {}, v);
}

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

Metrics::Metrics() {
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    bucket_ns_[i] = static_cast<std::uint64_t>(kBuckets[i] * 1e9 + 0.5);
  }
}

std::size_t Metrics::code_slot(unsigned status) {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (kCodes[i] == status) return i;
  }
  return kCodes.size();
}

Metrics::Stripe& Metrics::my_stripe() {
  // Threads take stripes round-robin on first use; which one does not matter for correctness,
  // only that two busy threads rarely share one.
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, kRelaxed) % kStripes;
  return stripes_[mine];
}

void Metrics::observe(RouteLabel route, unsigned status, std::chrono::nanoseconds latency) {
  const auto r = static_cast<std::size_t>(route);
  if (r >= kRoutes) return;
  Stripe& s = my_stripe();
  s.requests[r][code_slot(status)].fetch_add(1, kRelaxed);
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count()));
  const auto b = static_cast<std::size_t>(
      std::lower_bound(bucket_ns_.begin(), bucket_ns_.end(), ns) - bucket_ns_.begin());
  s.buckets[r][b].fetch_add(1, kRelaxed);
  s.latency_ns[r].fetch_add(ns, kRelaxed);
}

void Metrics::observe_rejected(unsigned status) {
  my_stripe()
      .requests[static_cast<std::size_t>(RouteLabel::kRejected)][code_slot(status)]
      .fetch_add(1, kRelaxed);
}

void Metrics::count_retry() {
  my_stripe().retries.fetch_add(1, kRelaxed);
}

std::uint64_t Metrics::requests(RouteLabel route, unsigned status) const {
  std::uint64_t n = 0;
  for (const Stripe& s : stripes_) {
    n += s.requests[static_cast<std::size_t>(route)][code_slot(status)].load(kRelaxed);
  }
  return n;
}

std::uint64_t Metrics::retries() const {
  std::uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.retries.load(kRelaxed);
  return n;
}

std::string Metrics::render(const MetricsSnapshot& extra) const {
  std::string out;
  out.reserve(16 * 1024);

  header(out, "bazaar_http_requests_total", "counter",
         "HTTP requests answered, by route and status code.");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t c = 0; c < kCodeSlots; ++c) {
      std::uint64_t n = 0;
      for (const Stripe& s : stripes_) n += s.requests[r][c].load(kRelaxed);
      if (n == 0) continue;  // only codes that happened: keeps the page short
      const std::string code = c < kCodes.size() ? std::to_string(kCodes[c]) : "other";
      sample(out, "bazaar_http_requests_total",
             std::string("route=\"") + to_string(static_cast<RouteLabel>(r)) + "\",code=\"" + code +
                 "\"",
             n);
    }
  }

  header(out, "bazaar_http_request_duration_seconds", "histogram",
         "Time from a request's last byte read to its reply being ready, by route.");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    if (static_cast<RouteLabel>(r) == RouteLabel::kRejected) continue;  // never timed
    const std::string route =
        std::string("route=\"") + to_string(static_cast<RouteLabel>(r)) + "\"";
    std::uint64_t cumulative = 0;
    std::uint64_t sum_ns = 0;
    for (const Stripe& s : stripes_) sum_ns += s.latency_ns[r].load(kRelaxed);
    for (std::size_t b = 0; b < kBucketSlots; ++b) {
      for (const Stripe& s : stripes_) cumulative += s.buckets[r][b].load(kRelaxed);
      std::string le;
      if (b < kBuckets.size()) {
        append_number(le, kBuckets[b]);
      } else {
        le = "+Inf";
      }
      sample(out, "bazaar_http_request_duration_seconds_bucket", route + ",le=\"" + le + "\"",
             cumulative);
    }
    out += "bazaar_http_request_duration_seconds_sum{" + route + "} ";
    append_number(out, static_cast<double>(sum_ns) / 1e9);
    out += '\n';
    sample(out, "bazaar_http_request_duration_seconds_count", route, cumulative);
  }

  const CacheStats& c = extra.cache;
  single(out, "bazaar_cache_enabled", "gauge", "1 when the lookup cache is on (--cache-size > 0).",
         extra.cache_enabled ? 1 : 0);
  single(out, "bazaar_cache_entries", "gauge", "Items in the lookup cache.", c.entries);
  single(out, "bazaar_cache_capacity", "gauge", "Most items the lookup cache holds.", c.capacity);
  single(out, "bazaar_cache_hits_total", "counter", "Lookups answered from the cache.", c.hits);
  single(out, "bazaar_cache_misses_total", "counter", "Lookups that asked the catalog.", c.misses);
  single(out, "bazaar_cache_evictions_total", "counter",
         "Entries pushed out by the LRU capacity bound.", c.evictions);
  single(out, "bazaar_cache_invalidations_total", "counter",
         "Invalidations applied (from the bus, and local ones after this front end's trades).",
         c.invalidations);
  single(out, "bazaar_cache_fills_total", "counter", "Catalog replies stored in the cache.",
         c.fills);
  single(
      out, "bazaar_cache_fills_refused_total", "counter",
      "Catalog replies not stored: fenced by a newer invalidation, stale, or older than a flush.",
      c.fills_refused);
  header(out, "bazaar_cache_flushes_total", "counter", "Whole-cache flushes, by reason.");
  for (std::size_t i = 0; i < static_cast<std::size_t>(FlushReason::kCount); ++i) {
    sample(out, "bazaar_cache_flushes_total",
           std::string("reason=\"") + to_string(static_cast<FlushReason>(i)) + "\"", c.flushes[i]);
  }
  single(out, "bazaar_backend_retries_total", "counter",
         "Attempts made after a failed one (catalog timeouts, order replicas, leader hints).",
         retries());
  single(out, "bazaar_order_failovers_total", "counter",
         "Times the order leader this front end follows changed to another replica.",
         extra.failovers);
  single(out, "bazaar_http_connections", "gauge", "Open HTTP connections.", extra.connections);
  single(out, "bazaar_http_connections_max", "gauge",
         "Most HTTP connections (--max-connections, fitted to the file-descriptor limit).",
         extra.max_connections);
  header(out, "bazaar_http_connections_evicted_total", "counter",
         "Idle connections closed to admit a new one, by the bound that was reached.");
  sample(out, "bazaar_http_connections_evicted_total", "reason=\"table_full\"",
         extra.evicted_table_full);
  sample(out, "bazaar_http_connections_evicted_total", "reason=\"per_client\"",
         extra.evicted_per_client);
  header(out, "bazaar_http_connections_refused_total", "counter",
         "New connections answered 503 with Retry-After and closed, by reason.");
  sample(out, "bazaar_http_connections_refused_total", "reason=\"table_full\"",
         extra.refused_table_full);
  sample(out, "bazaar_http_connections_refused_total", "reason=\"per_client\"",
         extra.refused_per_client);
  sample(out, "bazaar_http_connections_refused_total", "reason=\"no_descriptors\"",
         extra.refused_no_descriptors);
  single(out, "bazaar_lookups_queued", "gauge",
         "Requests (lookups, lists, status checks) waiting to be sent to the catalog (beyond "
         "--max-in-flight).",
         extra.lookups_queued);
  single(out, "bazaar_orders_queued", "gauge",
         "Requests (orders, order reads, leader probes) waiting to be taken up by the order link "
         "(beyond --max-orders-in-flight).",
         extra.orders_queued);
  return out;
}

}  // namespace bazaar::frontend
