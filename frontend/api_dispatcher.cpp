#include "frontend/api_dispatcher.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "common/overloaded.h"
#include "frontend/api_reply.h"

namespace bazaar::frontend {

namespace {
using Clock = std::chrono::steady_clock;

// The reply `render` makes; 500 if it throws (a bug, or out of memory), so the client is
// answered anyway and the thread it runs on keeps serving.
template <class Render>
httpd::HttpResponse guarded(Render&& render) {
  try {
    return render();
  } catch (const std::exception& e) {
    spdlog::error("request failed: {}", e.what());
    return httpd::error_reply(500, "internal error");
  }
}

}  // namespace

ApiDispatcher::ApiDispatcher(const ApiHandler& api, Services& services, LookupCache* cache,
                             Metrics* metrics)
    : api_(api),
      services_(services),
      cache_(cache != nullptr && cache->enabled() ? cache : nullptr),
      metrics_(metrics) {}

void ApiDispatcher::on_rejected(unsigned status) {
  if (metrics_) metrics_->observe_rejected(status);
}

void ApiDispatcher::handle(httpd::HttpRequest request, httpd::ReplyCallback done) {
  const auto start = Clock::now();
  const RouteLabel label = ApiHandler::label(request.target);
  Routed routed = api_.route(request);
  auto* call = std::get_if<ServiceCall>(&routed);
  if (call == nullptr) {
    httpd::HttpResponse& reply = std::get<httpd::HttpResponse>(routed);
    if (metrics_) metrics_->observe(label, reply.status, Clock::now() - start);
    done(std::move(reply));
    return;
  }
  // The hot path: a cached item is answered here, without a hop to another thread and back.
  FillTicket ticket;
  if (auto* lookup = std::get_if<LookupCall>(call); lookup != nullptr && cache_ != nullptr) {
    if (auto item = cache_->get(lookup->name)) {
      httpd::HttpResponse reply = item_reply(*item);
      if (metrics_) metrics_->observe(label, reply.status, Clock::now() - start);
      done(std::move(reply));
      return;
    }
    // Taken before the request leaves (see LookupCache::fill).
    ticket = cache_->ticket();
  }
  // std::function needs a copyable callable, so the callback is shared; only one of the
  // service's callback and this frame ever calls it.
  auto shared_done = std::make_shared<httpd::ReplyCallback>(std::move(done));
  Metrics* const metrics = metrics_;
  auto finish = [shared_done, metrics, label, start](httpd::HttpResponse reply) {
    if (metrics) metrics->observe(label, reply.status, Clock::now() - start);
    (*shared_done)(std::move(reply));
  };
  LookupCache* const cache = cache_;
  const bool taken = std::visit(
      common::Overloaded{
          [&](LookupCall& c) {
            return services_.lookup(c.name, [cache, ticket, finish, name = c.name](
                                                LookupResult result, std::uint64_t incarnation) {
              if (cache != nullptr) cache->offer(result, ticket, incarnation);
              finish(guarded([&] { return ApiHandler::lookup_reply(name, result); }));
            });
          },
          [&](ListCall&) {
            return services_.list([finish](ListResult result) {
              finish(guarded([&] { return ApiHandler::list_reply(result); }));
            });
          },
          [&](PlaceOrderCall& c) {
            // The service sends this copy; the request stays here, for the reply (it names the
            // item).
            proto::PlaceOrderRequest order = c.request;
            return services_.place_order(
                std::move(order),
                [cache, finish, placed = std::move(c.request)](PlaceOrderResult result) {
                  if (cache != nullptr) cache->on_order_answer(placed.name, result.status);
                  finish(guarded([&] { return ApiHandler::order_reply(placed, result); }));
                });
          },
          [&](GetOrderCall& c) {
            return services_.get_order(c.number, [finish, number = c.number](GetOrderResult r) {
              finish(guarded([&] { return ApiHandler::order_get_reply(number, r); }));
            });
          },
          [&](HealthCall&) {
            return services_.health([finish](HealthSnapshot health) {
              finish(guarded([&] { return ApiHandler::health_reply(health); }));
            });
          },
      },
      *call);
  if (!taken) finish(httpd::error_reply(503, "front end overloaded, try again"));
}

}  // namespace bazaar::frontend
