// OrderClient's leader finding and fail-over over a scripted transport, and the BridgePool.
#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <future>

#include "frontend/bridge_pool.h"
#include "frontend/order_client.h"
#include "frontend_fake_backend.h"

namespace bazaar::frontend {
namespace {

using namespace std::chrono_literals;

struct Call {
  std::uint32_t id;
  std::string kind;  // place, get, status
  std::string request_id;
};

// Replica `leader` leads; the others answer kNotLeader with `hint`. Replicas in `down` time
// out (at once: the clock is not the point here).
class FakeTransport : public OrderTransport {
 public:
  explicit FakeTransport(std::uint32_t n) : n_(n), down(n + 1, false) {}

  std::uint32_t replicas() const override { return n_; }

  common::CallResult<proto::PlaceOrderReply> place(std::uint32_t id,
                                                   const proto::PlaceOrderRequest& request,
                                                   std::chrono::milliseconds) override {
    calls.push_back({id, "place", request.request_id});
    common::CallResult<proto::PlaceOrderReply> r;
    if (down[id]) return r;  // kTimeout
    r.outcome = common::CallOutcome::kOk;
    if (static_cast<std::int32_t>(id) != leader) {
      r.reply.status = proto::Status::kNotLeader;
      r.reply.leader_hint = hint;
      return r;
    }
    r.reply.status = proto::Status::kOk;
    if (!leader_answers.empty()) {
      r.reply.status = leader_answers.front();
      leader_answers.pop_front();
    }
    r.reply.order_number = r.reply.status == proto::Status::kOk ? next_number++ : -1;
    return r;
  }

  common::CallResult<proto::GetOrderReply> get(std::uint32_t id, const proto::GetOrderRequest& req,
                                               std::chrono::milliseconds) override {
    calls.push_back({id, "get", {}});
    common::CallResult<proto::GetOrderReply> r;
    if (down[id]) return r;
    r.outcome = common::CallOutcome::kOk;
    const bool has = static_cast<std::int32_t>(id) == leader ? req.number < next_number
                                                             : req.number < follower_has;
    r.reply.status = has ? proto::Status::kOk : proto::Status::kNotFound;
    r.reply.order.number = req.number;
    return r;
  }

  common::CallResult<proto::StatusReply> status(std::uint32_t id,
                                                std::chrono::milliseconds) override {
    calls.push_back({id, "status", {}});
    common::CallResult<proto::StatusReply> r;
    if (down[id]) return r;
    r.outcome = common::CallOutcome::kOk;
    r.reply.service = "order";
    r.reply.id = id;
    r.reply.role = static_cast<std::int32_t>(id) == leader ? "leader" : "follower";
    r.reply.term = term;
    r.reply.leader_id = static_cast<std::int32_t>(id) == leader ? leader : hint;
    return r;
  }

  std::vector<std::uint32_t> ids(const std::string& kind) const {
    std::vector<std::uint32_t> out;
    for (const auto& c : calls) {
      if (c.kind == kind) out.push_back(c.id);
    }
    return out;
  }

  const std::uint32_t n_;
  std::vector<bool> down;  // index = replica id
  std::int32_t leader = -1;
  std::int32_t hint = -1;
  std::uint64_t term = 1;
  std::deque<proto::Status> leader_answers;  // the leader's next statuses (then kOk)
  std::int64_t next_number = 0;
  std::int64_t follower_has = 0;  // followers know orders below this
  std::vector<Call> calls;
};

CallTimeouts fast() {
  CallTimeouts t;
  t.request = 300ms;
  t.attempt = 50ms;
  t.probe = 20ms;
  t.backoff = 5ms;
  return t;
}

proto::PlaceOrderRequest order(const std::string& id) {
  return proto::PlaceOrderRequest{id, "Tux", proto::Side::kBuy, 1};
}

TEST(OrderClient, KnownLeaderTakesTheOrder) {
  FakeTransport tr(3);
  tr.leader = 2;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(2, 1);
  OrderClient client(tr, tracker, fast());
  const auto r = client.place(order("r1"));
  EXPECT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(r.order_number, 0);
  EXPECT_EQ(tr.ids("place"), (std::vector<std::uint32_t>{2}));
  EXPECT_TRUE(tr.ids("status").empty());
}

TEST(OrderClient, UnknownLeaderIsProbedHighestIdFirst) {
  FakeTransport tr(3);
  tr.leader = 1;
  tr.hint = 1;
  tr.term = 4;
  LeaderTracker tracker(3, 1000ms);
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.place(order("r1")).status, proto::Status::kOk);
  EXPECT_EQ(tr.ids("status"), (std::vector<std::uint32_t>{3, 2, 1}));
  EXPECT_EQ(tr.ids("place"), (std::vector<std::uint32_t>{1}));
  ASSERT_TRUE(tracker.leader());
  EXPECT_EQ(tracker.leader()->id, 1u);
  EXPECT_EQ(tracker.leader()->term, 4u);
}

TEST(OrderClient, NotLeaderHintIsFollowedWithTheSameRequestId) {
  FakeTransport tr(3);
  tr.leader = 3;
  tr.hint = 3;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(1, 1);  // stale belief
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.place(order("same")).status, proto::Status::kOk);
  EXPECT_EQ(tr.ids("place"), (std::vector<std::uint32_t>{1, 3}));
  for (const auto& c : tr.calls) EXPECT_EQ(c.request_id, "same");
  EXPECT_EQ(tracker.leader()->id, 3u);
}

TEST(OrderClient, StaleHintsDoNotSpin) {
  FakeTransport tr(2);
  tr.leader = -1;
  tr.hint = 1;  // 2 points at 1 and 1 at itself...
  LeaderTracker tracker(2, 1000ms);
  tracker.note_leader(2, 1);
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.place(order("x")).status, proto::Status::kUnavailable);
  // With a 5 ms pause per round over 300 ms, a few hundred calls at most, not a busy loop.
  EXPECT_LT(tr.calls.size(), 400u);
}

TEST(OrderClient, DeadLeaderFailsOverToTheNewOne) {
  FakeTransport tr(3);
  tr.down[3] = true;  // the old leader was killed; replica 2 won the election
  tr.leader = 2;
  tr.hint = 2;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(3, 1);
  OrderClient client(tr, tracker, fast());
  const auto r = client.place(order("fo"));
  EXPECT_EQ(r.status, proto::Status::kOk);
  // Timed out at 3, probed the others (3 is suspect, so last... and not needed), placed at 2.
  EXPECT_EQ(tr.ids("place"), (std::vector<std::uint32_t>{3, 2}));
  EXPECT_EQ(tr.ids("status"), (std::vector<std::uint32_t>{2}));
  for (const auto& c : tr.calls) {
    if (c.kind == "place") {
      EXPECT_EQ(c.request_id, "fo");
    }
  }
  // The next order goes straight to the new leader.
  tr.calls.clear();
  EXPECT_EQ(client.place(order("next")).status, proto::Status::kOk);
  EXPECT_EQ(tr.ids("place"), (std::vector<std::uint32_t>{2}));
}

// The same fail-over, as /metrics sees it: one retry (the attempt after the timeout) and one
// fail-over (the followed leader changed from 3 to 2).
TEST(OrderClient, FailOverIsCountedInTheMetrics) {
  FakeTransport tr(3);
  tr.down[3] = true;
  tr.leader = 2;
  tr.hint = 2;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(3, 1);
  Metrics metrics;
  OrderClient client(tr, tracker, fast(), &metrics);
  EXPECT_EQ(client.place(order("fo")).status, proto::Status::kOk);
  EXPECT_EQ(metrics.retries(), 1u);
  EXPECT_EQ(tracker.failovers(), 1u);
  EXPECT_EQ(client.place(order("next")).status, proto::Status::kOk);
  EXPECT_EQ(metrics.retries(), 1u);
  EXPECT_EQ(tracker.failovers(), 1u);
  // A re-announcement of the same leader, or one after it was forgotten, is no fail-over.
  tracker.note_timeout(2, LeaderTracker::Clock::now());
  tracker.note_leader(2, 1);
  EXPECT_EQ(tracker.failovers(), 1u);
}

TEST(OrderClient, NoLeaderGivesUnavailableAtTheDeadline) {
  FakeTransport tr(3);
  tr.leader = -1;  // election never ends
  LeaderTracker tracker(3, 1000ms);
  OrderClient client(tr, tracker, fast());
  const auto start = std::chrono::steady_clock::now();
  const auto r = client.place(order("x"));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 1000ms);
  EXPECT_TRUE(tr.ids("place").empty());
}

TEST(OrderClient, AllReplicasDownGivesUnavailable) {
  FakeTransport tr(2);
  tr.down[1] = tr.down[2] = true;
  LeaderTracker tracker(2, 1000ms);
  tracker.note_leader(2, 1);
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.place(order("x")).status, proto::Status::kUnavailable);
}

TEST(OrderClient, UnavailableIsRetriedAndFinalAnswersAreNot) {
  FakeTransport tr(1);
  tr.leader = 1;
  tr.leader_answers = {proto::Status::kUnavailable, proto::Status::kUnavailable};
  LeaderTracker tracker(1, 1000ms);
  tracker.note_leader(1, 1);
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.place(order("u")).status, proto::Status::kOk);
  EXPECT_EQ(tr.ids("place").size(), 3u);

  tr.calls.clear();
  tr.leader_answers = {proto::Status::kInsufficient};
  EXPECT_EQ(client.place(order("i")).status, proto::Status::kInsufficient);
  tr.leader_answers = {proto::Status::kUnknownItem};
  EXPECT_EQ(client.place(order("k")).status, proto::Status::kUnknownItem);
  EXPECT_EQ(tr.ids("place").size(), 2u);
}

TEST(OrderClient, GetReadsFromTheLeader) {
  FakeTransport tr(3);
  tr.leader = 2;
  tr.next_number = 5;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(2, 1);
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.get(4).status, proto::Status::kOk);
  EXPECT_EQ(client.get(5).status, proto::Status::kNotFound);
  EXPECT_EQ(tr.ids("get"), (std::vector<std::uint32_t>{2, 2}));
}

TEST(OrderClient, GetFallsBackToFollowers) {
  FakeTransport tr(3);
  tr.leader = 3;
  tr.down[3] = true;
  tr.follower_has = 2;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(3, 1);
  OrderClient client(tr, tracker, fast());
  EXPECT_EQ(client.get(1).status, proto::Status::kOk);
  EXPECT_EQ(client.get(9).status, proto::Status::kNotFound);
}

// ---- BridgePool ----------------------------------------------------------------------------

TEST(BridgePool, RunsJobsOnWorkerBackendsAndRefusesWhenFull) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> made{0};
  BridgePool pool(1, 2, [&] {
    ++made;
    return std::make_unique<testing::FakeBackend>();
  });
  EXPECT_EQ(made.load(), 1);
  std::promise<void> started;
  // Occupy the only worker, then fill the queue.
  ASSERT_TRUE(pool.try_submit([&](Backend* b) {
    ASSERT_NE(b, nullptr);
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  std::atomic<int> ran{0};
  std::atomic<int> dropped{0};
  auto job = [&](Backend* b) { b ? ++ran : ++dropped; };
  EXPECT_TRUE(pool.try_submit(job));
  EXPECT_TRUE(pool.try_submit(job));
  EXPECT_FALSE(pool.try_submit(job));  // bounded
  EXPECT_EQ(pool.queued(), 2u);
  release.set_value();
  for (int i = 0; i < 200 && ran.load() < 2; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(ran.load(), 2);
  pool.stop();
  EXPECT_FALSE(pool.try_submit(job));
  EXPECT_EQ(dropped.load(), 0);
}

TEST(BridgePool, StopAnswersQueuedJobsWithNull) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  BridgePool pool(1, 8, [] { return std::make_unique<testing::FakeBackend>(); });
  std::promise<void> started;
  ASSERT_TRUE(pool.try_submit([&](Backend*) {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  std::atomic<int> dropped{0};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(pool.try_submit([&](Backend* b) {
      if (!b) ++dropped;
    }));
  }
  std::thread stopper([&] { pool.stop(); });
  std::this_thread::sleep_for(20ms);
  release.set_value();
  stopper.join();
  EXPECT_EQ(dropped.load(), 3);
}

}  // namespace
}  // namespace bazaar::frontend
