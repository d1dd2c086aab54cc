// OrderLink against in-process fake order replicas (ROUTER sockets on loopback ports answering
// StatusRequest, PlaceOrderRequest and GetOrderRequest as a replica would): many orders in
// flight, hints, fail-over from a silent leader, back-off, deadlines, bounds and shutdown, and
// the order reads and leader probes that take the same way. The decisions themselves are
// OrderPlacement's, tested branch by branch in frontend_order_placement_test.cpp.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <zmq_addon.hpp>

#include "common/fd_limit.h"
#include "common/zmq_util.h"
#include "fake_router.h"
#include "frontend/order_link.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Which replica was probed, in order, across every fake of a test.
struct ProbeLog {
  void add(std::uint32_t id) {
    std::lock_guard<std::mutex> lock(mu);
    ids.push_back(id);
  }
  std::vector<std::uint32_t> get() {
    std::lock_guard<std::mutex> lock(mu);
    return ids;
  }
  std::mutex mu;
  std::vector<std::uint32_t> ids;
};

// One order replica as a front end sees it: when it leads it takes every order (or answers the
// scripted statuses first), else it answers kNotLeader with `hint`. Echoes the envelope like
// order/order_server.cpp: every frame before the body goes back.
class FakeReplica {
 public:
  FakeReplica(zmq::context_t& ctx, std::uint32_t id, ProbeLog* probes = nullptr)
      : id_(id),
        probes_(probes),
        router_(ctx, [this](std::vector<zmq::message_t>& parts) { answer(parts); }) {}
  const std::string& endpoint() const { return router_.endpoint(); }
  /// Most requests waiting at once (in flight together).
  int max_batch() const { return router_.max_batch.load(); }

  void script(std::deque<proto::Status> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(answers);
  }
  std::vector<std::string> placed() {
    std::lock_guard<std::mutex> lock(mu_);
    return placed_;
  }

  std::atomic<bool> leads{false};
  std::atomic<int> hint{-1};
  std::atomic<std::uint64_t> term{1};
  std::atomic<bool> silent{false};     // swallow everything
  std::atomic<bool> forwards{false};   // a follower that takes orders for its leader
  std::atomic<bool> duplicate{false};  // answer every order twice
  std::atomic<bool> reject{false};     // answer ErrorReply, as to an undecodable request
  std::atomic<int> statuses{0};        // StatusRequests received
  std::atomic<int> received{0};        // PlaceOrderRequests received
  std::atomic<int> reads{0};           // GetOrderRequests received

 private:
  void answer(std::vector<zmq::message_t>& parts) {
    ASSERT_EQ(parts.size(), 4u);  // [routing id, attempt id, "", request]
    EXPECT_EQ(parts[1].size(), 8u);
    EXPECT_EQ(parts[2].size(), 0u);
    auto env = proto::open_envelope(parts[3].to_string_view());
    ASSERT_TRUE(env);
    std::string body;
    int copies = 1;
    if (env->type == proto::MessageType::kStatusRequest) {
      ++statuses;
      if (probes_ != nullptr) probes_->add(id_);
      if (silent) return;
      proto::StatusReply st;
      st.service = "order";
      st.id = id_;
      st.role = leads ? "leader" : "follower";
      st.term = term;
      st.leader_id = leads ? static_cast<std::int32_t>(id_) : hint.load();
      body = proto::encode(st);
    } else if (env->type == proto::MessageType::kGetOrderRequest) {
      auto req = proto::decode_body<proto::GetOrderRequest>(*env);
      ASSERT_TRUE(req);
      ++reads;
      if (silent) return;
      proto::GetOrderReply rep;
      rep.status = req->number < next_number_ ? proto::Status::kOk : proto::Status::kNotFound;
      if (!leads && !forwards) rep.status = proto::Status::kNotFound;  // behind, say
      rep.order = proto::Order{req->number, "Tux", proto::Side::kBuy, 1, "r"};
      body = proto::encode(rep);
    } else {
      ASSERT_EQ(env->type, proto::MessageType::kPlaceOrderRequest);
      auto req = proto::decode_body<proto::PlaceOrderRequest>(*env);
      ASSERT_TRUE(req);
      ++received;
      {
        std::lock_guard<std::mutex> lock(mu_);
        placed_.push_back(req->request_id);
      }
      if (silent) return;
      proto::PlaceOrderReply rep;
      if (reject) {
        body = proto::encode(proto::ErrorReply{proto::Status::kBadRequest, "cannot decode"});
      } else if (!leads && !forwards) {
        rep.status = proto::Status::kNotLeader;
        rep.leader_hint = hint;
        body = proto::encode(rep);
      } else {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (!script_.empty()) {
            rep.status = script_.front();
            script_.pop_front();
          }
        }
        if (rep.status == proto::Status::kOk) rep.order_number = next_number_++;
        body = proto::encode(rep);
        if (duplicate) copies = 2;
      }
    }
    for (; copies > 0; --copies) router_.reply(parts, 3, body);
  }

  const std::uint32_t id_;
  ProbeLog* const probes_;
  std::mutex mu_;
  std::deque<proto::Status> script_;  // guarded by mu_
  std::vector<std::string> placed_;   // guarded by mu_: request ids, in arrival order
  std::int64_t next_number_ = 0;      // the fake's thread only
  fakes::FakeRouter router_;          // last: its thread calls answer()
};

// R fake replicas with ids 1..R, sharing one probe log.
struct Cluster {
  Cluster(zmq::context_t& ctx, std::uint32_t n) {
    for (std::uint32_t id = 1; id <= n; ++id) {
      replicas.push_back(std::make_unique<FakeReplica>(ctx, id, &probes));
    }
  }
  FakeReplica& operator[](std::uint32_t id) { return *replicas.at(id - 1); }
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const auto& r : replicas) out.push_back(r->endpoint());
    return out;
  }
  ProbeLog probes;
  std::vector<std::unique_ptr<FakeReplica>> replicas;
};

// Collects callbacks from the link thread.
struct Results {
  void add(PlaceOrderResult r) {
    std::lock_guard<std::mutex> lock(mu);
    results.push_back(std::move(r));
    cv.notify_all();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return results.size() >= n; });
  }
  OrderLink::PlaceDone done() {
    return [this](PlaceOrderResult r) { add(std::move(r)); };
  }
  std::vector<PlaceOrderResult> get() {
    std::lock_guard<std::mutex> lock(mu);
    return results;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<PlaceOrderResult> results;
};

OrderLinkOptions options(const Cluster& cluster) {
  OrderLinkOptions o;
  o.endpoints = cluster.endpoints();
  o.timeouts.request = 1000ms;
  o.timeouts.attempt = 100ms;
  o.timeouts.probe = 50ms;
  o.timeouts.backoff = 20ms;
  return o;
}

proto::PlaceOrderRequest order(const std::string& id) {
  return proto::PlaceOrderRequest{id, "Tux", proto::Side::kBuy, 1};
}

// Order number i of a batch, request id `prefix` + i.
proto::PlaceOrderRequest order(std::string prefix, int i) {
  prefix.append(std::to_string(i));
  return order(prefix);
}

TEST(OrderLink, KeepsManyOrdersInFlightAtTheLeader) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[2].leads = true;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(2, 1);
  Metrics metrics;
  Results got;
  OrderLink link(ctx, options(cluster), tracker, &metrics);
  // Queued before the link starts, so they leave together.
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(link.try_place(order("r", i), got.done()));
  link.start();
  ASSERT_TRUE(got.wait_for(300));
  std::set<std::int64_t> numbers;
  for (const auto& r : got.get()) {
    EXPECT_EQ(r.status, proto::Status::kOk);
    numbers.insert(r.order_number);
  }
  EXPECT_EQ(numbers.size(), 300u);       // each order answered with its own reply
  EXPECT_GT(cluster[2].max_batch(), 1);  // not one at a time
  EXPECT_EQ(cluster[2].received.load(), 300);
  EXPECT_EQ(cluster[1].received.load() + cluster[3].received.load(), 0);
  EXPECT_TRUE(cluster.probes.get().empty());
  EXPECT_EQ(metrics.retries(), 0u);
}

TEST(OrderLink, MaxInFlightBoundsOutstandingOrders) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 1);
  cluster[1].leads = true;
  LeaderTracker tracker(1, 1000ms);
  tracker.note_leader(1, 1);
  OrderLinkOptions o = options(cluster);
  o.max_in_flight = 3;
  Results got;
  OrderLink link(ctx, o, tracker);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(link.try_place(order("r", i), got.done()));
  link.start();
  ASSERT_TRUE(got.wait_for(60));
  for (const auto& r : got.get()) EXPECT_EQ(r.status, proto::Status::kOk);
  EXPECT_LE(cluster[1].max_batch(), 3);
}

TEST(OrderLink, UnknownLeaderIsFoundByOneRoundOfProbesForEveryWaitingOrder) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[1].leads = true;
  cluster[1].term = 4;
  cluster[2].hint = 1;
  cluster[3].hint = 1;
  LeaderTracker tracker(3, 1000ms);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(link.try_place(order("r", i), got.done()));
  link.start();
  ASSERT_TRUE(got.wait_for(50));
  for (const auto& r : got.get()) EXPECT_EQ(r.status, proto::Status::kOk);
  // Highest id first; one round shared by all 50 orders.
  EXPECT_EQ(cluster.probes.get(), (std::vector<std::uint32_t>{3, 2, 1}));
  EXPECT_EQ(cluster[1].received.load(), 50);
  ASSERT_TRUE(tracker.leader());
  EXPECT_EQ(tracker.leader()->id, 1u);
  EXPECT_EQ(tracker.leader()->term, 4u);
}

TEST(OrderLink, NotLeaderHintIsFollowedWithTheSameRequestId) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[3].leads = true;
  cluster[1].hint = 3;
  cluster[2].hint = 3;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(1, 1);  // stale belief
  Metrics metrics;
  Results got;
  OrderLink link(ctx, options(cluster), tracker, &metrics);
  link.start();
  ASSERT_TRUE(link.try_place(order("same"), got.done()));
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.get()[0].status, proto::Status::kOk);
  EXPECT_EQ(cluster[1].placed(), (std::vector<std::string>{"same"}));
  EXPECT_EQ(cluster[3].placed(), (std::vector<std::string>{"same"}));
  EXPECT_TRUE(cluster.probes.get().empty());  // the hint was enough
  EXPECT_EQ(tracker.leader()->id, 3u);
  EXPECT_EQ(metrics.retries(), 1u);
}

// Issue 19: replica 4 was added to the cluster after this front end started with three
// endpoints, and leads. Once its announcement's endpoint reaches the tracker, the link connects
// to it and orders go to it directly.
TEST(OrderLink, ALeaderAddedAfterStartIsConnectedToOnceAnnounced) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 4);
  cluster[4].leads = true;
  cluster[4].term = 2;
  for (std::uint32_t id = 1; id <= 3; ++id) cluster[id].hint = 4;
  OrderLinkOptions o = options(cluster);
  o.endpoints.resize(3);  // the three it was started with
  LeaderTracker tracker(3, 1000ms);
  Results got;
  OrderLink link(ctx, o, tracker);
  link.start();
  EXPECT_FALSE(tracker.note_leader(4, 2));  // no socket for it yet
  tracker.note_endpoint(4, cluster[4].endpoint());
  const auto start = Clock::now();
  while (!tracker.known(4) && Clock::now() - start < 2s) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(tracker.known(4)) << "the link did not connect to the announced replica";
  EXPECT_TRUE(tracker.note_leader(4, 2));  // the next announcement is taken
  ASSERT_TRUE(link.try_place(order("added"), got.done()));
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.get()[0].status, proto::Status::kOk);
  EXPECT_EQ(cluster[4].placed(), (std::vector<std::string>{"added"}));
  EXPECT_EQ(cluster[1].received.load() + cluster[2].received.load() + cluster[3].received.load(),
            0);
}

TEST(OrderLink, SilentLeaderIsSuspectedAndTheOrderIsPlacedAtTheNewLeader) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[3].silent = true;  // the old leader hangs; replica 2 won the election
  cluster[2].leads = true;
  cluster[1].hint = 2;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(3, 1);
  Metrics metrics;
  Results got;
  OrderLink link(ctx, options(cluster), tracker, &metrics);
  link.start();
  const auto start = Clock::now();
  ASSERT_TRUE(link.try_place(order("fo"), got.done()));
  ASSERT_TRUE(got.wait_for(1));
  const auto took = Clock::now() - start;
  EXPECT_EQ(got.get()[0].status, proto::Status::kOk);
  EXPECT_GE(took, 95ms);  // one attempt timeout at the silent leader
  EXPECT_LT(took, 900ms);
  EXPECT_EQ(cluster[3].placed(), (std::vector<std::string>{"fo"}));
  EXPECT_EQ(cluster[2].placed(), (std::vector<std::string>{"fo"}));  // same request id
  EXPECT_TRUE(tracker.suspect(3, Clock::now()));
  // The retry goes to the highest id that is not suspect (it may be a follower that forwards);
  // the probes that start beside it ask 2 first, and 2 says it leads: 1 and 3 are never asked.
  for (std::uint32_t id : cluster.probes.get()) EXPECT_EQ(id, 2u);
  EXPECT_EQ(tracker.leader()->id, 2u);
  EXPECT_EQ(tracker.failovers(), 1u);
  EXPECT_EQ(metrics.retries(), 1u);

  // The next order goes straight to the new leader.
  ASSERT_TRUE(link.try_place(order("next"), got.done()));
  ASSERT_TRUE(got.wait_for(2));
  EXPECT_EQ(got.get()[1].status, proto::Status::kOk);
  EXPECT_EQ(cluster[2].placed().size(), 2u);
  EXPECT_EQ(cluster[3].placed().size(), 1u);
  EXPECT_EQ(metrics.retries(), 1u);
}

// Issue 13, item 5: this front end is cut off from the leader, which still leads (its followers
// hear it and forward orders to it). The order goes through a follower instead of waiting for a
// leader that the probes cannot find.
TEST(OrderLink, LeaderCutOffFromThisFrontEndIsReachedThroughAFollower) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[3].silent = true;
  cluster[2].forwards = true;
  cluster[2].hint = 3;
  cluster[1].hint = 3;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(3, 1);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  ASSERT_TRUE(link.try_place(order("cut"), got.done()));
  ASSERT_TRUE(got.wait_for(1, 5s));
  EXPECT_EQ(got.get()[0].status, proto::Status::kOk);
  EXPECT_EQ(cluster[3].placed(), (std::vector<std::string>{"cut"}));
  EXPECT_EQ(cluster[2].placed(), (std::vector<std::string>{"cut"}));  // same request id
}

TEST(OrderLink, UnavailableIsRetriedAfterABackoffAndFinalAnswersAreNot) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 1);
  cluster[1].leads = true;
  cluster[1].script({proto::Status::kUnavailable, proto::Status::kUnavailable});
  LeaderTracker tracker(1, 1000ms);
  tracker.note_leader(1, 1);
  Metrics metrics;
  Results got;
  OrderLink link(ctx, options(cluster), tracker, &metrics);
  link.start();
  const auto start = Clock::now();
  ASSERT_TRUE(link.try_place(order("u"), got.done()));
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_GE(Clock::now() - start, 40ms);  // two pauses of 20 ms
  EXPECT_EQ(got.get()[0].status, proto::Status::kOk);
  EXPECT_EQ(cluster[1].placed(), (std::vector<std::string>{"u", "u", "u"}));
  EXPECT_EQ(metrics.retries(), 2u);

  cluster[1].script({proto::Status::kInsufficient});
  ASSERT_TRUE(link.try_place(order("i"), got.done()));
  ASSERT_TRUE(got.wait_for(2));
  EXPECT_EQ(got.get()[1].status, proto::Status::kInsufficient);
  EXPECT_EQ(cluster[1].received.load(), 4);
  EXPECT_EQ(metrics.retries(), 2u);
}

TEST(OrderLink, RejectedRequestIsInternalAndNotRetried) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 1);
  cluster[1].leads = true;
  cluster[1].reject = true;
  LeaderTracker tracker(1, 1000ms);
  tracker.note_leader(1, 1);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  ASSERT_TRUE(link.try_place(order("bad"), got.done()));
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.get()[0].status, proto::Status::kInternal);
  EXPECT_EQ(cluster[1].received.load(), 1);
}

TEST(OrderLink, NoLeaderGivesUnavailableAtTheDeadline) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);  // an election that never ends: every replica a follower
  LeaderTracker tracker(3, 1000ms);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  const auto start = Clock::now();
  ASSERT_TRUE(link.try_place(order("x"), got.done()));
  ASSERT_TRUE(got.wait_for(1, 5s));
  const auto took = Clock::now() - start;
  const auto r = got.get()[0];
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_NE(r.message.find("within 1000 ms"), std::string::npos) << r.message;
  EXPECT_GE(took, 990ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(cluster[1].received.load() + cluster[2].received.load() + cluster[3].received.load(),
            0);
  // Rounds of probes separated by back-off pauses, not a busy loop: 1000 ms / 20 ms at most.
  EXPECT_GT(cluster.probes.get().size(), 3u);
  EXPECT_LT(cluster.probes.get().size(), 3u * 100u);
}

TEST(OrderLink, EveryReplicaSilentGivesUnavailableAtTheDeadline) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 2);
  cluster[1].silent = true;
  cluster[2].silent = true;
  LeaderTracker tracker(2, 1000ms);
  tracker.note_leader(2, 1);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  const auto start = Clock::now();
  ASSERT_TRUE(link.try_place(order("x"), got.done()));
  ASSERT_TRUE(got.wait_for(1, 5s));
  EXPECT_EQ(got.get()[0].status, proto::Status::kUnavailable);
  EXPECT_GE(Clock::now() - start, 990ms);
  EXPECT_LT(Clock::now() - start, 1500ms);
}

TEST(OrderLink, DuplicateRepliesAnswerOnce) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 1);
  cluster[1].leads = true;
  cluster[1].duplicate = true;
  LeaderTracker tracker(1, 1000ms);
  tracker.note_leader(1, 1);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(link.try_place(order("d", i), got.done()));
  ASSERT_TRUE(got.wait_for(20));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(got.get().size(), 20u);
}

TEST(OrderLink, FullQueueIsRefused) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 1);
  LeaderTracker tracker(1, 1000ms);
  OrderLinkOptions o = options(cluster);
  o.queue_limit = 3;
  Results got;
  OrderLink link(ctx, o, tracker);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(link.try_place(order("q"), got.done()));
  EXPECT_FALSE(link.try_place(order("q"), got.done()));
  EXPECT_EQ(link.queued(), 3u);
  link.stop();  // never started: the queued ones are answered all the same
  ASSERT_TRUE(got.wait_for(3, 1s));
  for (const auto& r : got.get()) EXPECT_EQ(r.status, proto::Status::kUnavailable);
}

TEST(OrderLink, StopAnswersOrdersInFlightAndRefusesNewOnes) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 1);
  cluster[1].leads = true;
  cluster[1].silent = true;
  LeaderTracker tracker(1, 1000ms);
  tracker.note_leader(1, 1);
  OrderLinkOptions o = options(cluster);
  o.timeouts.request = 10000ms;
  o.timeouts.attempt = 5000ms;
  Results got;
  OrderLink link(ctx, o, tracker);
  link.start();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(link.try_place(order("s", i), got.done()));
  for (int i = 0; i < 200 && cluster[1].received.load() < 5; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(cluster[1].received.load(), 5);
  const auto start = Clock::now();
  link.stop();  // long before any deadline: everyone gets an answer now
  EXPECT_LT(Clock::now() - start, 1s);
  ASSERT_TRUE(got.wait_for(5, 100ms));
  for (const auto& r : got.get()) {
    EXPECT_EQ(r.status, proto::Status::kUnavailable);
    EXPECT_EQ(r.message, "front end shutting down");
  }
  EXPECT_FALSE(link.try_place(order("late"), got.done()));
  link.stop();  // idempotent
  EXPECT_EQ(got.get().size(), 5u);
}

// Read-your-writes: an order the link placed is read back from the leader that took it.
TEST(OrderLink, OrderReadGoesToTheLeaderAndFindsWhatWasPlaced) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[2].leads = true;
  LeaderTracker tracker(3, 1000ms);
  tracker.note_leader(2, 1);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  ASSERT_TRUE(link.try_place(order("w"), got.done()));
  ASSERT_TRUE(got.wait_for(1));
  const std::int64_t number = got.get()[0].order_number;
  std::promise<GetOrderResult> read;
  std::promise<GetOrderResult> beyond;
  ASSERT_TRUE(link.try_get(number, [&](GetOrderResult r) { read.set_value(std::move(r)); }));
  ASSERT_TRUE(link.try_get(number + 1, [&](GetOrderResult r) { beyond.set_value(std::move(r)); }));
  auto r = read.get_future();
  auto b = beyond.get_future();
  ASSERT_EQ(r.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(b.wait_for(5s), std::future_status::ready);
  const GetOrderResult found = r.get();
  EXPECT_EQ(found.status, proto::Status::kOk);
  EXPECT_EQ(found.order.number, number);
  EXPECT_EQ(b.get().status, proto::Status::kNotFound);  // the leader's "not found" is final
  EXPECT_EQ(cluster[2].reads.load(), 2);
  EXPECT_EQ(cluster[1].reads.load() + cluster[3].reads.load(), 0);
}

TEST(OrderLink, FindLeaderProbesWhenNoneIsKnown) {
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 3);
  cluster[1].leads = true;
  cluster[1].term = 6;
  LeaderTracker tracker(3, 1000ms);
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  std::promise<FindLeaderResult> found;
  ASSERT_TRUE(
      link.try_find_leader(500ms, [&](FindLeaderResult r) { found.set_value(std::move(r)); }));
  auto f = found.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  const FindLeaderResult r = f.get();
  ASSERT_TRUE(r.leader);
  EXPECT_EQ(r.leader->id, 1u);
  EXPECT_EQ(r.leader->term, 6u);
  EXPECT_EQ(cluster.probes.get(), (std::vector<std::uint32_t>{3, 2, 1}));

  // Known now: answered without a probe.
  std::promise<FindLeaderResult> again;
  ASSERT_TRUE(
      link.try_find_leader(500ms, [&](FindLeaderResult r2) { again.set_value(std::move(r2)); }));
  auto a = again.get_future();
  ASSERT_EQ(a.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(a.get().leader);
  EXPECT_EQ(cluster.probes.get().size(), 3u);
}

// The order link's socket rebuild with every descriptor taken (see the CatalogLink test of the
// same name): the order gets 503-worthy kUnavailable at its deadline, the process lives.
int order_with_no_descriptors_left() {
  const rlimit low{common::open_fds() + 64, common::open_fds() + 64};
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) return 10;
  zmq::context_t ctx(1);
  Cluster cluster(ctx, 2);
  cluster[1].silent = true;
  cluster[2].silent = true;
  LeaderTracker tracker(2, 1000ms);
  tracker.note_leader(2, 1);
  Results got;
  OrderLink link(ctx, options(cluster), tracker);
  link.start();
  std::vector<int> hogs;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) hogs.push_back(fd);
  if (!link.try_place(order("x"), got.done())) return 11;
  if (!got.wait_for(1, 5s)) return 12;
  for (int fd : hogs) ::close(fd);
  return got.get()[0].status == proto::Status::kUnavailable ? 0 : 13;
}

TEST(OrderLinkDeathTest, OutOfDescriptorsKeepsTheOldSocketAndAnswers) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_EXIT(std::exit(order_with_no_descriptors_left()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace bazaar::frontend
