// Metrics and /metrics: counting, histogram buckets, the Prometheus text, the route labels,
// and the dispatcher's cache fast path (a cached lookup never reaches the services).
#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "frontend/api_dispatcher.h"
#include "frontend/api_handler.h"
#include "frontend/api_reply.h"
#include "frontend/metrics.h"
#include "frontend_fake_services.h"

namespace bazaar::frontend {
namespace {

using namespace std::chrono_literals;

// The value of the sample line that starts with `series` (name plus labels), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(Metrics, CountsRequestsByRouteAndCode) {
  Metrics m;
  m.observe(RouteLabel::kItem, 200, 300us);
  m.observe(RouteLabel::kItem, 200, 3ms);
  m.observe(RouteLabel::kItem, 404, 100us);
  m.observe(RouteLabel::kOrderPlace, 503, 3s);
  m.observe(RouteLabel::kOther, 418, 1us);  // not a listed code
  m.observe_rejected(413);
  EXPECT_EQ(m.requests(RouteLabel::kItem, 200), 2u);
  EXPECT_EQ(m.requests(RouteLabel::kItem, 404), 1u);
  const std::string text = m.render({});
  EXPECT_EQ(sample(text, R"(bazaar_http_requests_total{route="item",code="200"})"), 2);
  EXPECT_EQ(sample(text, R"(bazaar_http_requests_total{route="item",code="404"})"), 1);
  EXPECT_EQ(sample(text, R"(bazaar_http_requests_total{route="order_place",code="503"})"), 1);
  EXPECT_EQ(sample(text, R"(bazaar_http_requests_total{route="other",code="other"})"), 1);
  EXPECT_EQ(sample(text, R"(bazaar_http_requests_total{route="rejected",code="413"})"), 1);
  EXPECT_EQ(sample(text, R"(bazaar_http_requests_total{route="health",code="200"})"), -1);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics m;
  m.observe(RouteLabel::kItem, 200, 50us);   // <= 0.0001
  m.observe(RouteLabel::kItem, 200, 100us);  // <= 0.0001 (bounds are inclusive)
  m.observe(RouteLabel::kItem, 200, 700us);  // <= 0.001
  m.observe(RouteLabel::kItem, 200, 20s);    // +Inf only
  const std::string text = m.render({});
  const std::string b = R"(bazaar_http_request_duration_seconds_bucket{route="item",le=")";
  EXPECT_EQ(sample(text, b + R"(0.0001"})"), 2);
  EXPECT_EQ(sample(text, b + R"(0.0005"})"), 2);
  EXPECT_EQ(sample(text, b + R"(0.001"})"), 3);
  EXPECT_EQ(sample(text, b + R"(10"})"), 3);
  EXPECT_EQ(sample(text, b + R"(+Inf"})"), 4);
  EXPECT_EQ(sample(text, R"(bazaar_http_request_duration_seconds_count{route="item"})"), 4);
  EXPECT_NEAR(sample(text, R"(bazaar_http_request_duration_seconds_sum{route="item"})"), 20.00085,
              1e-6);
}

TEST(Metrics, RendersCacheAndBackendFigures) {
  Metrics m;
  m.count_retry();
  m.count_retry();
  MetricsSnapshot snap;
  snap.cache_enabled = true;
  snap.cache.hits = 10;
  snap.cache.misses = 3;
  snap.cache.evictions = 2;
  snap.cache.invalidations = 4;
  snap.cache.entries = 5;
  snap.cache.capacity = 100;
  snap.cache.flushes[static_cast<std::size_t>(FlushReason::kSequenceGap)] = 1;
  snap.failovers = 6;
  snap.connections = 8;
  snap.lookups_queued = 11;
  snap.orders_queued = 12;
  const std::string text = m.render(snap);
  EXPECT_EQ(sample(text, "bazaar_cache_hits_total"), 10);
  EXPECT_EQ(sample(text, "bazaar_cache_misses_total"), 3);
  EXPECT_EQ(sample(text, "bazaar_cache_evictions_total"), 2);
  EXPECT_EQ(sample(text, "bazaar_cache_invalidations_total"), 4);
  EXPECT_EQ(sample(text, "bazaar_cache_entries"), 5);
  EXPECT_EQ(sample(text, R"(bazaar_cache_flushes_total{reason="sequence_gap"})"), 1);
  EXPECT_EQ(sample(text, R"(bazaar_cache_flushes_total{reason="bus_lost"})"), 0);
  EXPECT_EQ(sample(text, "bazaar_backend_retries_total"), 2);
  EXPECT_EQ(sample(text, "bazaar_order_failovers_total"), 6);
  EXPECT_EQ(sample(text, "bazaar_http_connections"), 8);
  EXPECT_EQ(sample(text, "bazaar_lookups_queued"), 11);
  EXPECT_EQ(sample(text, "bazaar_orders_queued"), 12);
}

// Every sample line is "name{labels} value" or "name value", every family has HELP and TYPE.
TEST(Metrics, TextIsWellFormed) {
  Metrics m;
  m.observe(RouteLabel::kHealth, 200, 1ms);
  const std::string text = m.render({});
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::set<std::string> typed;
  for (std::string line; std::getline(in, line);) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line[0] == '#') continue;
    const auto space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    std::string name = line.substr(0, std::min(line.find('{'), space));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          typed.count(name.substr(0, name.size() - s.size()))) {
        name = name.substr(0, name.size() - s.size());
      }
    }
    EXPECT_TRUE(typed.count(name)) << "no TYPE before " << line;
    EXPECT_NO_THROW(std::stod(line.substr(space + 1))) << line;
  }
}

TEST(Metrics, RouteLabels) {
  EXPECT_EQ(ApiHandler::label("/products/Tux"), RouteLabel::kItem);
  EXPECT_EQ(ApiHandler::label("/stocks/GameStart?x=1"), RouteLabel::kItem);
  EXPECT_EQ(ApiHandler::label("/products"), RouteLabel::kItemList);
  EXPECT_EQ(ApiHandler::label("/stocks"), RouteLabel::kItemList);
  EXPECT_EQ(ApiHandler::label("/orders"), RouteLabel::kOrderPlace);
  EXPECT_EQ(ApiHandler::label("/orders/7"), RouteLabel::kOrderGet);
  EXPECT_EQ(ApiHandler::label("/health"), RouteLabel::kHealth);
  EXPECT_EQ(ApiHandler::label("/metrics"), RouteLabel::kMetrics);
  EXPECT_EQ(ApiHandler::label("/nope"), RouteLabel::kOther);
}

TEST(MetricsRoute, ServedAsPrometheusTextWithoutTheBackend) {
  ApiHandler api([] { return std::string("id"); }, [] { return std::string("x_total 1\n"); });
  const Routed routed = api.route(httpd::HttpRequest{"GET", "/metrics", {}, {}});
  const auto* reply = std::get_if<httpd::HttpResponse>(&routed);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->status, 200u);
  EXPECT_EQ(reply->body, "x_total 1\n");
  EXPECT_EQ(reply->content_type, httpd::kPrometheusContentType);

  const Routed post = api.route(httpd::HttpRequest{"POST", "/metrics", {}, {}});
  ASSERT_NE(std::get_if<httpd::HttpResponse>(&post), nullptr);
  EXPECT_EQ(std::get<httpd::HttpResponse>(post).status, 405u);
  EXPECT_EQ(std::get<httpd::HttpResponse>(post).content_type, httpd::kJsonContentType);
}

// The hand-written body of a cached lookup is byte for byte what the JSON library writes.
TEST(ItemReply, MatchesTheJsonLibrary) {
  std::mt19937_64 rng(12345);
  std::vector<std::int64_t> cents = {0,
                                     1,
                                     5,
                                     10,
                                     99,
                                     100,
                                     101,
                                     999,
                                     2599,
                                     4210,
                                     5500,
                                     1599,
                                     99999999999999,
                                     100000000000000,
                                     12345678901234567};
  for (int i = 0; i < 20000; ++i) cents.push_back(static_cast<std::int64_t>(rng() % 100000000));
  for (int i = 0; i < 2000; ++i) cents.push_back(static_cast<std::int64_t>(rng() >> 4));
  proto::Item it;
  it.name = "GameStart";
  it.quantity = 100;
  for (std::int64_t c : cents) {
    it.price_cents = c;
    it.quantity = c % 7 == 0 ? 0 : c;
    ASSERT_EQ(item_reply(it).body, data_reply(item_json(it)).body) << c;
  }
  for (const char* name :
       {"Tux", "with \"quotes\"", "back\\slash", "tab\there", "caf\xc3\xa9", "bad\xff", "x"}) {
    it.name = name;
    it.price_cents = 2599;
    EXPECT_EQ(item_reply(it).body, data_reply(item_json(it)).body) << name;
    EXPECT_EQ(item_reply(it).status, 200u);
  }
}

// A lookup the cache holds is answered on the calling (I/O) thread, never by the services; a
// miss goes to the services, which answer.
TEST(ApiDispatcher, CachedLookupSkipsTheServices) {
  auto services = std::make_unique<testing::FakeServices>();
  auto* backend = services.get();
  LookupCache cache(10);
  cache.set_active(true, FlushReason::kBusRestart);
  proto::Item whale{"Whale", 3499, 7, 4, 0};
  ASSERT_EQ(cache.fill(whale, cache.ticket(), 1), FillOutcome::kStored);
  Metrics metrics;
  ApiHandler api([] { return std::string("id"); });
  ApiDispatcher dispatcher(api, *services, &cache, &metrics);

  httpd::HttpResponse hit;
  bool answered_inline = false;
  dispatcher.handle(httpd::HttpRequest{"GET", "/stocks/Whale", {}, {}}, [&](httpd::HttpResponse r) {
    hit = std::move(r);
    answered_inline = true;
  });
  EXPECT_TRUE(answered_inline);
  EXPECT_EQ(hit.body, R"({"data":{"name":"Whale","price":34.99,"quantity":7}})");

  std::promise<httpd::HttpResponse> miss;
  dispatcher.handle(httpd::HttpRequest{"GET", "/stocks/Tux", {}, {}},
                    [&](httpd::HttpResponse r) { miss.set_value(std::move(r)); });
  auto fut = miss.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get().status, 200u);
  {
    std::lock_guard<std::mutex> lock(backend->mu);
    EXPECT_EQ(backend->looked_up, (std::vector<std::string>{"Tux"}));
  }
  EXPECT_EQ(metrics.requests(RouteLabel::kItem, 200), 2u);
  EXPECT_EQ(cache.stats().hits, 1u);
  // Every lookup takes one path: the dispatcher's look counts the miss.
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST(ApiDispatcher, CountsImmediateRepliesAndRejections) {
  testing::FakeServices services;
  Metrics metrics;
  ApiHandler api([] { return std::string("id"); });
  ApiDispatcher dispatcher(api, services, nullptr, &metrics);
  dispatcher.handle(httpd::HttpRequest{"DELETE", "/orders", {}, {}}, [](httpd::HttpResponse) {});
  dispatcher.handle(httpd::HttpRequest{"GET", "/nope", {}, {}}, [](httpd::HttpResponse) {});
  dispatcher.on_rejected(431);
  EXPECT_EQ(metrics.requests(RouteLabel::kOrderPlace, 405), 1u);
  EXPECT_EQ(metrics.requests(RouteLabel::kOther, 404), 1u);
  EXPECT_EQ(metrics.requests(RouteLabel::kRejected, 431), 1u);
}

}  // namespace
}  // namespace bazaar::frontend
