// Checks on untrusted input: percent-coding, quantities, order numbers, keys, JSON depth; and the
// LeaderTracker's rules.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "client/http_client.h"
#include "frontend/leader_tracker.h"
#include "frontend/request_parsing.h"

namespace bazaar::frontend {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using client::percent_encode;  // the client's half of the round trip

TEST(PercentCoding, DecodesEscapes) {
  EXPECT_EQ(percent_decode("Tux"), "Tux");
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("%41%62%2f"), "Ab/");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("abc%"));
  EXPECT_FALSE(percent_decode("%g0"));
}

TEST(PercentCoding, EncodeRoundTrips) {
  const std::string raw = "Tux Deluxe/ü?#%&+~._-";
  EXPECT_EQ(percent_encode("Tux"), "Tux");
  EXPECT_EQ(percent_encode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(percent_decode(percent_encode(raw)), raw);
}

TEST(Quantity, OnlyPositive32BitIntegers) {
  EXPECT_EQ(parse_quantity(json::parse("1")), 1);
  EXPECT_EQ(parse_quantity(json::parse("2147483647")), 2147483647);
  for (const char* bad : {"0", "-1", "2147483648", "2.5", "2.0", "1e2", "\"3\"", "true", "null",
                          "[1]", "18446744073709551615", "-9223372036854775808"}) {
    EXPECT_FALSE(parse_quantity(json::parse(bad))) << bad;
  }
}

TEST(OrderNumber, NonNegativeDecimalOnly) {
  std::int64_t n = -1;
  EXPECT_EQ(parse_order_number("0", n), OrderNumberParse::kOk);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(parse_order_number("9223372036854775807", n), OrderNumberParse::kOk);
  EXPECT_EQ(n, INT64_MAX);
  EXPECT_EQ(parse_order_number("9223372036854775808", n), OrderNumberParse::kOutOfRange);
  for (const char* bad : {"", "-1", "+1", "1.5", "abc", "1a", " 1", "0x10"}) {
    EXPECT_EQ(parse_order_number(bad, n), OrderNumberParse::kInvalid) << bad;
  }
}

TEST(IdempotencyKey, VisibleAsciiUpTo128) {
  EXPECT_TRUE(valid_idempotency_key("a"));
  EXPECT_TRUE(valid_idempotency_key(std::string(128, '!')));
  EXPECT_FALSE(valid_idempotency_key(""));
  EXPECT_FALSE(valid_idempotency_key(std::string(129, 'a')));
  EXPECT_FALSE(valid_idempotency_key("a b"));
  EXPECT_FALSE(valid_idempotency_key("\x7f"));
  EXPECT_FALSE(valid_idempotency_key("\xc3\xa9"));
}

TEST(JsonDepth, CountsOutsideStrings) {
  EXPECT_TRUE(json_depth_within("[[[]]]", 3));
  EXPECT_FALSE(json_depth_within("[[[[]]]]", 3));
  EXPECT_TRUE(json_depth_within(R"({"a":"[[[[[[\"[[[["})", 1));
  EXPECT_TRUE(json_depth_within("]]]]{}", 1));
}

TEST(RequestId, UuidV7HexThatSortsByTime) {
  std::set<std::string> seen;
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const auto before = now_ms();
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_request_id();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(id[12], '7') << id;                                          // version
    EXPECT_NE(std::string("89ab").find(id[16]), std::string::npos) << id;  // variant
    // The first 12 digits are the milliseconds it was made in: never behind the last id's.
    EXPECT_GE(id.substr(0, 12), previous.substr(0, std::min<std::size_t>(12, previous.size())));
    previous = id;
    seen.insert(id);
  }
  const auto after = now_ms();
  const auto stamp = std::stoll(previous.substr(0, 12), nullptr, 16);
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  EXPECT_EQ(seen.size(), 1000u);
}

// ---- LeaderTracker -------------------------------------------------------------------------

TEST(LeaderTracker, KeepsTheHighestTerm) {
  LeaderTracker t(3, 1000ms);
  EXPECT_FALSE(t.leader());
  EXPECT_TRUE(t.note_leader(2, 5));
  EXPECT_FALSE(t.note_leader(3, 4));  // older term
  EXPECT_EQ(t.leader()->id, 2u);
  EXPECT_TRUE(t.note_leader(2, 5));  // re-announcement of the same term
  EXPECT_TRUE(t.note_leader(3, 6));
  EXPECT_EQ(t.leader()->id, 3u);
  EXPECT_EQ(t.leader()->term, 6u);
  EXPECT_FALSE(t.note_leader(4, 9));  // no replica 4
  EXPECT_FALSE(t.note_leader(0, 9));
  EXPECT_EQ(t.leader()->id, 3u);
}

TEST(LeaderTracker, NotLeaderForgetsAndAcceptedConfirms) {
  LeaderTracker t(3, 1000ms);
  t.note_leader(3, 2);
  t.note_not_leader(2);  // someone else: no change
  EXPECT_EQ(t.leader()->id, 3u);
  t.note_not_leader(3);
  EXPECT_FALSE(t.leader());
  t.note_accepted(1);
  EXPECT_EQ(t.leader()->id, 1u);
  EXPECT_EQ(t.leader()->term, 2u);
  EXPECT_FALSE(t.note_leader(2, 1));  // the term is remembered
}

TEST(LeaderTracker, LowerTermIsTakenOnlyWhenNoLeaderIsKnown) {
  LeaderTracker t(3, 1000ms);
  t.note_leader(2, 7);
  EXPECT_FALSE(t.note_leader(1, 3));
  t.note_not_leader(2);
  EXPECT_TRUE(t.note_leader(1, 3));  // e.g. a rebuilt order service starting over at term 1
  EXPECT_EQ(t.leader()->id, 1u);
  EXPECT_EQ(t.leader()->term, 3u);
}

TEST(LeaderTracker, TimedOutLeaderIsForgottenAndAvoidedForAWhile) {
  LeaderTracker t(3, 1000ms);
  const auto now = LeaderTracker::Clock::now();
  t.note_leader(3, 1);
  EXPECT_EQ(t.routable_leader(now), 3);
  t.note_timeout(2, now);  // not the leader: only suspect
  EXPECT_EQ(t.routable_leader(now), 3);
  t.note_timeout(3, now);
  EXPECT_TRUE(t.suspect(3, now + 999ms));
  EXPECT_FALSE(t.suspect(3, now + 1001ms));
  EXPECT_EQ(t.routable_leader(now + 500ms), -1);
  EXPECT_FALSE(t.leader());
  t.note_leader(3, 1);  // it re-announces: taken, and no longer suspect
  EXPECT_EQ(t.routable_leader(now), 3);
  t.note_timeout(3, now);
  t.note_accepted(3);  // it committed an order after all
  EXPECT_EQ(t.routable_leader(now), 3);
}

// Issue 19: a replica added to the cluster after the front end started becomes known once the
// order link has connected to the endpoint its announcement gave; until then it is ignored.
TEST(LeaderTracker, AnAnnouncedReplicaIsKnownOnceTheLinkHasConnectedToIt) {
  LeaderTracker t(3, 1000ms);
  const auto now = LeaderTracker::Clock::now();
  EXPECT_EQ(t.replicas(), 3u);
  EXPECT_EQ(t.known_ids(), (std::vector<std::uint32_t>{3, 2, 1}));
  t.note_endpoint(5, "tcp://127.0.0.1:5568");
  t.note_endpoint(2, "tcp://127.0.0.1:9999");  // known already: ignored
  t.note_endpoint(6, "tcp://*:5570");          // nobody can connect to a wildcard
  t.note_endpoint(7, "tcp://0.0.0.0:5572");
  t.note_endpoint(8, "ipc:///tmp/x");
  t.note_endpoint(10, "tcp://127.0.0.1:5576");  // no such replica id
  EXPECT_FALSE(t.note_leader(5, 3));            // not known yet
  EXPECT_TRUE(t.suspect(5, now));
  const auto fresh = t.take_new_endpoints();
  EXPECT_EQ(fresh, (std::map<std::uint32_t, std::string>{{5, "tcp://127.0.0.1:5568"}}));
  EXPECT_TRUE(t.take_new_endpoints().empty());  // handed out once
  t.learn(5);
  EXPECT_TRUE(t.known(5));
  EXPECT_FALSE(t.known(4));
  EXPECT_EQ(t.replicas(), 4u);
  EXPECT_EQ(t.known_ids(), (std::vector<std::uint32_t>{5, 3, 2, 1}));
  EXPECT_TRUE(t.note_leader(5, 3));
  EXPECT_EQ(t.routable_leader(now), 5);
  // Cut off from it: the relay is the highest known replica, never the unknown 4.
  t.note_timeout(5, now);
  EXPECT_EQ(t.relay(now), 3);
}

TEST(LeaderTracker, BusAliveWithinThreeIntervals) {
  LeaderTracker t(1, 1000ms);
  const auto now = LeaderTracker::Clock::now();
  EXPECT_FALSE(t.bus_alive(now));
  t.note_heartbeat(100, now);
  EXPECT_TRUE(t.bus_alive(now + 300ms));
  EXPECT_FALSE(t.bus_alive(now + 301ms));
}

// Names are checked before they leave the front end: length and no control characters
// (issue 7). Invalid UTF-8 still goes on, to be answered 404 by the catalog.
TEST(RequestParsing, ItemNamesRefuseControlCharacters) {
  EXPECT_TRUE(valid_item_name("Tux"));
  EXPECT_TRUE(valid_item_name("Board Game"));
  EXPECT_TRUE(valid_item_name("\xff\xfe"));
  EXPECT_TRUE(valid_item_name(std::string(64, 'x')));
  EXPECT_FALSE(valid_item_name(""));
  EXPECT_FALSE(valid_item_name(std::string(65, 'x')));
  EXPECT_FALSE(valid_item_name(std::string("T\0x", 3)));
  EXPECT_FALSE(valid_item_name("Tab\there"));
  EXPECT_FALSE(valid_item_name("new\nline"));
  EXPECT_FALSE(valid_item_name("Del\x7f"));
}

}  // namespace
}  // namespace bazaar::frontend
