// The pure parts of the pages and the push stream: SSE framing, the bounded per-client queue,
// the hub's fan-out and bounds, ETag/304, the cluster view's JSON, the order-rate window and
// the web routes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend/cluster_view.h"
#include "frontend/event_hub.h"
#include "frontend/event_queue.h"
#include "frontend/exposition.h"
#include "frontend/rate_window.h"
#include "frontend/sse_format.h"
#include "frontend/static_assets.h"
#include "frontend/web_handler.h"

namespace bazaar::frontend {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// ---- SSE framing ------------------------------------------------------------------------------

TEST(SseFormat, EventIsKindDataAndBlankLine) {
  EXPECT_EQ(format_sse_event("item", R"({"name":"Tux","version":3})"),
            "event: item\ndata: {\"name\":\"Tux\",\"version\":3}\n\n");
}

TEST(SseFormat, LineBreaksInDataBecomeDataLinesAndCannotEndTheEvent) {
  // A name with CR, LF or CRLF must not end the event early or forge an "event:" field.
  EXPECT_EQ(format_sse_event("item", "a\nevent: leader\r\nb\rc"),
            "event: item\ndata: a\ndata: event: leader\ndata: b\ndata: c\n\n");
}

TEST(SseFormat, KindIsATokenWhateverItHolds) {
  EXPECT_EQ(format_sse_event("x\ny z", "1"), "event: x_y_z\ndata: 1\n\n");
}

TEST(SseFormat, CommentAndRetry) {
  EXPECT_EQ(format_sse_comment("keep\nalive"), ": keep alive\n\n");
  EXPECT_EQ(format_sse_retry(1000), "retry: 1000\n\n");
}

TEST(SseFormat, EventDataIsJsonWithTheNameEscaped) {
  const std::string data = item_event_data("<img src=x onerror=\"alert(1)\">", 7);
  EXPECT_EQ(data.find('\n'), std::string::npos);
  const json j = json::parse(data);
  EXPECT_EQ(j["name"], "<img src=x onerror=\"alert(1)\">");
  EXPECT_EQ(j["version"], 7);
  EXPECT_EQ(leader_event_data(3, 9), R"({"id":3,"term":9})");
  EXPECT_EQ(resync_event_data("bus"), R"({"reason":"bus"})");
  // Invalid UTF-8 is replaced, not thrown on.
  EXPECT_TRUE(json::accept(item_event_data("\xff\xfe", 1)));
}

TEST(SseFormat, ResponseHeadIsAnEventStreamThatIsNeverCached) {
  const std::string head = sse_response_head(11);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(head.find("Cache-Control: no-store"), std::string::npos);
  EXPECT_NE(head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  EXPECT_EQ(sse_response_head(10).rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
}

// ---- the bounded per-client queue -------------------------------------------------------------

TEST(EventQueue, FirstPushWakesLaterOnesDoNot) {
  EventQueue q(3);
  EXPECT_EQ(q.push("a"), PushOutcome::kFirst);
  EXPECT_EQ(q.push("b"), PushOutcome::kQueued);
  std::string out;
  EXPECT_EQ(q.drain_into(out), 2u);
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(q.push("c"), PushOutcome::kFirst);  // empty again
}

TEST(EventQueue, AFullQueueOverflowsForGoodAndHoldsNothing) {
  EventQueue q(2);
  EXPECT_EQ(q.push("a"), PushOutcome::kFirst);
  EXPECT_EQ(q.push("b"), PushOutcome::kQueued);
  EXPECT_EQ(q.push("c"), PushOutcome::kOverflow);
  EXPECT_TRUE(q.overflowed());
  EXPECT_EQ(q.size(), 0u);
  std::string out;
  EXPECT_EQ(q.drain_into(out), 0u);
  EXPECT_EQ(q.push("d"), PushOutcome::kDropped);  // even with room again
  EXPECT_EQ(q.size(), 0u);
}

TEST(EventQueue, LimitIsAtLeastOne) {
  EventQueue q(0);
  EXPECT_EQ(q.limit(), 1u);
  EXPECT_EQ(q.push("a"), PushOutcome::kFirst);
  EXPECT_EQ(q.push("b"), PushOutcome::kOverflow);
}

// ---- the hub ----------------------------------------------------------------------------------

TEST(EventHub, FansOutToEverySubscriberInOrder) {
  EventHub hub({.max_streams = 4, .queue_limit = 8});
  auto a = hub.subscribe();
  auto b = hub.subscribe();
  ASSERT_TRUE(a && b);
  hub.publish_item("Tux", 2);
  hub.publish_item("Whale", 5);
  for (auto* s : {&a, &b}) {
    std::string out;
    EXPECT_EQ((*s)->take(out), TakeOutcome::kEvents);
    EXPECT_EQ(out, format_sse_event("item", item_event_data("Tux", 2)) +
                       format_sse_event("item", item_event_data("Whale", 5)));
    out.clear();
    EXPECT_EQ((*s)->take(out), TakeOutcome::kNothing);
  }
  EXPECT_EQ(hub.counters().published.load(), 2u);
}

TEST(EventHub, RefusesBeyondMaxStreamsAndCountsOnlyLiveOnes) {
  EventHub hub({.max_streams = 2, .queue_limit = 8});
  auto a = hub.subscribe();
  auto b = hub.subscribe();
  EXPECT_TRUE(a && b);
  EXPECT_EQ(hub.subscribe(), nullptr);
  EXPECT_EQ(hub.counters().refused.load(), 1u);
  EXPECT_EQ(hub.counters().open.load(), 2u);
  a.reset();  // a stream ended: its place is free
  EXPECT_EQ(hub.counters().open.load(), 1u);
  EXPECT_NE(hub.subscribe(), nullptr);
}

TEST(EventHub, ASlowSubscriberIsDroppedAndTheOthersKeepTheirEvents) {
  EventHub hub({.max_streams = 4, .queue_limit = 3});
  auto slow = hub.subscribe();
  auto fast = hub.subscribe();
  for (int i = 0; i < 5; ++i) {
    hub.publish_item("Tux", static_cast<std::uint64_t>(i));
    std::string out;
    EXPECT_EQ(fast->take(out), TakeOutcome::kEvents) << i;
  }
  std::string out;
  EXPECT_EQ(slow->take(out), TakeOutcome::kOverflowed);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(hub.counters().dropped.load(), 1u);
}

TEST(EventHub, WakesTheWriterOnTheFirstEventAndOnOverflowOnly) {
  EventHub hub({.max_streams = 1, .queue_limit = 2});
  auto s = hub.subscribe();
  int wakes = 0;
  s->set_wake([&] { ++wakes; });
  EXPECT_EQ(wakes, 0);  // nothing queued yet
  hub.publish_item("a", 1);
  hub.publish_item("b", 1);
  EXPECT_EQ(wakes, 1);
  hub.publish_item("c", 1);  // overflow
  EXPECT_EQ(wakes, 2);
  hub.publish_item("d", 1);  // dropped already: nothing to wake for
  EXPECT_EQ(wakes, 2);
}

TEST(EventHub, NewSubscribersGetTheLastLeaderFirst) {
  EventHub hub;
  hub.publish_leader(3, 1);
  hub.publish_leader(2, 2);
  auto s = hub.subscribe();
  int wakes = 0;
  s->set_wake([&] { ++wakes; });
  EXPECT_EQ(wakes, 1);  // queued before the writer started: woken at once
  std::string out;
  EXPECT_EQ(s->take(out), TakeOutcome::kEvents);
  EXPECT_EQ(out, format_sse_event("leader", leader_event_data(2, 2)));
}

TEST(EventHub, StopClosesEveryStreamAfterItsQueuedEventsAndRefusesNewOnes) {
  EventHub hub;
  auto s = hub.subscribe();
  hub.publish_resync("bus");
  int wakes = 0;
  s->set_wake([&] { ++wakes; });
  hub.stop();
  EXPECT_EQ(wakes, 2);  // the queued event, then the close
  std::string out;
  EXPECT_EQ(s->take(out), TakeOutcome::kEvents);  // what was queued still goes out
  out.clear();
  EXPECT_EQ(s->take(out), TakeOutcome::kClosed);
  hub.publish_item("Tux", 1);  // after stop: nobody gets it, no wake posted
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(hub.subscribe(), nullptr);
}

TEST(EventHub, MetricsNameEveryFamily) {
  EventHub hub({.max_streams = 7, .queue_limit = 1});
  auto s = hub.subscribe();
  const std::string m = render_text(hub.metric_families());
  EXPECT_NE(m.find("bazaar_event_streams 1\n"), std::string::npos);
  EXPECT_NE(m.find("bazaar_event_streams_max 7\n"), std::string::npos);
  EXPECT_NE(m.find("bazaar_event_streams_dropped_total 0\n"), std::string::npos);
  EXPECT_NE(m.find("bazaar_event_streams_refused_total 0\n"), std::string::npos);
  EXPECT_NE(m.find("# TYPE bazaar_events_published_total counter\n"), std::string::npos);
}

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

  auto header = [](const ApiResponse& r, const std::string& name) -> std::string {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  };
  const ApiResponse full = asset_reply(*page, nullptr);
  EXPECT_EQ(full.status, 200u);
  EXPECT_EQ(full.body, "<b>stocks</b>");
  EXPECT_EQ(header(full, "ETag"), page->etag);
  EXPECT_EQ(header(full, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(full, "Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_EQ(header(full, "X-Content-Type-Options"), "nosniff");

  const std::string same = page->etag;
  const ApiResponse cached = asset_reply(*page, &same);
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
  s.announced_leader = LeaderInfo{.id = 3, .term = 4};
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

ApiRequest get(std::string target, HeaderList headers = {}) {
  return ApiRequest{.method = "GET", .target = std::move(target), .headers = std::move(headers)};
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

struct NullNext : HttpRequestHandler {
  void handle(ApiRequest, ReplyCallback done) override { done(ApiResponse{.status = 299}); }
};

TEST(WebHandler, RepliesToEachRoute) {
  NullNext next;
  const StaticAssets assets(embedded_files(), "products");
  EventHub hub({.max_streams = 1, .queue_limit = 4});
  ClusterSource cluster = [] { return ClusterSnapshot{.edition = "products"}; };
  WebHandler web(next, assets, &hub, cluster, nullptr, {});

  ApiResponse r = web.reply(WebRoute::kStore, get("/"));
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
  EXPECT_EQ(r.content_type, kJsonContentType);
  EXPECT_EQ(json::parse(r.body)["data"]["edition"], "products");

  ApiRequest post = get("/");
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
  ApiRequest order{.method = "POST", .target = "/orders", .headers = {}, .body = "{}"};
  web.handle(order, [&](ApiResponse r) { status = r.status; });
  EXPECT_EQ(status, 299u);  // the inner handler's reply, untouched
  web.handle(get("/products/Tux"), [&](ApiResponse r) { status = r.status; });
  EXPECT_EQ(status, 299u);
  std::uint64_t counted = 0;
  for (const auto& s : rate.samples(RateWindow::Clock::now() + 1s)) counted += s.count;
  EXPECT_EQ(counted, 1u);  // the order, not the lookup
  web.handle(get("/events"), [&](ApiResponse r) { status = r.status; });
  EXPECT_EQ(status, 404u);  // no hub
}

}  // namespace
}  // namespace bazaar::frontend
