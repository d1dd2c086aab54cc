#include "frontend/service_backend.h"

#include <algorithm>

namespace bazaar::frontend {

namespace {

using Clock = std::chrono::steady_clock;

// The longest a health check waits for the catalog: /health must stay quick when it is down.
constexpr std::chrono::milliseconds kHealthProbe{1000};

std::string catalog_problem(const std::string& error) {
  return "catalog unavailable (" + error + ")";
}

}  // namespace

ServiceBackend::ServiceBackend(zmq::context_t& ctx, const BackendEndpoints& endpoints,
                               LeaderTracker& tracker, CallTimeouts timeouts, LookupCache* cache,
                               Metrics* metrics)
    : catalog_(ctx, endpoints.catalog),
      order_transport_(ctx, endpoints.orders),
      orders_(order_transport_, tracker, timeouts, metrics),
      tracker_(tracker),
      timeouts_(timeouts),
      cache_(cache != nullptr && cache->enabled() ? cache : nullptr),
      metrics_(metrics) {}

template <class Rep, class Req>
common::CallResult<Rep> ServiceBackend::call_catalog(const Req& request) {
  const auto deadline = Clock::now() + timeouts_.request;
  common::CallResult<Rep> r;
  for (bool first = true;; first = false) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return r;
    if (!first && metrics_ != nullptr) metrics_->count_retry();
    // Lazy Pirate: a timed-out attempt drops its socket, so a restarted catalog is reached by
    // the next attempt instead of waiting out the whole budget on a dead connection.
    r = catalog_.call<Rep>(request, std::min(timeouts_.attempt, left));
    if (r.outcome != common::CallOutcome::kTimeout) return r;
  }
}

LookupResult ServiceBackend::lookup(const std::string& name) {
  // The one place item lookups go through, so the version-fenced cache sits here.
  FillTicket ticket;
  if (cache_ != nullptr) {
    if (auto hit = cache_->get(name)) return {proto::Status::kOk, std::move(*hit), {}};
    // Taken before the request leaves: an invalidation that arrives while it is on its way
    // gets a later tick, so fill() can tell the reply may predate it.
    ticket = cache_->ticket();
  }
  auto r = call_catalog<proto::LookupReply>(proto::LookupRequest{name});
  if (r.outcome == common::CallOutcome::kTimeout) {
    return {proto::Status::kUnavailable, {}, catalog_problem(r.error)};
  }
  if (!r.ok()) return {proto::Status::kInternal, {}, "catalog: " + r.error};
  LookupResult result{r.reply.status, std::move(r.reply.item), {}};
  if (cache_ != nullptr) cache_->offer(result, ticket, r.reply.incarnation);
  return result;
}

ListResult ServiceBackend::list() {
  auto r = call_catalog<proto::ListReply>(proto::ListRequest{});
  if (r.outcome == common::CallOutcome::kTimeout) {
    return {proto::Status::kUnavailable, {}, catalog_problem(r.error)};
  }
  if (!r.ok()) return {proto::Status::kInternal, {}, "catalog: " + r.error};
  return {r.reply.status, std::move(r.reply.items), {}};
}

PlaceOrderResult ServiceBackend::place_order(const proto::PlaceOrderRequest& request) {
  PlaceOrderResult r = orders_.place(request);
  if (cache_ != nullptr) cache_->on_order_answer(request.name, r.status);
  return r;
}

GetOrderResult ServiceBackend::get_order(std::int64_t number) {
  return orders_.get(number);
}

HealthSnapshot ServiceBackend::health() {
  HealthSnapshot h;
  auto r = catalog_.call<proto::StatusReply>(proto::StatusRequest{},
                                             std::min(timeouts_.request, kHealthProbe));
  h.catalog = r.ok();
  // No leader known (no announcement heard), or the known one stopped answering: look for one,
  // so /health is right even when the bus is down, and shows null rather than a dead leader.
  if (orders_.find_leader(std::min(timeouts_.request, kHealthProbe)) >= 1) {
    h.leader = tracker_.leader();
  }
  h.bus = tracker_.bus_alive(Clock::now());
  h.cache_size = cache_ != nullptr ? cache_->size() : 0;
  h.cache_capacity = cache_ != nullptr ? cache_->capacity() : 0;
  return h;
}

}  // namespace bazaar::frontend
