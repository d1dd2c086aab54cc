// The pure parts of the pages: ETag/304, the cluster view's JSON, the order-rate window and the
// web routes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/exposition.h"
#include "httpd/event_hub.h"
#include "storefront/cluster_view.h"
#include "storefront/rate_window.h"
#include "storefront/static_assets.h"
#include "storefront/web_handler.h"

namespace bazaar::storefront {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// ---- ETag / 304 -------------------------------------------------------------------------------

TEST(StaticAssets, EtagIsStableAndDiffersWithTheBody) {
  EXPECT_EQ(make_etag("abc"), make_etag("abc"));
  EXPECT_NE(make_etag("abc"), make_etag("abd"));
  EXPECT_EQ(make_etag(""), "\"cbf29ce484222325\"");  // FNV-1a 64 offset basis
}

TEST(StaticAssets, IfNoneMatchForms) {
  const std::string tag = "\"0123456789abcdef\"";
  EXPECT_TRUE(etag_matches(tag, tag));
  EXPECT_TRUE(etag_matches("W/" + tag, tag));  // weak comparison for GET
  EXPECT_TRUE(etag_matches("\"x\", " + tag + " ,\"y\"", tag));
  EXPECT_TRUE(etag_matches("*", tag));
  EXPECT_FALSE(etag_matches("\"0123456789abcdee\"", tag));
  EXPECT_FALSE(etag_matches("0123456789abcdef", tag));  // unquoted is another tag
  EXPECT_FALSE(etag_matches("", tag));
  EXPECT_FALSE(etag_matches(" , ,", tag));
}

TEST(StaticAssets, ReplyIs200Or304WithValidatorAndPolicy) {
  const std::vector<EmbeddedFile> files = {{"index.html", "<b>{{EDITION}}</b>", 18},
                                           {"app.js", "x()", 3}};
  const StaticAssets assets(files, "stocks");
  const StaticAsset* page = assets.find("index.html");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->body, "<b>stocks</b>");
  EXPECT_EQ(page->content_type, kHtmlContentType);
  EXPECT_EQ(assets.find("app.js")->content_type, kJsContentType);
  EXPECT_EQ(assets.find("nope.js"), nullptr);

  auto header = [](const httpd::HttpResponse& r, const std::string& name) -> std::string {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  };
  const httpd::HttpResponse full = asset_reply(*page, nullptr);
  EXPECT_EQ(full.status, 200u);
  EXPECT_EQ(full.body, "<b>stocks</b>");
  EXPECT_EQ(header(full, "ETag"), page->etag);
  EXPECT_EQ(header(full, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(full, "Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_EQ(header(full, "X-Content-Type-Options"), "nosniff");

  const std::string same = page->etag;
  const httpd::HttpResponse cached = asset_reply(*page, &same);
  EXPECT_EQ(cached.status, 304u);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(header(cached, "ETag"), page->etag);

  const std::string other = "\"ffffffffffffffff\"";
  EXPECT_EQ(asset_reply(*page, &other).status, 200u);
}

TEST(StaticAssets, PolicyAllowsNoInlineScriptAndNoEval) {
  const std::string csp(kContentSecurityPolicy);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
}

TEST(StaticAssets, TheCompiledInPagesAreThere) {
  const StaticAssets assets(embedded_files(), "products");
  for (const char* name : {"index.html", "cluster.html", "style.css", "store.js", "cluster.js"}) {
    const StaticAsset* a = assets.find(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_FALSE(a->body.empty()) << name;
  }
  const std::string& index = assets.find("index.html")->body;
  EXPECT_NE(index.find("data-edition=\"products\""), std::string::npos);
  // No inline script or style in the pages: the policy would block it.
  for (const char* name : {"index.html", "cluster.html"}) {
    const std::string& html = assets.find(name)->body;
    EXPECT_EQ(html.find("<script>"), std::string::npos) << name;
    EXPECT_EQ(html.find("<style"), std::string::npos) << name;
    EXPECT_EQ(html.find("style=\""), std::string::npos) << name;
    EXPECT_EQ(html.find(" on"), std::string::npos) << name;  // no onclick= and the like
  }
  // The scripts write data with textContent only.
  for (const char* name : {"store.js", "cluster.js"}) {
    const std::string& js = assets.find(name)->body;
    EXPECT_EQ(js.find("innerHTML"), std::string::npos) << name;
    EXPECT_EQ(js.find("eval("), std::string::npos) << name;
  }
}

// ---- the cluster view -------------------------------------------------------------------------

proto::StatusReply replica(std::uint32_t id, const char* role, std::uint64_t term,
                           std::uint64_t committed, std::uint64_t last = 0) {
  return proto::StatusReply{.service = "order",
                            .id = id,
                            .role = role,
                            .term = term,
                            .leader_id = 3,
                            .incarnation = 1,
                            .log_size = committed,
                            .commit_index = committed + 2,
                            .last_index = last};
}

TEST(ClusterView, LeaderIsTheHighestTermLeaderThatAnswered) {
  ClusterProbe p;
  p.replicas = {replica(1, "leader", 1, 5), replica(2, "leader", 2, 7), std::nullopt};
  const auto l = probed_leader(p);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->id, 2u);
  EXPECT_EQ(l->term, 2u);
  p.replicas = {replica(1, "follower", 2, 5), std::nullopt, std::nullopt};
  EXPECT_FALSE(probed_leader(p));
}

TEST(ClusterView, JsonShowsEveryServiceReplicaLagCacheAndChart) {
  ClusterSnapshot s;
  s.probe.broker = proto::StatusReply{.service = "broker", .role = "bus", .log_size = 40};
  s.probe.catalog = proto::StatusReply{.service = "catalog", .role = "serving", .log_size = 10};
  s.probe.replicas = {replica(1, "follower", 4, 90, 95), std::nullopt,
                      replica(3, "leader", 4, 100, 104)};
  s.probe.age_ms = 120;
  s.announced_leader = frontend::LeaderInfo{.id = 3, .term = 4};
  s.bus_alive = true;
  s.cache_enabled = true;
  s.cache.hits = 3;
  s.cache.misses = 1;
  s.cache.entries = 2;
  s.cache.capacity = 100;
  s.event_streams = 2;
  s.orders = {
      RateSample{.count = 10, .errors = 1, .latency_avg_ms = 2.5, .latency_max_ms = 9.1234}};
  s.edition = "stocks";

  const json j = json::parse(cluster_json(s));
  const json& d = j.at("data");
  EXPECT_EQ(d["edition"], "stocks");
  EXPECT_EQ(d["leader"], (json{{"id", 3}, {"term", 4}}));
  EXPECT_EQ(d["broker"], (json{{"up", true}, {"role", "bus"}, {"events", 40}}));
  EXPECT_EQ(d["catalog"], (json{{"up", true}, {"role", "serving"}, {"items", 10}}));
  ASSERT_EQ(d["replicas"].size(), 3u);
  EXPECT_EQ(d["replicas"][0]["role"], "follower");
  EXPECT_EQ(d["replicas"][0]["committed"], 90);
  EXPECT_EQ(d["replicas"][0]["commit_index"], 92);
  EXPECT_EQ(d["replicas"][0]["last_index"], 95);
  EXPECT_EQ(d["replicas"][0]["behind"], 9);  // entries: the leader's last index 104 - 95
  EXPECT_EQ(d["replicas"][1], (json{{"id", 2}, {"up", false}}));
  EXPECT_EQ(d["replicas"][2]["behind"], 0);
  EXPECT_EQ(d["frontend"]["announced_leader"]["id"], 3);
  EXPECT_EQ(d["frontend"]["cache"]["hit_ratio"], 0.75);
  EXPECT_EQ(d["frontend"]["cache"]["size"], 2);
  EXPECT_EQ(d["frontend"]["event_streams"], 2);
  EXPECT_EQ(d["orders"]["per_second"], json::array({10}));
  EXPECT_EQ(d["orders"]["errors"], json::array({1}));
  EXPECT_EQ(d["orders"]["latency_max_ms"], json::array({9.123}));
  EXPECT_EQ(d["probe_age_ms"], 120);
}

TEST(ClusterView, NothingAnsweredIsAllDownWithNoLeaderAndNoLag) {
  ClusterSnapshot s;
  s.probe.replicas = {replica(1, "follower", 4, 90), std::nullopt};
  const json d = json::parse(cluster_json(s)).at("data");
  EXPECT_TRUE(d["leader"].is_null());
  EXPECT_EQ(d["broker"], (json{{"up", false}}));
  EXPECT_TRUE(d["replicas"][0]["behind"].is_null());
  EXPECT_TRUE(d["frontend"]["cache"]["hit_ratio"].is_null());
  EXPECT_EQ(d["probe_age_ms"], -1);
}

// ---- the order-rate window --------------------------------------------------------------------

TEST(RateWindow, CountsWholeSecondsOldestFirstAndForgetsOldOnes) {
  const auto t0 = RateWindow::Clock::time_point{} + 1000s;
  RateWindow w(3, t0);
  w.record(t0 + 100ms, 2ms, false);
  w.record(t0 + 900ms, 4ms, true);
  w.record(t0 + 1500ms, 10ms, false);
  auto s = w.samples(t0 + 2100ms);  // seconds -1, 0, 1 (second 2 still filling)
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].count, 0u);
  EXPECT_EQ(s[1].count, 2u);
  EXPECT_EQ(s[1].errors, 1u);
  EXPECT_DOUBLE_EQ(s[1].latency_avg_ms, 3.0);
  EXPECT_DOUBLE_EQ(s[1].latency_max_ms, 4.0);
  EXPECT_EQ(s[2].count, 1u);
  // Four seconds on, the ring slots of seconds 0 and 1 hold nothing of theirs any more.
  w.record(t0 + 4200ms, 1ms, false);  // second 4 reuses second 1's slot
  s = w.samples(t0 + 5000ms);         // seconds 2, 3, 4
  EXPECT_EQ(s[0].count, 0u);
  EXPECT_EQ(s[1].count, 0u);
  EXPECT_EQ(s[2].count, 1u);
}

// ---- the web routes ---------------------------------------------------------------------------

httpd::HttpRequest get(std::string target, httpd::HeaderList headers = {}) {
  return httpd::HttpRequest{
      .method = "GET", .target = std::move(target), .headers = std::move(headers)};
}

TEST(WebHandler, ClassifiesThePagesAndLeavesTheApiAlone) {
  EXPECT_EQ(WebHandler::classify(get("/")), WebRoute::kStore);
  EXPECT_EQ(WebHandler::classify(get("/?x=1")), WebRoute::kStore);
  EXPECT_EQ(WebHandler::classify(get("/cluster")), WebRoute::kClusterPage);
  EXPECT_EQ(WebHandler::classify(get("/cluster", {{"Accept", "application/json"}})),
            WebRoute::kClusterJson);
  EXPECT_EQ(WebHandler::classify(get("/cluster", {{"accept", "text/html,application/json"}})),
            WebRoute::kClusterPage);  // a browser navigating
  EXPECT_EQ(WebHandler::classify(get("/cluster.json")), WebRoute::kClusterJson);
  EXPECT_EQ(WebHandler::classify(get("/events")), WebRoute::kEvents);
  EXPECT_EQ(WebHandler::classify(get("/assets/store.js")), WebRoute::kAsset);
  for (const char* api : {"/products", "/products/Tux", "/stocks/GameStart", "/orders", "/orders/1",
                          "/health", "/metrics", "/clusters", "/eventsx"}) {
    EXPECT_FALSE(WebHandler::classify(get(api))) << api;
  }
}

struct NullNext : httpd::HttpRequestHandler {
  void handle(httpd::HttpRequest, httpd::ReplyCallback done) override {
    done(httpd::HttpResponse{.status = 299});
  }
};

TEST(WebHandler, RepliesToEachRoute) {
  NullNext next;
  const StaticAssets assets(embedded_files(), "products");
  httpd::EventHub hub({.max_streams = 1, .queue_limit = 4});
  ClusterSource cluster = [] { return ClusterSnapshot{.edition = "products"}; };
  WebHandler web(next, assets, &hub, cluster, nullptr, {});

  httpd::HttpResponse r = web.reply(WebRoute::kStore, get("/"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, kHtmlContentType);
  std::string etag;
  for (const auto& [n, v] : r.headers) {
    if (n == "ETag") etag = v;
  }
  EXPECT_EQ(web.reply(WebRoute::kStore, get("/", {{"If-None-Match", etag}})).status, 304u);

  EXPECT_EQ(web.reply(WebRoute::kAsset, get("/assets/store.js")).content_type, kJsContentType);
  EXPECT_EQ(web.reply(WebRoute::kAsset, get("/assets/index.html")).status, 404u);
  EXPECT_EQ(web.reply(WebRoute::kAsset, get("/assets/../x.js")).status, 404u);
  EXPECT_EQ(web.reply(WebRoute::kAsset, get("/assets/nope.js")).status, 404u);

  r = web.reply(WebRoute::kClusterJson, get("/cluster.json"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, httpd::kJsonContentType);
  EXPECT_EQ(json::parse(r.body)["data"]["edition"], "products");

  httpd::HttpRequest post = get("/");
  post.method = "POST";
  r = web.reply(WebRoute::kStore, post);
  EXPECT_EQ(r.status, 405u);

  r = web.reply(WebRoute::kEvents, get("/events"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.stream, nullptr);
  // The stream's subscription is held by the reply: the one place is taken.
  r = web.reply(WebRoute::kEvents, get("/events"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.stream, nullptr);
}

TEST(WebHandler, PassesApiRequestsOnAndTimesOrders) {
  NullNext next;
  const StaticAssets assets(embedded_files(), "products");
  RateWindow rate(60, RateWindow::Clock::now() - 10s);
  WebHandler web(next, assets, nullptr, {}, &rate, {});
  unsigned status = 0;
  httpd::HttpRequest order{.method = "POST", .target = "/orders", .headers = {}, .body = "{}"};
  web.handle(order, [&](httpd::HttpResponse r) { status = r.status; });
  EXPECT_EQ(status, 299u);  // the inner handler's reply, untouched
  web.handle(get("/products/Tux"), [&](httpd::HttpResponse r) { status = r.status; });
  EXPECT_EQ(status, 299u);
  std::uint64_t counted = 0;
  for (const auto& s : rate.samples(RateWindow::Clock::now() + 1s)) counted += s.count;
  EXPECT_EQ(counted, 1u);  // the order, not the lookup
  web.handle(get("/events"), [&](httpd::HttpResponse r) { status = r.status; });
  EXPECT_EQ(status, 404u);  // no hub
}

}  // namespace
}  // namespace bazaar::storefront
