// The push stream's pure parts: SSE framing, the bounded per-client queue, and the hub's
// fan-out and bounds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/exposition.h"
#include "httpd/event_hub.h"
#include "httpd/event_queue.h"
#include "httpd/sse_format.h"

namespace bazaar::httpd {
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
  const std::string m = common::render_text(hub.metric_families());
  EXPECT_NE(m.find("bazaar_event_streams 1\n"), std::string::npos);
  EXPECT_NE(m.find("bazaar_event_streams_max 7\n"), std::string::npos);
  EXPECT_NE(m.find("bazaar_event_streams_dropped_total 0\n"), std::string::npos);
  EXPECT_NE(m.find("bazaar_event_streams_refused_total 0\n"), std::string::npos);
  EXPECT_NE(m.find("# TYPE bazaar_events_published_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace bazaar::httpd
