// OrderPlacement, the order link's state machine, driven by hand: replies and timer firings in,
// what to send out, on a clock that moves only when the test says. Every branch of the retry
// policy without a socket or a thread: hints followed or not, back-off, attempt timeouts, the
// shared discovery round, deadlines, late and duplicate replies, reads and /health's look for
// the leader.
#include <gtest/gtest.h>

#include <algorithm>

#include "frontend/order_placement.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {
namespace {

using namespace std::chrono_literals;
using Clock = OrderPlacement::Clock;
using Send = OrderEffects::Send;

// Any fixed point: the tracker and the state machine only compare times they are given.
const Clock::time_point kT0 = Clock::time_point(std::chrono::hours(1));

CallTimeouts timeouts() {
  return CallTimeouts{.request = 1000ms, .attempt = 100ms, .probe = 50ms, .backoff = 20ms};
}

proto::MessageType type_of(const Send& s) {
  auto env = proto::open_envelope(s.body);
  EXPECT_TRUE(env);
  return env ? env->type : proto::MessageType::kErrorReply;
}

std::string placed_id(const Send& s) {
  auto r = proto::decode<proto::PlaceOrderRequest>(s.body);
  return r ? r->request_id : std::string("?");
}

std::string order_body(const std::string& id) {
  return proto::encode(proto::PlaceOrderRequest{id, "Tux", proto::Side::kBuy, 1});
}

std::string placed(std::int64_t number) {
  return proto::encode(
      proto::PlaceOrderReply{.status = proto::Status::kOk, .order_number = number});
}

std::string place_status(proto::Status status) {
  return proto::encode(proto::PlaceOrderReply{.status = status});
}

std::string not_leader(std::int32_t hint) {
  return proto::encode(
      proto::PlaceOrderReply{.status = proto::Status::kNotLeader, .leader_hint = hint});
}

std::string status(std::uint32_t id, bool leads, std::uint64_t term, std::int32_t leader_id) {
  proto::StatusReply st;
  st.service = "order";
  st.id = id;
  st.role = leads ? "leader" : "follower";
  st.term = term;
  st.leader_id = leader_id;
  return proto::encode(st);
}

std::string got_order(std::int64_t number) {
  proto::GetOrderReply rep;
  rep.status = proto::Status::kOk;
  rep.order = proto::Order{number, "Tux", proto::Side::kBuy, 2, "rid"};
  return proto::encode(rep);
}

std::string get_status(proto::Status s) {
  proto::GetOrderReply rep;
  rep.status = s;
  return proto::encode(rep);
}

// The state machine with its tracker and a clock of its own.
struct Harness {
  explicit Harness(std::uint32_t replicas)
      : tracker(replicas, 1000ms), placement(timeouts(), tracker, &metrics) {}

  std::uint64_t place(const std::string& id) {
    return placement.place(order_body(id), now + timeouts().request, now, out);
  }
  std::uint64_t get(std::int64_t number) {
    return placement.get(number, now + timeouts().request, now, out);
  }
  std::uint64_t find_leader(std::chrono::milliseconds budget = 1000ms) {
    return placement.find_leader(now + budget, now, out);
  }
  /// The sends asked for since the last call, and forgets them.
  std::vector<Send> sends() {
    std::vector<Send> s = std::move(out.sends);
    out.sends.clear();
    return s;
  }
  /// The one send asked for since the last call.
  Send only_send() {
    auto s = sends();
    EXPECT_EQ(s.size(), 1u);
    return s.empty() ? Send{} : s[0];
  }
  void reply(const Send& s, const std::string& body) {
    placement.on_reply(s.replica, s.attempt, body, now, out);
  }
  void advance(std::chrono::milliseconds by) {
    now += by;
    placement.on_timers(now, out);
  }
  /// Moves the clock to the next timer and fires it.
  void next_timer() {
    const auto at = placement.next_timer();
    ASSERT_TRUE(at);
    now = *at;
    placement.on_timers(now, out);
  }
  std::vector<OrderEffects::Answer> answers() {
    auto a = std::move(out.answers);
    out.answers.clear();
    return a;
  }
  PlaceOrderResult place_answer(std::uint64_t key) {
    auto a = answers();
    EXPECT_EQ(a.size(), 1u);
    if (a.size() != 1 || a[0].key != key) return {};
    return std::get<PlaceOrderResult>(a[0].result);
  }
  GetOrderResult get_answer(std::uint64_t key) {
    auto a = answers();
    EXPECT_EQ(a.size(), 1u);
    if (a.size() != 1 || a[0].key != key) return {};
    return std::get<GetOrderResult>(a[0].result);
  }
  FindLeaderResult leader_answer(std::uint64_t key) {
    auto a = answers();
    EXPECT_EQ(a.size(), 1u);
    if (a.size() != 1 || a[0].key != key) return {};
    return std::get<FindLeaderResult>(a[0].result);
  }

  LeaderTracker tracker;
  Metrics metrics;
  OrderPlacement placement;
  OrderEffects out;
  Clock::time_point now = kT0;
};

// ---- placing an order -----------------------------------------------------------------------

TEST(OrderPlacement, KnownLeaderTakesTheOrder) {
  Harness h(3);
  h.tracker.note_leader(2, 1);
  const auto key = h.place("r1");
  const Send s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  EXPECT_EQ(type_of(s), proto::MessageType::kPlaceOrderRequest);
  EXPECT_EQ(placed_id(s), "r1");
  EXPECT_TRUE(h.answers().empty());
  h.reply(s, placed(0));
  const auto r = h.place_answer(key);
  EXPECT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(r.order_number, 0);
  EXPECT_EQ(h.placement.in_flight(), 0u);
  EXPECT_FALSE(h.placement.next_timer());
  EXPECT_EQ(h.metrics.retries(), 0u);
}

TEST(OrderPlacement, UnknownLeaderIsProbedHighestIdFirstAndFoundByAProbe) {
  Harness h(3);
  const auto key = h.place("r1");
  // One round of probes, one replica at a time, highest id first.
  Send p = h.only_send();
  EXPECT_EQ(p.replica, 3u);
  EXPECT_EQ(type_of(p), proto::MessageType::kStatusRequest);
  h.reply(p, status(3, false, 4, 1));
  p = h.only_send();
  EXPECT_EQ(p.replica, 2u);
  h.reply(p, status(2, false, 4, 1));
  p = h.only_send();
  EXPECT_EQ(p.replica, 1u);
  h.reply(p, status(1, true, 4, 1));
  // Leader found by the probe: the waiting order goes there.
  const Send s = h.only_send();
  EXPECT_EQ(s.replica, 1u);
  EXPECT_EQ(placed_id(s), "r1");
  ASSERT_TRUE(h.tracker.leader());
  EXPECT_EQ(h.tracker.leader()->id, 1u);
  EXPECT_EQ(h.tracker.leader()->term, 4u);
  h.reply(s, placed(5));
  EXPECT_EQ(h.place_answer(key).order_number, 5);
}

// Issue 19: the leader can be a replica added after this front end started (launch/bazaar
// add-replica), which it has no socket for. A follower that names such a leader gets the order,
// and forwards it; before, the order waited for a leader among the known three until its deadline.
TEST(OrderPlacement, AFollowerOfALeaderOutsideTheKnownReplicasTakesTheOrder) {
  Harness h(3);
  const auto key = h.place("r1");
  Send p = h.only_send();
  EXPECT_EQ(p.replica, 3u);
  h.reply(p, status(3, false, 6, 5));  // follows replica 5
  p = h.only_send();
  h.reply(p, status(2, false, 6, 5));
  p = h.only_send();
  h.reply(p, status(1, false, 6, 5));
  const Send s = h.only_send();
  EXPECT_EQ(s.replica, 3u) << "the first follower that named it";
  EXPECT_EQ(placed_id(s), "r1");
  h.reply(s, placed(7));
  EXPECT_EQ(h.place_answer(key).order_number, 7);
}

// Once the order link has connected to that leader (LeaderTracker::learn, after its
// announcement), probes include it and a hint naming it is followed to it directly.
TEST(OrderPlacement, ALeaderLearntAfterStartIsProbedAndTakesOrdersDirectly) {
  Harness h(3);
  h.tracker.learn(5);
  const auto key = h.place("r1");
  Send p = h.only_send();
  EXPECT_EQ(p.replica, 5u) << "the highest known id first";
  h.reply(p, status(5, true, 6, 5));
  const Send s = h.only_send();
  EXPECT_EQ(s.replica, 5u);
  h.reply(s, placed(7));
  EXPECT_EQ(h.place_answer(key).order_number, 7);
  // A follower's hint names it: followed at once.
  h.tracker.note_not_leader(5);
  h.tracker.note_leader(3, 6);
  const auto again = h.place("r2");
  const Send at3 = h.only_send();
  EXPECT_EQ(at3.replica, 3u);
  h.reply(at3, not_leader(5));
  const Send at5 = h.only_send();
  EXPECT_EQ(at5.replica, 5u);
  EXPECT_EQ(placed_id(at5), "r2");
  h.reply(at5, placed(8));
  EXPECT_EQ(h.place_answer(again).order_number, 8);
}

TEST(OrderPlacement, OneDiscoveryRoundServesEveryWaitingOrder) {
  Harness h(2);
  std::vector<std::uint64_t> keys;
  for (int i = 0; i < 10; ++i) keys.push_back(h.place("r" + std::to_string(i)));
  Send p = h.only_send();  // one probe, not ten
  EXPECT_EQ(p.replica, 2u);
  h.reply(p, status(2, true, 1, 2));
  auto sends = h.sends();
  ASSERT_EQ(sends.size(), 10u);
  for (std::size_t i = 0; i < sends.size(); ++i) {
    EXPECT_EQ(sends[i].replica, 2u);
    EXPECT_EQ(placed_id(sends[i]), "r" + std::to_string(i));  // in arrival order
    h.reply(sends[i], placed(static_cast<std::int64_t>(i)));
  }
  EXPECT_EQ(h.answers().size(), 10u);
}

TEST(OrderPlacement, NotLeaderWithAHintIsFollowedAtOnceWithTheSameBytes) {
  Harness h(3);
  h.tracker.note_leader(1, 1);  // stale belief
  const auto key = h.place("same");
  const Send first = h.only_send();
  EXPECT_EQ(first.replica, 1u);
  h.reply(first, not_leader(3));
  const Send second = h.only_send();  // no pause, no probe
  EXPECT_EQ(second.replica, 3u);
  EXPECT_EQ(second.body, first.body);  // the same request id
  EXPECT_NE(second.attempt, first.attempt);
  h.reply(second, placed(0));
  EXPECT_EQ(h.place_answer(key).status, proto::Status::kOk);
  EXPECT_EQ(h.tracker.leader()->id, 3u);
  EXPECT_EQ(h.metrics.retries(), 1u);
}

TEST(OrderPlacement, NotLeaderWithoutAHintPausesThenRoutesAgain) {
  Harness h(3);
  h.tracker.note_leader(2, 1);
  h.place("x");
  h.reply(h.only_send(), not_leader(-1));
  EXPECT_TRUE(h.sends().empty());  // backing off, not spinning
  EXPECT_EQ(h.placement.next_timer(), h.now + 20ms);
  // The tracker forgot 2 as leader: after the pause the order waits for a discovery round.
  h.next_timer();
  const Send p = h.only_send();
  EXPECT_EQ(type_of(p), proto::MessageType::kStatusRequest);
  EXPECT_EQ(p.replica, 3u);
}

TEST(OrderPlacement, StaleHintsPointingAtEachOtherDoNotSpin) {
  Harness h(2);
  h.tracker.note_leader(2, 1);
  h.place("x");
  // 2 points at 1, 1 at 2, ...: at most `replicas` hops in a row, then a pause.
  Send s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  h.reply(s, not_leader(1));
  s = h.only_send();
  EXPECT_EQ(s.replica, 1u);
  h.reply(s, not_leader(2));
  s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  h.reply(s, not_leader(1));
  EXPECT_TRUE(h.sends().empty());
  EXPECT_EQ(h.placement.next_timer(), h.now + 20ms);
}

TEST(OrderPlacement, HintAtASuspectReplicaIsNotFollowed) {
  Harness h(3);
  h.tracker.note_leader(2, 1);
  h.tracker.note_timeout(3, h.now);
  h.place("x");
  h.reply(h.only_send(), not_leader(3));
  EXPECT_TRUE(h.sends().empty());  // paused instead
}

TEST(OrderPlacement, AttemptTimeoutSuspectsTheLeaderAndFailsOverToTheNewOne) {
  Harness h(3);
  h.tracker.note_leader(3, 1);  // replica 3 died; 2 won the election
  const auto key = h.place("fo");
  const Send first = h.only_send();
  EXPECT_EQ(first.replica, 3u);
  h.advance(99ms);
  EXPECT_TRUE(h.sends().empty());
  h.advance(1ms);  // the attempt's deadline
  EXPECT_TRUE(h.tracker.suspect(3, h.now));
  // The retry goes through the highest replica not suspect at once (a follower forwards to the
  // leader it hears; here it is the new leader itself), with the same bytes.
  const Send retry = h.only_send();
  EXPECT_EQ(retry.replica, 2u);
  EXPECT_EQ(retry.body, first.body);
  h.reply(retry, placed(0));
  EXPECT_EQ(h.place_answer(key).status, proto::Status::kOk);
  EXPECT_EQ(h.tracker.leader()->id, 2u);
  EXPECT_EQ(h.tracker.failovers(), 1u);
  EXPECT_EQ(h.metrics.retries(), 1u);

  // The next order goes straight to the new leader.
  h.place("next");
  EXPECT_EQ(h.only_send().replica, 2u);
  EXPECT_EQ(h.metrics.retries(), 1u);
}

TEST(OrderPlacement, AnOrderRelayedThroughAFollowerDoesNotMakeItTheLeader) {
  Harness h(3);
  h.tracker.note_leader(3, 1);  // replica 3 leads, but this front end is cut off from it
  const auto key = h.place("cut");
  EXPECT_EQ(h.only_send().replica, 3u);
  h.advance(100ms);
  const Send relay = h.only_send();
  ASSERT_EQ(relay.replica, 2u);
  // Replica 2 forwarded the order to 3 and relays 3's answer, which names 3 as the leader.
  h.reply(relay, proto::encode(proto::PlaceOrderReply{
                     .status = proto::Status::kOk, .order_number = 0, .leader_hint = 3}));
  EXPECT_EQ(h.place_answer(key).status, proto::Status::kOk);
  EXPECT_EQ(h.tracker.failovers(), 0u) << "no fail-over happened";
  EXPECT_FALSE(h.tracker.leader() && h.tracker.leader()->id == 2u);
  // Replica 3 is still suspect from here: the next order goes through 2 at once.
  h.place("next");
  EXPECT_EQ(h.only_send().replica, 2u);
}

TEST(OrderPlacement, LateReplyToAnAbandonedAttemptIsDropped) {
  Harness h(3);
  h.tracker.note_leader(3, 1);
  const auto key = h.place("late");
  const Send first = h.only_send();
  h.advance(100ms);  // given up on; retried through 2
  const Send retry = h.only_send();
  EXPECT_EQ(retry.replica, 2u);
  // The old leader answers after all: too late, it answers nothing.
  h.reply(first, placed(41));
  EXPECT_TRUE(h.answers().empty());
  EXPECT_TRUE(h.sends().empty());
  h.reply(retry, placed(42));
  EXPECT_EQ(h.place_answer(key).order_number, 42);
}

TEST(OrderPlacement, DuplicateReplyAnswersOnce) {
  Harness h(1);
  h.tracker.note_leader(1, 1);
  const auto key = h.place("d");
  const Send s = h.only_send();
  h.reply(s, placed(3));
  h.reply(s, placed(3));
  EXPECT_EQ(h.place_answer(key).order_number, 3);
  EXPECT_TRUE(h.answers().empty());
}

TEST(OrderPlacement, UnavailableIsRetriedAfterABackoffAndFinalAnswersAreNot) {
  Harness h(1);
  h.tracker.note_leader(1, 1);
  const auto key = h.place("u");
  h.reply(h.only_send(), place_status(proto::Status::kUnavailable));
  EXPECT_TRUE(h.sends().empty());
  h.advance(19ms);
  EXPECT_TRUE(h.sends().empty());
  h.advance(1ms);
  h.reply(h.only_send(), place_status(proto::Status::kUnavailable));
  h.advance(20ms);
  h.reply(h.only_send(), placed(0));
  EXPECT_EQ(h.place_answer(key).status, proto::Status::kOk);
  EXPECT_EQ(h.metrics.retries(), 2u);

  for (const auto final_status :
       {proto::Status::kInsufficient, proto::Status::kUnknownItem, proto::Status::kConflict}) {
    const auto k = h.place("f");
    h.reply(h.only_send(), place_status(final_status));
    EXPECT_EQ(h.place_answer(k).status, final_status);
    EXPECT_TRUE(h.sends().empty());
  }
  EXPECT_EQ(h.metrics.retries(), 2u);
}

TEST(OrderPlacement, RejectedRequestIsInternalAndNotRetried) {
  Harness h(1);
  h.tracker.note_leader(1, 1);
  const auto key = h.place("bad");
  h.reply(h.only_send(),
          proto::encode(proto::ErrorReply{proto::Status::kBadRequest, "cannot decode"}));
  const auto r = h.place_answer(key);
  EXPECT_EQ(r.status, proto::Status::kInternal);
  EXPECT_NE(r.message.find("cannot decode"), std::string::npos) << r.message;
  EXPECT_TRUE(h.sends().empty());
}

TEST(OrderPlacement, UndecodableReplyIsTreatedAsATimeout) {
  Harness h(2);
  h.tracker.note_leader(2, 1);
  h.place("g");
  h.reply(h.only_send(), "garbage");
  EXPECT_TRUE(h.tracker.suspect(2, h.now));
  bool retried_at_1 = false;
  for (const auto& s : h.sends()) {
    if (type_of(s) == proto::MessageType::kPlaceOrderRequest) retried_at_1 = s.replica == 1;
  }
  EXPECT_TRUE(retried_at_1);
}

TEST(OrderPlacement, NoLeaderGivesUnavailableAtTheDeadline) {
  Harness h(3);  // an election that never ends: every replica a follower without a hint
  const auto key = h.place("x");
  int probes = 0;
  int places = 0;
  for (int i = 0; i < 1000 && h.placement.in_flight() > 0; ++i) {
    for (const auto& s : h.sends()) {
      if (type_of(s) == proto::MessageType::kStatusRequest) {
        ++probes;
        h.reply(s, status(s.replica, false, 1, -1));
      } else {
        ++places;
      }
    }
    if (h.out.sends.empty() && h.placement.in_flight() > 0) h.next_timer();
  }
  const auto r = h.place_answer(key);
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_EQ(r.message, "no order leader answered within 1000 ms");
  EXPECT_EQ(h.now, kT0 + 1000ms);
  EXPECT_EQ(places, 0);
  // Rounds of probes separated by back-off pauses, not a busy loop: 1000 ms / 20 ms at most.
  EXPECT_GT(probes, 3);
  EXPECT_LE(probes, 3 * 51);
}

TEST(OrderPlacement, UnavailableAtTheDeadlineSaysWhatWentWrongLast) {
  Harness h(1);
  h.tracker.note_leader(1, 1);
  const auto key = h.place("x");
  for (int i = 0; i < 1000 && h.placement.in_flight() > 0; ++i) {
    for (const auto& s : h.sends()) {
      h.reply(s, proto::encode(proto::PlaceOrderReply{.status = proto::Status::kUnavailable,
                                                      .message = "no majority"}));
    }
    if (h.placement.in_flight() > 0) h.next_timer();
  }
  const auto r = h.place_answer(key);
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_EQ(r.message, "no majority within 1000 ms");
}

TEST(OrderPlacement, EveryReplicaSilentGivesUnavailableAtTheDeadline) {
  Harness h(2);
  h.tracker.note_leader(2, 1);
  const auto key = h.place("x");
  for (int i = 0; i < 1000 && h.placement.in_flight() > 0; ++i) {
    h.sends();  // swallowed
    h.next_timer();
  }
  EXPECT_EQ(h.place_answer(key).status, proto::Status::kUnavailable);
  EXPECT_EQ(h.now, kT0 + 1000ms);
}

TEST(OrderPlacement, SilentReplicaIsReconnectedAfterAWholeAttemptPeriod) {
  Harness h(1);
  h.tracker.note_leader(1, 1);
  h.place("x");
  h.sends();
  h.advance(100ms);
  EXPECT_EQ(h.out.reconnects, (std::vector<std::uint32_t>{1}));
  h.out.reconnects.clear();

  // A replica that answered something just before is not silent.
  Harness busy(1);
  busy.tracker.note_leader(1, 1);
  busy.place("y");
  busy.sends();
  busy.now += 60ms;
  busy.placement.on_malformed(1, busy.now);
  busy.advance(40ms);
  EXPECT_TRUE(busy.out.reconnects.empty());
}

TEST(OrderPlacement, DeposedLeaderOfAnOlderTermIsNotTaken) {
  Harness h(3);
  h.place("x");
  const Send p = h.only_send();
  EXPECT_EQ(p.replica, 3u);
  h.tracker.note_leader(1, 5);        // meanwhile the bus announces a leader of term 5
  h.reply(p, status(3, true, 4, 3));  // 3 says it leads, but term 4 < 5: deposed
  EXPECT_EQ(h.tracker.leader()->id, 1u);
  const Send next = h.only_send();  // the round goes on
  EXPECT_EQ(type_of(next), proto::MessageType::kStatusRequest);
  EXPECT_EQ(next.replica, 2u);
}

TEST(OrderPlacement, AbandonAllReturnsEveryKeyAndForgetsThem) {
  Harness h(1);
  h.tracker.note_leader(1, 1);
  const auto a = h.place("a");
  const auto b = h.get(1);
  const auto sends = h.sends();
  EXPECT_EQ(h.placement.abandon_all(), (std::vector<std::uint64_t>{a, b}));
  EXPECT_EQ(h.placement.in_flight(), 0u);
  EXPECT_FALSE(h.placement.next_timer());
  for (const auto& s : sends) h.reply(s, placed(1));
  EXPECT_TRUE(h.answers().empty());
}

// ---- reading an order -----------------------------------------------------------------------

TEST(OrderPlacement, GetReadsFromTheLeaderWhoseNotFoundIsFinal) {
  Harness h(3);
  h.tracker.note_leader(2, 1);
  auto key = h.get(4);
  Send s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  EXPECT_EQ(type_of(s), proto::MessageType::kGetOrderRequest);
  h.reply(s, got_order(4));
  const auto r = h.get_answer(key);
  EXPECT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(r.order.number, 4);

  key = h.get(5);
  s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  h.reply(s, get_status(proto::Status::kNotFound));
  EXPECT_EQ(h.get_answer(key).status, proto::Status::kNotFound);
  EXPECT_TRUE(h.sends().empty());
}

TEST(OrderPlacement, GetFallsBackToFollowersWhenTheLeaderIsSilent) {
  Harness h(3);
  h.tracker.note_leader(3, 1);
  auto key = h.get(1);
  EXPECT_EQ(h.only_send().replica, 3u);
  h.advance(100ms);  // the leader is silent
  Send s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  h.reply(s, got_order(1));
  EXPECT_EQ(h.get_answer(key).status, proto::Status::kOk);
  EXPECT_EQ(h.metrics.retries(), 1u);

  // A follower's "not found" may be lag: the others are asked, and only then is it final.
  key = h.get(9);
  s = h.only_send();
  EXPECT_EQ(s.replica, 2u);  // 3 is suspect now: highest id not suspect first
  h.reply(s, get_status(proto::Status::kNotFound));
  s = h.only_send();
  EXPECT_EQ(s.replica, 1u);
  h.reply(s, get_status(proto::Status::kNotFound));
  EXPECT_EQ(h.get_answer(key).status, proto::Status::kNotFound);
}

TEST(OrderPlacement, GetAsksEveryoneWhenAllAreSuspectAndPausesBetweenRounds) {
  Harness h(2);
  h.tracker.note_timeout(1, h.now);
  h.tracker.note_timeout(2, h.now);
  const auto key = h.get(0);
  Send s = h.only_send();
  EXPECT_EQ(s.replica, 2u);
  h.reply(s, get_status(proto::Status::kUnavailable));
  s = h.only_send();
  EXPECT_EQ(s.replica, 1u);
  h.reply(s, get_status(proto::Status::kNotLeader));
  EXPECT_TRUE(h.sends().empty());  // a round without an answer: pause
  h.advance(20ms);
  s = h.only_send();
  h.reply(s, got_order(0));
  EXPECT_EQ(h.get_answer(key).status, proto::Status::kOk);
}

TEST(OrderPlacement, GetGivesUnavailableAtTheDeadlineAndInternalWhenRejected) {
  Harness h(1);
  auto key = h.get(0);
  for (int i = 0; i < 1000 && h.placement.in_flight() > 0; ++i) {
    h.sends();
    h.next_timer();
  }
  const auto r = h.get_answer(key);
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_EQ(r.message, "no order replica answered within 1000 ms");

  key = h.get(0);
  h.reply(h.only_send(), proto::encode(proto::ErrorReply{proto::Status::kBadRequest, "no"}));
  EXPECT_EQ(h.get_answer(key).status, proto::Status::kInternal);
}

// ---- looking for the leader -----------------------------------------------------------------

TEST(OrderPlacement, FindLeaderAnswersAtOnceWhenOneIsKnown) {
  Harness h(3);
  h.tracker.note_leader(2, 7);
  const auto key = h.find_leader();
  EXPECT_TRUE(h.sends().empty());
  const auto r = h.leader_answer(key);
  ASSERT_TRUE(r.leader);
  EXPECT_EQ(r.leader->id, 2u);
  EXPECT_EQ(r.leader->term, 7u);
}

TEST(OrderPlacement, FindLeaderProbesAndCountsOnlyAReplicaThatLeads) {
  Harness h(2);
  auto key = h.find_leader();
  Send p = h.only_send();
  EXPECT_EQ(p.replica, 2u);
  h.reply(p, status(2, false, 3, 1));  // a follower naming 1: not proof
  p = h.only_send();
  EXPECT_EQ(p.replica, 1u);
  h.reply(p, status(1, false, 3, -1));  // 1 does not lead either
  EXPECT_FALSE(h.leader_answer(key).leader);

  key = h.find_leader();
  h.reply(h.only_send(), status(2, true, 3, 2));
  const auto r = h.leader_answer(key);
  ASSERT_TRUE(r.leader);
  EXPECT_EQ(r.leader->id, 2u);
}

TEST(OrderPlacement, FindLeaderGivesNothingAtItsDeadline) {
  Harness h(1);
  const auto key = h.find_leader(30ms);
  h.sends();  // the probe is swallowed
  h.advance(30ms);
  EXPECT_FALSE(h.leader_answer(key).leader);
}

}  // namespace
}  // namespace bazaar::frontend
