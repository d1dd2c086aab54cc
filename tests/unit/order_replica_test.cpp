// The replica's request logic around the core, without sockets: its store is an in-memory SQLite
// database.
#include <gtest/gtest.h>

#include <algorithm>

#include "order/replica.h"
#include "proto_msgs/codec.h"

namespace bazaar::order {
namespace {

class ReplicaTest : public ::testing::Test {
 protected:
  // A single-replica cluster: it elects itself once its election timeout passes.
  void SetUp() override {
    ReplicaOptions o;
    o.raft.id = 1;
    o.raft.members = {1};
    o.trade_timeout_ms = 1000;
    o.max_pending = 4;
    store_ = std::make_unique<SqliteLogStore>(":memory:");
    replica_ = std::make_unique<Replica>(o, *store_, now_);
    advance(1000);
    ASSERT_EQ(replica_->core().role(), raft::RaftRole::kLeader);
    // A new leader serves only once the catalog has nothing unconfirmed for it.
    auto out = replica_->take_outputs();
    ASSERT_TRUE(out.reconcile);
    answer_reconcile(*out.reconcile, {});
    ASSERT_EQ(replica_->phase(), LeaderPhase::kServing);
  }
  ReplicaOutputs answer_reconcile(const proto::ReconcileRequest& req,
                                  std::vector<proto::TradeRequest> unconfirmed, bool more = false) {
    proto::ReconcileReply r;
    r.unconfirmed = std::move(unconfirmed);
    r.more = more;
    replica_->on_reconcile(req.term, req.after, r, now_);
    replica_->flush();
    return take();
  }
  // take_outputs(), remembering which batch carried each trade (for trade_answer).
  ReplicaOutputs take() {
    ReplicaOutputs out = replica_->take_outputs();
    for (const auto& b : out.trade_batches) {
      for (const auto& t : b.request.trades)
        batch_of_[t.request_id] = {b.id, b.request.trades.size()};
    }
    return out;
  }
  static std::vector<proto::TradeRequest> trades_in(const ReplicaOutputs& out) {
    std::vector<proto::TradeRequest> all;
    for (const auto& b : out.trade_batches) {
      all.insert(all.end(), b.request.trades.begin(), b.request.trades.end());
    }
    return all;
  }
  static std::vector<std::string> confirmed_in(const ReplicaOutputs& out) {
    std::vector<std::string> all;
    for (const auto& b : out.trade_batches) {
      all.insert(all.end(), b.request.confirmed.begin(), b.request.confirmed.end());
    }
    return all;
  }
  void advance(std::uint64_t ms) {
    now_ += ms;
    replica_->tick(now_);
    replica_->flush();
  }
  ReplicaOutputs send(std::uint64_t token, const std::string& bytes) {
    replica_->on_client(token, bytes, now_);
    replica_->flush();
    return take();
  }
  ReplicaOutputs place(std::uint64_t token, const std::string& id, std::int64_t q,
                       const std::string& name = "Tux") {
    return send(token, proto::encode(proto::PlaceOrderRequest{id, name, proto::Side::kBuy, q}));
  }
  // Answers the batch that carried trade `id`: `status` for each of its trades.
  ReplicaOutputs trade_answer(const std::string& id, proto::Status status) {
    auto it = batch_of_.find(id);
    EXPECT_NE(it, batch_of_.end()) << "trade " << id << " was never sent";
    if (it == batch_of_.end()) return {};
    proto::TradeBatchReply r;
    r.replies.resize(it->second.second);
    for (auto& t : r.replies) t.status = status;
    replica_->on_trade_batch(it->second.first, r, now_);
    replica_->flush();
    return take();
  }
  static proto::PlaceOrderReply order_reply(const ReplicaOutputs& out, std::uint64_t token) {
    for (const auto& [t, bytes] : out.replies) {
      if (t == token) return *proto::decode<proto::PlaceOrderReply>(bytes);
    }
    ADD_FAILURE() << "no reply for token " << token;
    return {};
  }

  std::uint64_t now_ = 1;
  std::map<std::string, std::pair<std::uint64_t, std::size_t>> batch_of_;  // id -> batch, size
  std::unique_ptr<SqliteLogStore> store_;
  std::unique_ptr<Replica> replica_;
};

TEST_F(ReplicaTest, OrderIsTradedThenCommittedThenAnswered) {
  auto out = place(1, "a", 2);
  EXPECT_TRUE(out.replies.empty());  // waits for the catalog
  ASSERT_EQ(trades_in(out).size(), 1u);
  EXPECT_EQ(trades_in(out)[0].request_id, "a");
  out = trade_answer("a", proto::Status::kOk);
  auto r = order_reply(out, 1);
  EXPECT_EQ(r.status, proto::Status::kOk);
  EXPECT_EQ(r.order_number, 0);
  EXPECT_EQ(r.leader_hint, 1);  // the leader that placed it
  // The entry, its commit and its number were stored before the reply was produced.
  EXPECT_EQ(store_->commit_index(), replica_->core().commit_index());
  EXPECT_EQ(store_->committed_orders(), 1);
  ASSERT_TRUE(store_->committed_order(0));
  EXPECT_EQ(store_->committed_order(0)->request_id, "a");
  EXPECT_EQ(replica_->committed_orders(), 1);

  place(2, "b", 1);
  EXPECT_EQ(order_reply(trade_answer("b", proto::Status::kOk), 2).order_number, 1);
}

TEST_F(ReplicaTest, CommittedOrdersAreConfirmedToTheCatalogWithTheirTerm) {
  auto out = place(1, "a", 2);
  ASSERT_EQ(out.trade_batches.size(), 1u);
  EXPECT_EQ(out.trade_batches[0].request.term, replica_->core().term());
  EXPECT_TRUE(confirmed_in(out).empty());
  out = trade_answer("a", proto::Status::kOk);
  EXPECT_TRUE(confirmed_in(out).empty());  // waits for a trade to ride on
  out = place(2, "b", 1);
  EXPECT_EQ(trades_in(out).size(), 1u);
  EXPECT_EQ(confirmed_in(out), std::vector<std::string>{"a"});
  out = trade_answer("b", proto::Status::kInsufficient);  // no order, nothing to confirm
  EXPECT_TRUE(confirmed_in(out).empty());
  place(3, "c", 1);
  out = trade_answer("c", proto::Status::kOk);
  EXPECT_TRUE(confirmed_in(out).empty());
  advance(99);
  EXPECT_TRUE(take().trade_batches.empty());
  advance(1);  // no trade came within confirm_delay_ms: the confirmation goes alone
  out = take();
  ASSERT_EQ(out.trade_batches.size(), 1u);
  EXPECT_TRUE(out.trade_batches[0].request.trades.empty());
  EXPECT_EQ(confirmed_in(out), std::vector<std::string>{"c"});
}

TEST_F(ReplicaTest, OneTradeBatchAtTheCatalogWhileTheNextGrows) {
  ASSERT_EQ(trades_in(place(1, "a", 1)).size(), 1u);
  // While the catalog works on a, b and c wait, and then go together.
  EXPECT_TRUE(place(2, "b", 1).trade_batches.empty());
  EXPECT_TRUE(place(3, "c", 1).trade_batches.empty());
  auto out = trade_answer("a", proto::Status::kOk);
  ASSERT_EQ(out.trade_batches.size(), 1u);
  const auto& next = out.trade_batches[0].request;
  ASSERT_EQ(next.trades.size(), 2u);
  EXPECT_EQ(next.trades[0].request_id, "b");
  EXPECT_EQ(next.trades[1].request_id, "c");
  EXPECT_EQ(next.confirmed, std::vector<std::string>{"a"});
  EXPECT_EQ(order_reply(out, 1).order_number, 0);
  out = trade_answer("b", proto::Status::kOk);
  EXPECT_EQ(order_reply(out, 2).order_number, 1);
  EXPECT_EQ(order_reply(out, 3).order_number, 2);
}

TEST_F(ReplicaTest, AnUnsentBatchFailsAtOnceAndFreesItsSlot) {
  // Not sent (the catalog is down): its trades fail at once and the next trade goes out.
  auto out = place(1, "a", 1);
  ASSERT_EQ(out.trade_batches.size(), 1u);
  replica_->on_trade_batch(out.trade_batches[0].id, std::nullopt, now_);
  replica_->flush();
  out = take();
  EXPECT_EQ(order_reply(out, 1).status, proto::Status::kUnavailable);
  EXPECT_TRUE(out.resolves.empty());  // never sent: nothing to be in doubt about
  ASSERT_EQ(trades_in(place(2, "b", 1)).size(), 1u);
}

// A batch sent and never answered may still apply (a paused catalog, a partition that heals):
// it is in doubt, and resolved with the catalog before the next trade goes (V1 of issue 13).
TEST_F(ReplicaTest, ASilentBatchIsInDoubtAndResolvedBeforeTheNextTrade) {
  auto out = place(1, "b", 1);
  ASSERT_EQ(out.trade_batches.size(), 1u);
  const auto batch = out.trade_batches[0];
  EXPECT_EQ(batch.request.batch, batch.id);  // the catalog can abandon it by name
  EXPECT_TRUE(place(2, "c", 1).trade_batches.empty());
  advance(1000);
  out = take();
  EXPECT_EQ(order_reply(out, 1).status, proto::Status::kUnavailable);
  EXPECT_EQ(order_reply(out, 2).status, proto::Status::kUnavailable);
  EXPECT_TRUE(out.trade_batches.empty());  // c timed out unsent: never reaches the catalog
  ASSERT_EQ(out.resolves.size(), 1u);
  EXPECT_EQ(out.resolves[0].term, replica_->core().term());
  EXPECT_EQ(out.resolves[0].batch, batch.id);
  EXPECT_EQ(out.resolves[0].request_ids, std::vector<std::string>{"b"});
  EXPECT_EQ(replica_->in_doubt(), 1u);
  // While it is in doubt no trade goes; unanswered, the question is asked again.
  EXPECT_TRUE(place(3, "d", 1).trade_batches.empty());
  advance(199);
  EXPECT_TRUE(take().resolves.empty());
  advance(1);
  ASSERT_EQ(take().resolves.size(), 1u);
  // The catalog applied b after all: b gets its order, though its client gave up; d goes on.
  replica_->on_resolve(batch.request.term, batch.id,
                       proto::ResolveReply{proto::Status::kOk, batch.request.trades}, now_);
  replica_->flush();
  out = take();
  EXPECT_EQ(replica_->in_doubt(), 0u);
  EXPECT_EQ(replica_->committed_orders(), 1);
  EXPECT_EQ(replica_->adopted(), 1u);
  ASSERT_EQ(trades_in(out).size(), 1u);
  EXPECT_EQ(trades_in(out)[0].request_id, "d");
  EXPECT_EQ(order_reply(trade_answer("d", proto::Status::kOk), 3).order_number, 1);
}

TEST_F(ReplicaTest, ASilentBatchOfConfirmationsOnlyIsNotInDoubt) {
  place(1, "a", 1);
  trade_answer("a", proto::Status::kOk);
  advance(100);  // a's confirmation goes alone, and is never answered
  ASSERT_EQ(confirmed_in(take()), std::vector<std::string>{"a"});
  advance(1000);
  auto out = take();
  EXPECT_TRUE(out.resolves.empty());
  EXPECT_EQ(replica_->in_doubt(), 0u);
  EXPECT_EQ(trades_in(place(2, "b", 1)).size(), 1u);  // trades go on
}

TEST_F(ReplicaTest, ABatchResolvedAsNotAppliedLogsNothingAndARetryTradesAgain) {
  auto out = place(1, "a", 1);
  const auto batch = out.trade_batches.at(0);
  advance(1000);
  ASSERT_EQ(take().resolves.size(), 1u);
  auto retry = place(2, "a", 1);  // the client's retry waits for the doubt to clear
  EXPECT_TRUE(retry.trade_batches.empty());
  replica_->on_resolve(batch.request.term, batch.id, proto::ResolveReply{proto::Status::kOk, {}},
                       now_);
  replica_->flush();
  out = take();
  EXPECT_EQ(replica_->committed_orders(), 0);
  // Abandoned at the catalog: the retry is a new attempt in a new batch.
  ASSERT_EQ(out.trade_batches.size(), 1u);
  EXPECT_NE(out.trade_batches[0].request.batch, batch.id);
  EXPECT_EQ(order_reply(trade_answer("a", proto::Status::kOk), 2).order_number, 0);
}

TEST_F(ReplicaTest, ARetryWaitingOnADoubtJoinsTheOrderItResolvesTo) {
  auto out = place(1, "a", 1);
  const auto batch = out.trade_batches.at(0);
  advance(1000);
  take();
  EXPECT_TRUE(place(2, "a", 1).trade_batches.empty());
  replica_->on_resolve(batch.request.term, batch.id,
                       proto::ResolveReply{proto::Status::kOk, batch.request.trades}, now_);
  replica_->flush();
  out = take();
  EXPECT_EQ(order_reply(out, 2).order_number, 0);
  EXPECT_TRUE(trades_in(out).empty());  // answered from the catalog's record: no second trade
  EXPECT_EQ(replica_->committed_orders(), 1);
}

TEST_F(ReplicaTest, ALateAnswerSettlesTheDoubtAndIgnoresTheResolution) {
  auto out = place(1, "a", 1);
  const auto batch = out.trade_batches.at(0);
  advance(1000);
  ASSERT_EQ(take().resolves.size(), 1u);
  out = trade_answer("a", proto::Status::kOk);  // the batch's own answer, late
  EXPECT_TRUE(out.replies.empty());             // its client was answered already
  EXPECT_EQ(replica_->committed_orders(), 1);
  EXPECT_EQ(replica_->in_doubt(), 0u);
  // The resolution's answer, coming after, changes nothing more.
  replica_->on_resolve(batch.request.term, batch.id,
                       proto::ResolveReply{proto::Status::kOk, batch.request.trades}, now_);
  replica_->flush();
  EXPECT_EQ(replica_->committed_orders(), 1);
  EXPECT_EQ(replica_->adopted(), 1u);
}

TEST_F(ReplicaTest, RefusedTradesTakeNoNumber) {
  place(1, "a", 200);
  EXPECT_EQ(order_reply(trade_answer("a", proto::Status::kInsufficient), 1).status,
            proto::Status::kInsufficient);
  place(2, "b", 1, "Nope");
  EXPECT_EQ(order_reply(trade_answer("b", proto::Status::kUnknownItem), 2).status,
            proto::Status::kUnknownItem);
  place(3, "c", 1);
  EXPECT_EQ(order_reply(trade_answer("c", proto::Status::kOk), 3).order_number, 0);
}

TEST_F(ReplicaTest, RepeatsOfARequestIdGetTheFirstAnswerAndOneTrade) {
  place(1, "k", 2);
  auto out = place(2, "k", 2);  // while the catalog works: joins the first
  EXPECT_TRUE(out.trade_batches.empty());
  out = trade_answer("k", proto::Status::kOk);
  EXPECT_EQ(order_reply(out, 1).order_number, 0);
  EXPECT_EQ(order_reply(out, 2).order_number, 0);
  out = place(3, "k", 2);  // after commit: answered from the log
  EXPECT_TRUE(out.trade_batches.empty());
  EXPECT_EQ(order_reply(out, 3).order_number, 0);
  EXPECT_EQ(order_reply(place(4, "k", 3), 4).status, proto::Status::kConflict);
  EXPECT_EQ(replica_->committed_orders(), 1);
}

TEST_F(ReplicaTest, CatalogSilenceTimesOutAndPendingIsBounded) {
  place(1, "a", 1);
  place(2, "b", 1);
  place(3, "c", 1);
  place(4, "d", 1);
  EXPECT_EQ(order_reply(place(5, "e", 1), 5).status, proto::Status::kUnavailable);  // bound
  now_ += 1001;
  replica_->tick(now_);
  replica_->flush();
  auto out = replica_->take_outputs();
  EXPECT_EQ(out.replies.size(), 4u);
  EXPECT_EQ(order_reply(out, 1).status, proto::Status::kUnavailable);
  // A late answer after the timeout answers nobody, but the trade it applied (a: b, c and d waited
  // behind its batch and never left) gets its order: the stock moved, so the order must exist.
  EXPECT_TRUE(trade_answer("a", proto::Status::kOk).replies.empty());
  EXPECT_EQ(replica_->committed_orders(), 1);
}

TEST_F(ReplicaTest, CatalogProbesMissedInARowMakeItUnhealthyAndOneAnswerHealthyAgain) {
  EXPECT_TRUE(replica_->catalog_reachable());
  replica_->on_catalog_probe(false, now_);  // one slow answer moves nothing
  EXPECT_TRUE(replica_->core().healthy());
  replica_->on_catalog_probe(true, now_);
  replica_->on_catalog_probe(false, now_);
  EXPECT_TRUE(replica_->core().healthy());  // the answer in between reset the count
  replica_->on_catalog_probe(false, now_);
  EXPECT_FALSE(replica_->core().healthy());
  EXPECT_FALSE(replica_->catalog_reachable());
  replica_->on_catalog_probe(false, now_);
  EXPECT_FALSE(replica_->core().healthy());
  replica_->on_catalog_probe(true, now_);
  EXPECT_TRUE(replica_->core().healthy());
}

TEST_F(ReplicaTest, QueriesStatusAndGarbage) {
  place(1, "a", 2);
  trade_answer("a", proto::Status::kOk);
  auto out = send(7, proto::encode(proto::GetOrderRequest{0}));
  auto got = proto::decode<proto::GetOrderReply>(out.replies.at(0).second);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->order.name, "Tux");
  EXPECT_EQ(got->order.quantity, 2);
  out = send(8, proto::encode(proto::GetOrderRequest{1}));
  EXPECT_EQ(proto::decode<proto::GetOrderReply>(out.replies.at(0).second)->status,
            proto::Status::kNotFound);
  out = send(9, proto::encode(proto::StatusRequest{}));
  auto st = proto::decode<proto::StatusReply>(out.replies.at(0).second);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->role, "leader");
  EXPECT_EQ(st->log_size, 1u);
  for (const std::string& bad : {std::string("junk"), proto::encode(proto::LookupRequest{"Tux"})}) {
    out = send(10, bad);
    auto err = proto::decode<proto::ErrorReply>(out.replies.at(0).second);
    ASSERT_TRUE(err);
    EXPECT_EQ(err->status, proto::Status::kBadRequest);
  }
}

TEST(ReplicaFollower, AnswersNotLeaderWithHint) {
  ReplicaOptions o;
  o.raft.id = 1;
  o.raft.members = {1, 2, 3};
  SqliteLogStore store(":memory:");
  Replica r(o, store, 1);
  // A heartbeat from leader 3 of term 2.
  proto::AppendEntries hb;
  hb.term = 2;
  hb.leader = 3;
  r.on_peer(proto::encode(hb), 5);
  // Past an election timeout without hearing it, the follower sends the client to its hint.
  r.on_client(1, proto::encode(proto::PlaceOrderRequest{"a", "Tux", proto::Side::kBuy, 1}), 400);
  r.flush();
  auto out = r.take_outputs();
  ASSERT_EQ(out.replies.size(), 1u);
  auto rep = proto::decode<proto::PlaceOrderReply>(out.replies[0].second);
  EXPECT_EQ(rep->status, proto::Status::kNotLeader);
  EXPECT_EQ(rep->leader_hint, 3);
  EXPECT_TRUE(out.trade_batches.empty());
  ASSERT_EQ(out.peers.size(), 1u);  // the heartbeat's answer
  EXPECT_EQ(out.peers[0].first, 3u);
}

// Issue 13, item 5: a client that reaches a follower but not the leader (a partition) is still
// served: the follower that hears its leader forwards the request and relays the answer.
TEST(ReplicaFollower, ForwardsToTheLeaderItHearsAndRelaysTheAnswer) {
  ReplicaOptions o;
  o.raft.id = 1;
  o.raft.members = {1, 2, 3};
  SqliteLogStore store(":memory:");
  Replica r(o, store, 1);
  proto::AppendEntries hb;
  hb.term = 2;
  hb.leader = 3;
  r.on_peer(proto::encode(hb), 5);
  const std::string order =
      proto::encode(proto::PlaceOrderRequest{"a", "Tux", proto::Side::kBuy, 1});
  r.on_client(7, order, 6);
  r.flush();
  auto out = r.take_outputs();
  EXPECT_TRUE(out.replies.empty());
  std::optional<proto::ForwardRequest> fwd;
  for (const auto& [to, bytes] : out.peers) {
    if (auto m = proto::decode<proto::ForwardRequest>(bytes)) {
      EXPECT_EQ(to, 3u);
      fwd = *m;
    }
  }
  ASSERT_TRUE(fwd);
  EXPECT_EQ(fwd->from, 1u);
  EXPECT_EQ(fwd->request, order);
  proto::PlaceOrderReply answer;
  answer.order_number = 4;
  r.on_peer(proto::encode(proto::ForwardReply{fwd->ticket, proto::encode(answer)}), 8);
  r.flush();
  out = r.take_outputs();
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(out.replies[0].first, 7u);
  EXPECT_EQ(proto::decode<proto::PlaceOrderReply>(out.replies[0].second)->order_number, 4);
  // A forward the leader never answers is answered "unavailable" after the trade deadline; a late
  // reply to it is dropped.
  r.on_client(8, order, 10);
  r.flush();
  out = r.take_outputs();
  r.on_peer(proto::encode(hb), 900);  // the leader still heard
  r.tick(1011);
  r.flush();
  out = r.take_outputs();
  ASSERT_EQ(out.replies.size(), 1u);
  EXPECT_EQ(proto::decode<proto::PlaceOrderReply>(out.replies[0].second)->status,
            proto::Status::kUnavailable);
}

// The leader's side: a forwarded request is answered as a direct one, and the answer goes back
// to the follower as a ForwardReply with its ticket.
TEST(ReplicaLeader, AnswersAForwardedRequestToTheFollower) {
  ReplicaOptions o;
  o.raft.id = 1;
  o.raft.members = {1};
  SqliteLogStore store(":memory:");
  Replica r(o, store, 1);
  r.tick(1000);
  r.flush();
  auto out = r.take_outputs();
  ASSERT_TRUE(out.reconcile);
  r.on_reconcile(out.reconcile->term, out.reconcile->after, proto::ReconcileReply{}, 1000);
  r.flush();
  r.take_outputs();
  r.on_peer(proto::encode(proto::ForwardRequest{2, 9, proto::encode(proto::GetOrderRequest{0})}),
            1001);
  r.flush();
  out = r.take_outputs();
  EXPECT_TRUE(out.replies.empty());
  std::optional<proto::ForwardReply> back;
  for (const auto& [to, bytes] : out.peers) {
    if (auto m = proto::decode<proto::ForwardReply>(bytes)) {
      EXPECT_EQ(to, 2u);
      back = *m;
    }
  }
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ticket, 9u);
  EXPECT_EQ(proto::decode<proto::GetOrderReply>(back->reply)->status, proto::Status::kNotFound);
}

// An operator's MembershipRequest is answered once the change has committed, not when the leader
// has put it in force (which it does at once: docs/REPLICATION.md, "Membership").
TEST(ReplicaLeader, AnswersAMembershipChangeOnceItCommits) {
  ReplicaOptions o;
  o.raft.id = 1;
  o.raft.members = {1, 2};
  o.raft.jitter_ms = 0;
  o.raft.transfer = false;
  SqliteLogStore store(":memory:");
  Replica r(o, store, 1);
  const auto step = [&r](const std::string& peer_message, std::uint64_t now) {
    if (!peer_message.empty()) r.on_peer(peer_message, now);
    r.flush();
    return r.take_outputs();
  };
  r.tick(2000);
  step("", 2000);                                                  // pre-vote to 2
  step(proto::encode(proto::VoteReply{1, 2, true, true}), 2001);   // pre-vote granted
  step(proto::encode(proto::VoteReply{1, 2, true, false}), 2002);  // elected, no-op at 1
  ASSERT_EQ(r.core().role(), raft::RaftRole::kLeader);
  const auto ack = [&step](std::uint64_t match, std::uint64_t now) {
    return step(
        proto::encode(proto::AppendReply{
            .term = 1, .from = 2, .success = true, .match_index = match, .next_index = match + 1}),
        now);
  };
  ack(1, 2003);
  r.on_client(5,
              proto::encode(proto::MembershipRequest{
                  .op = proto::MembershipRequest::kAdd, .id = 3, .peer_endpoint = "tcp://h:9"}),
              2004);
  EXPECT_TRUE(step("", 2004).replies.empty()) << "answered before the change committed";
  EXPECT_EQ(r.core().membership().encode(), "1:v: 2:v: 3:l:tcp://h:9");
  const ReplicaOutputs out = ack(2, 2005);
  ASSERT_EQ(out.replies.size(), 1u);
  const auto rep = proto::decode<proto::MembershipReply>(out.replies[0].second);
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, proto::Status::kOk);
  EXPECT_EQ(rep->config_index, 2u);
  EXPECT_EQ(rep->configuration, "1:v: 2:v: 3:l:tcp://h:9");
}

// ---- a new leader's reconciliation with the catalog (G2) --------------------------------------

class ReconcileTest : public ReplicaTest {
 protected:
  // Leader of a fresh single-replica cluster, still reconciling; `log` is what it starts with.
  void SetUp() override {}
  void start(std::vector<proto::LogEntry> log, std::uint64_t commit, std::uint64_t term) {
    ReplicaOptions o;
    o.raft.id = 1;
    o.raft.members = {1};
    o.reconcile_retry_ms = 100;
    store_ = std::make_unique<SqliteLogStore>(":memory:");
    // What an earlier run left: the log, its commit index and the numbers of its committed orders.
    raft::LogWrite w;
    w.hard_state = raft::HardState{term, -1};
    w.first_index = 1;
    w.entries = std::move(log);
    w.commit_index = commit;
    std::vector<AppliedOrder> applied;
    for (std::uint64_t i = 1; i <= commit; ++i) {
      if (w.entries[i - 1].kind == proto::LogEntry::kOrder)
        applied.push_back({.index = i, .number = static_cast<std::int64_t>(applied.size())});
    }
    ASSERT_EQ(store_->write(w, applied), raft::WriteOutcome::kWritten);
    replica_ = std::make_unique<Replica>(o, *store_, now_);
    advance(1000);
    ASSERT_EQ(replica_->core().role(), raft::RaftRole::kLeader);
    auto out = replica_->take_outputs();
    ASSERT_TRUE(out.reconcile);
    request_ = *out.reconcile;
    EXPECT_EQ(request_.term, replica_->core().term());
    EXPECT_EQ(request_.after, "");
    EXPECT_EQ(replica_->phase(), LeaderPhase::kReconciling);
  }
  static proto::TradeRequest trade(const std::string& id, std::int64_t q) {
    return {id, "Tux", proto::Side::kBuy, q};
  }
  proto::ReconcileRequest request_;
};

TEST_F(ReconcileTest, OrdersWaitUntilTheCatalogIsReconciled) {
  start({}, 0, 0);
  auto r = order_reply(place(1, "a", 1), 1);
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_NE(r.message.find("reconciling"), std::string::npos) << r.message;
  // No answer: asked again after the retry interval, not before.
  advance(50);
  EXPECT_FALSE(replica_->take_outputs().reconcile);
  advance(60);
  auto out = replica_->take_outputs();
  ASSERT_TRUE(out.reconcile);
  // A failed answer changes nothing; a stale one (older term) is ignored.
  proto::ReconcileReply failed;
  failed.status = proto::Status::kUnavailable;
  replica_->on_reconcile(request_.term, "", failed, now_);
  replica_->on_reconcile(request_.term - 1, "", proto::ReconcileReply{}, now_);
  EXPECT_EQ(replica_->phase(), LeaderPhase::kReconciling);
  answer_reconcile(request_, {});
  EXPECT_EQ(replica_->phase(), LeaderPhase::kServing);
  EXPECT_EQ(trades_in(place(2, "a", 1)).size(), 1u);
}

TEST_F(ReconcileTest, UnconfirmedTradesWithoutOrdersAreRolledForwardPageByPage) {
  start({}, 0, 0);
  auto out = answer_reconcile(request_, {trade("t1", 1), trade("t2", 2)}, /*more=*/true);
  ASSERT_TRUE(out.reconcile);  // the next page, after the last id
  EXPECT_EQ(out.reconcile->after, "t2");
  EXPECT_EQ(replica_->phase(), LeaderPhase::kReconciling);
  out = answer_reconcile(*out.reconcile, {trade("t3", 3)});
  EXPECT_EQ(replica_->phase(), LeaderPhase::kServing);
  EXPECT_EQ(replica_->rolled_forward(), 3u);
  EXPECT_EQ(replica_->committed_orders(), 3);
  // Committed, so confirmed to the catalog (alone, as no trade comes to carry them).
  advance(100);
  EXPECT_EQ(confirmed_in(take()), (std::vector<std::string>{"t1", "t2", "t3"}));
  // The client that sent t2 retries: the order is there, the catalog is not asked again.
  out = place(9, "t2", 2);
  EXPECT_TRUE(out.trade_batches.empty());
  EXPECT_EQ(order_reply(out, 9).order_number, 1);
  // The same key with another body is refused.
  EXPECT_EQ(order_reply(place(10, "t2", 5), 10).status, proto::Status::kConflict);
}

TEST_F(ReconcileTest, TradesWhoseOrdersCommittedAreConfirmedNotRepeated) {
  proto::LogEntry e;
  e.term = 1;
  e.kind = proto::LogEntry::kOrder;
  e.order_number = 0;
  e.request_id = "old";
  e.name = "Tux";
  e.side = proto::Side::kBuy;
  e.quantity = 4;
  start({e}, 1, 1);
  answer_reconcile(request_, {trade("old", 4)});
  advance(100);
  EXPECT_EQ(confirmed_in(take()), std::vector<std::string>{"old"});
  EXPECT_EQ(replica_->rolled_forward(), 0u);
  EXPECT_EQ(replica_->committed_orders(), 1);
  EXPECT_EQ(replica_->phase(), LeaderPhase::kServing);
}

}  // namespace
}  // namespace bazaar::order
