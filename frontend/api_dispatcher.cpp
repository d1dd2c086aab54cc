#include "frontend/api_dispatcher.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "frontend/api_reply.h"

namespace bazaar::frontend {

namespace {
using Clock = std::chrono::steady_clock;

// The reply `render` makes; 500 if it throws (a bug, or out of memory), so the client is
// answered anyway and the thread it runs on keeps serving.
template <class Render>
ApiResponse guarded(Render&& render) {
  try {
    return render();
  } catch (const std::exception& e) {
    spdlog::error("request failed: {}", e.what());
    return error_reply(500, "internal error");
  }
}
}  // namespace

ApiDispatcher::ApiDispatcher(const ApiHandler& api, BridgePool& bridge, LookupCache* cache,
                             Metrics* metrics, CatalogLink* link, OrderLink* orders)
    : api_(api),
      bridge_(bridge),
      cache_(cache != nullptr && cache->enabled() ? cache : nullptr),
      metrics_(metrics),
      link_(link),
      orders_(orders) {}

void ApiDispatcher::on_rejected(unsigned status) {
  if (metrics_) metrics_->observe_rejected(status);
}

void ApiDispatcher::handle(ApiRequest request, ReplyCallback done) {
  const auto start = Clock::now();
  const RouteLabel label = ApiHandler::label(request.target);
  Routed routed = api_.route(request);
  auto* call = std::get_if<BackendCall>(&routed);
  if (call == nullptr) {
    ApiResponse& reply = std::get<ApiResponse>(routed);
    if (metrics_) metrics_->observe(label, reply.status, Clock::now() - start);
    done(std::move(reply));
    return;
  }
  const auto* lookup = std::get_if<LookupCall>(call);
  // The hot path: a cached item is answered here, without a hop to another thread and back.
  // With the link, the miss is counted here (get); without it, the bridge's
  // ServiceBackend::lookup() looks again and counts it.
  FillTicket ticket;
  if (lookup != nullptr && cache_ != nullptr) {
    auto item = link_ != nullptr ? cache_->get(lookup->name) : cache_->get_if_cached(lookup->name);
    if (item) {
      ApiResponse reply = item_reply(*item);
      if (metrics_) metrics_->observe(label, reply.status, Clock::now() - start);
      done(std::move(reply));
      return;
    }
    // Taken before the request leaves (see LookupCache::fill).
    ticket = cache_->ticket();
  }
  // std::function needs a copyable callable, so the callback is shared between the job and
  // this frame; only one of them ever calls it.
  auto shared_done = std::make_shared<ReplyCallback>(std::move(done));
  Metrics* const metrics = metrics_;
  auto finish = [shared_done, metrics, label, start](ApiResponse reply) {
    if (metrics) metrics->observe(label, reply.status, Clock::now() - start);
    (*shared_done)(std::move(reply));
  };
  if (lookup != nullptr && link_ != nullptr) {
    LookupCache* const cache = cache_;
    CatalogLink::Done on_reply = [cache, ticket, finish, name = lookup->name](
                                     LookupResult result, std::uint64_t incarnation) {
      if (cache != nullptr) cache->offer(result, ticket, incarnation);
      finish(ApiHandler::lookup_reply(name, result));
    };
    if (!link_->try_lookup(lookup->name, std::move(on_reply))) {
      finish(error_reply(503, "front end overloaded, try again"));
    }
    return;
  }
  if (auto* place = std::get_if<PlaceOrderCall>(call); place != nullptr && orders_ != nullptr) {
    LookupCache* const cache = cache_;
    // The link sends this copy; the request stays here, for the reply (it names the item).
    proto::PlaceOrderRequest order = place->request;
    OrderLink::Done on_reply = [cache, finish,
                                placed = std::move(place->request)](PlaceOrderResult result) {
      if (cache != nullptr) cache->on_order_answer(placed.name, result.status);
      finish(guarded([&] { return ApiHandler::order_reply(placed, result); }));
    };
    if (!orders_->try_place(std::move(order), std::move(on_reply))) {
      finish(error_reply(503, "front end overloaded, try again"));
    }
    return;
  }
  BridgeJob job = [call = std::move(*call), finish](Backend* b) {
    if (b == nullptr) {
      finish(error_reply(503, "front end shutting down"));
      return;
    }
    finish(guarded([&] { return ApiHandler::execute(call, *b); }));
  };
  if (!bridge_.try_submit(std::move(job))) {
    finish(error_reply(503, "front end overloaded, try again"));
  }
}

}  // namespace bazaar::frontend
