// Leadership transfer (raft/raft_core.h, RaftConfig::transfer; Raft thesis §3.10), step by step
// on a small deterministic cluster: who gets a transfer and when, what a voter does with a
// transfer election, the abort and back-off, and the replica's answer to orders meanwhile.
// The simulation (order_raft_sim_test.cpp) checks that safety holds with transfers under faults.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <variant>

#include "order/replica.h"
#include "proto_msgs/codec.h"
#include "raft/memory_log_store.h"
#include "raft/raft_core.h"
#include "raft_test_support.h"

namespace bazaar::order {
namespace {

proto::LogEntry order(int n) {
  proto::LogEntry e;
  e.kind = proto::LogEntry::kOrder;
  e.request_id = "r" + std::to_string(n);
  e.name = "Tux";
  e.quantity = 1;
  return e;
}

// Replicas 1..n exchanging messages instantly (within the same millisecond), every link
// filterable. What each replica persisted survives restart(); no jitter, so runs are exact.
class Net {
 public:
  using Filter =
      std::function<bool(std::uint32_t from, std::uint32_t to, const raft::PeerMessage&)>;

  explicit Net(int n, std::function<void(raft::RaftConfig&)> tune = {}) : tune_(std::move(tune)) {
    for (int i = 1; i <= n; ++i) members_.push_back(static_cast<std::uint32_t>(i));
    for (auto id : members_) {
      disk_[id] = std::make_unique<raft::MemoryLogStore>();
      start(id);
    }
  }

  raft::RaftCore& operator[](std::uint32_t id) { return *cores_.at(id); }
  bool up(std::uint32_t id) const { return cores_.count(id) != 0; }
  std::uint64_t now() const { return now_; }

  /// Messages for which `drop` returns true are lost.
  void set_drop(Filter drop) { drop_ = std::move(drop); }
  void crash(std::uint32_t id) { cores_.erase(id); }
  /// Starts `id` again from what it persisted.
  void start(std::uint32_t id) {
    raft::RaftConfig c;
    c.id = id;
    c.members = members_;
    c.jitter_ms = 0;
    if (tune_) tune_(c);
    cores_[id] = std::make_unique<raft::RaftCore>(c, *disk_.at(id), now_);
  }

  /// Advances the clock to `until`, ticking every replica each millisecond.
  void run_until(std::uint64_t until) {
    for (; now_ < until; ++now_) {
      for (auto& [id, core] : cores_) core->tick(now_);
      pump();
    }
  }
  /// Runs until `done` holds or `until` is reached; true when it held.
  bool run_until(std::uint64_t until, const std::function<bool()>& done) {
    for (; now_ < until; ++now_) {
      if (done()) return true;
      for (auto& [id, core] : cores_) core->tick(now_);
      pump();
    }
    return done();
  }
  void deliver(std::uint32_t to, const raft::PeerMessage& m) {
    cores_.at(to)->receive(m, now_);
    pump();
  }
  /// Delivers everything queued (and what it causes) until quiet.
  void pump() {
    for (int round = 0; round < 100; ++round) {
      bool any = false;
      for (auto id : members_) {
        if (!up(id)) continue;
        raft::Ready r = raft::testing::persist(*cores_[id], *disk_.at(id));
        for (auto& m : r.messages) {
          sent_.push_back({id, m.to, m.message});
          if (!up(m.to) || (drop_ && drop_(id, m.to, m.message))) continue;
          cores_[m.to]->receive(m.message, now_);
          any = true;
        }
      }
      if (!any) return;
    }
  }

  std::uint32_t leader() const {
    for (const auto& [id, core] : cores_)
      if (core->role() == raft::RaftRole::kLeader) return id;
    return 0;
  }
  /// Messages of type T sent so far (dropped ones included), with sender and receiver.
  template <class T>
  std::vector<std::tuple<std::uint32_t, std::uint32_t, T>> sent() const {
    std::vector<std::tuple<std::uint32_t, std::uint32_t, T>> out;
    for (const auto& s : sent_) {
      if (const T* m = std::get_if<T>(&s.message)) out.emplace_back(s.from, s.to, *m);
    }
    return out;
  }
  void clear_sent() { sent_.clear(); }

 private:
  struct Sent {
    std::uint32_t from, to;
    raft::PeerMessage message;
  };
  std::function<void(raft::RaftConfig&)> tune_;
  std::vector<std::uint32_t> members_;
  std::map<std::uint32_t, std::unique_ptr<raft::RaftCore>> cores_;
  std::map<std::uint32_t, std::unique_ptr<raft::MemoryLogStore>> disk_;  // survives a crash
  std::vector<Sent> sent_;
  Filter drop_;
  std::uint64_t now_ = 0;
};

// The usual opening: replica 3 is down from the start, so replica 2 leads; it commits `orders`
// orders; then replica 3 starts with an empty log at `rejoin_ms`.
void lower_id_leads_then_three_rejoins(Net& net, int orders, std::uint64_t rejoin_ms = 1000) {
  net.crash(3);
  net.run_until(800);
  ASSERT_EQ(net.leader(), 2u);
  for (int i = 0; i < orders; ++i) {
    std::uint64_t index = 0;
    ASSERT_EQ(net[2].propose(order(i), index), raft::ProposeOutcome::kAccepted);
  }
  net.run_until(rejoin_ms);
  net.start(3);
}

TEST(RaftTransfer, CaughtUpHigherIdGetsLeadershipOnceStable) {
  Net net(3);
  lower_id_leads_then_three_rejoins(net, 200);
  const std::uint64_t term = net[2].term();
  // Replica 3 catches up at once, but leads only after it has kept up for transfer_stable_ms.
  net.run_until(1000 + raft::RaftConfig{}.transfer_stable_ms - 50);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_EQ(net[3].commit_index(), net[2].last_index());
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
  EXPECT_TRUE(net.run_until(2000, [&] { return net.leader() == 3u; }));
  EXPECT_LE(net.now(), 1000 + raft::RaftConfig{}.transfer_stable_ms + 100);

  // One TimeoutNow, from the leader of the term to 3, and one forced election, won at once.
  const auto nows = net.sent<proto::TimeoutNow>();
  ASSERT_EQ(nows.size(), 1u);
  EXPECT_EQ(std::get<0>(nows[0]), 2u);
  EXPECT_EQ(std::get<1>(nows[0]), 3u);
  EXPECT_EQ(std::get<2>(nows[0]).term, term);
  EXPECT_EQ(net[3].term(), term + 1);
  for (const auto& [from, to, v] : net.sent<proto::RequestVote>()) {
    if (from == 3 && v.term == term + 1) {
      EXPECT_TRUE(v.transfer);
      EXPECT_FALSE(v.pre_vote);  // no pre-vote: the lease would refuse it
    }
  }
  net.run_until(net.now() + 100);
  EXPECT_EQ(net[2].role(), raft::RaftRole::kFollower);
  EXPECT_EQ(net[2].leader_id(), 3);
  EXPECT_EQ(net[1].leader_id(), 3);
  EXPECT_EQ(net[3].commit_index(), net[3].last_index());
  const auto log3 = net[3].entries(1, net[3].last_index() + 1);
  EXPECT_EQ(
      std::count_if(log3.begin(), log3.end(),
                    [](const proto::LogEntry& e) { return e.kind == proto::LogEntry::kOrder; }),
      200);
  EXPECT_EQ(net[1].commit_index(), net[3].last_index());
}

TEST(RaftTransfer, HighestOfSeveralHigherIdsGetsIt) {
  Net net(5);
  net.crash(4);
  net.crash(5);
  net.run_until(1500);
  ASSERT_EQ(net.leader(), 3u);
  net.start(4);
  net.start(5);
  EXPECT_TRUE(net.run_until(3000, [&] { return net.leader() == 5u; }));
  for (const auto& [from, to, m] : net.sent<proto::TimeoutNow>()) EXPECT_EQ(to, 5u);
  net.run_until(net.now() + 2000);
  EXPECT_EQ(net.leader(), 5u);  // and it stays: nobody above it
}

TEST(RaftTransfer, NoTransferToALaggingHigherId) {
  Net net(3);
  // Replica 3 hears heartbeats (so it is alive) but never gets an entry: it stays behind.
  net.set_drop([](std::uint32_t, std::uint32_t to, const raft::PeerMessage& m) {
    const auto* a = std::get_if<proto::AppendEntries>(&m);
    return to == 3 && a != nullptr && !a->entries.empty();
  });
  lower_id_leads_then_three_rejoins(net, 50);
  for (std::uint64_t t = 1100; t <= 4000; t += 100) {
    net.run_until(t);
    std::uint64_t index = 0;
    ASSERT_EQ(net[2].propose(order(static_cast<int>(t)), index), raft::ProposeOutcome::kAccepted)
        << t;
  }
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_LT(net[3].last_index(), net[2].commit_index());
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
}

TEST(RaftTransfer, NoTransferToASilentHigherId) {
  Net net(3);
  lower_id_leads_then_three_rejoins(net, 50);
  // Replica 3 catches up; then, before it has been steady for long, none of its answers arrive
  // any more. It still hears the leader and holds every entry (nothing new commits), so only
  // its silence can keep it from a transfer.
  ASSERT_TRUE(net.run_until(1200, [&] { return net[3].last_index() == net[2].last_index(); }));
  net.run_until(1300);
  net.set_drop(
      [](std::uint32_t from, std::uint32_t, const raft::PeerMessage&) { return from == 3; });
  net.run_until(4000);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_EQ(net[3].last_index(), net[2].last_index());
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
  EXPECT_FALSE(net[2].transfer_target());
}

TEST(RaftTransfer, FlappingHigherIdWaitsForAStableWhile) {
  Net net(3);
  // Replica 3's answers are lost for 150 ms of every 400: it is never alive for 500 ms at once.
  Net* n = &net;
  net.set_drop([n](std::uint32_t from, std::uint32_t, const raft::PeerMessage&) {
    return from == 3 && n->now() % 400 < 150;
  });
  lower_id_leads_then_three_rejoins(net, 50);
  net.run_until(4000);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
  net.set_drop({});
  EXPECT_TRUE(net.run_until(5000, [&] { return net.leader() == 3u; }));
}

TEST(RaftTransfer, LowerIdNeverGetsATransfer) {
  Net net(3);
  net.run_until(3000);
  ASSERT_EQ(net.leader(), 3u);
  // The highest id leads: with both followers caught up and alive, it never hands office down.
  for (std::uint64_t t = 3100; t <= 6000; t += 100) {
    net.run_until(t);
    std::uint64_t index = 0;
    ASSERT_EQ(net[3].propose(order(static_cast<int>(t)), index), raft::ProposeOutcome::kAccepted);
  }
  EXPECT_EQ(net.leader(), 3u);
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());

  // Replica 2 leads with only 1 beside it: 1 is lower, so no transfer either.
  Net two(3);
  two.crash(3);
  two.run_until(4000);
  ASSERT_EQ(two.leader(), 2u);
  EXPECT_TRUE(two.sent<proto::TimeoutNow>().empty());
  EXPECT_FALSE(two[2].transfer_target());
}

// Health (RaftCore::set_healthy): a leader that cannot serve (for an order replica: the catalog
// does not answer it) hands office to a healthy follower, lower ids included, and leadership
// does not move to a replica that cannot serve.
TEST(RaftTransfer, UnhealthyLeaderHandsOfficeToTheHighestHealthyFollower) {
  Net net(3);
  net.run_until(3000);
  ASSERT_EQ(net.leader(), 3u);
  const std::uint64_t term = net[3].term();
  net[3].set_healthy(false, net.now());
  // Both followers have kept up for long: the transfer starts once the leader has been unhealthy
  // for transfer_stable_ms, and not before.
  net.run_until(3000 + raft::RaftConfig{}.transfer_stable_ms - 10);
  EXPECT_EQ(net.leader(), 3u);
  EXPECT_TRUE(net.run_until(3800, [&] { return net.leader() == 2u; }));
  const auto nows = net.sent<proto::TimeoutNow>();
  ASSERT_EQ(nows.size(), 1u);
  EXPECT_EQ(std::get<0>(nows[0]), 3u);
  EXPECT_EQ(std::get<1>(nows[0]), 2u);  // the higher of the two healthy ones
  EXPECT_EQ(net[2].term(), term + 1);
}

TEST(RaftTransfer, UnhealthyLeaderSkipsAnUnhealthyFollower) {
  Net net(3);
  net.run_until(3000);
  ASSERT_EQ(net.leader(), 3u);
  net[2].set_healthy(false, net.now());
  net.run_until(3200);  // replica 2 says so in its next replies
  net[3].set_healthy(false, net.now());
  EXPECT_TRUE(net.run_until(4000, [&] { return net.leader() == 1u; }));
  for (const auto& [from, to, m] : net.sent<proto::TimeoutNow>()) EXPECT_EQ(to, 1u);
}

TEST(RaftTransfer, UnhealthyLeaderWithNoHealthyPeerKeepsOffice) {
  Net net(3);
  net.run_until(3000);
  ASSERT_EQ(net.leader(), 3u);
  // The catalog goes away for everyone, the followers noticing a little later than the leader:
  // they say so before the leader's stable while is over, so nobody qualifies.
  net[3].set_healthy(false, net.now());
  net.run_until(3300);
  for (std::uint32_t id : {1u, 2u}) net[id].set_healthy(false, net.now());
  net.run_until(6000);
  EXPECT_EQ(net.leader(), 3u);
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
  EXPECT_FALSE(net[3].transfer_target());
}

TEST(RaftTransfer, NoTransferUpToAnUnhealthyHigherIdUntilItIsHealthyForAStableWhile) {
  Net net(3);
  lower_id_leads_then_three_rejoins(net, 50);
  net[3].set_healthy(false, net.now());
  net.run_until(4000);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_EQ(net[3].last_index(), net[2].last_index());  // caught up, alive: only health stops it
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
  net[3].set_healthy(true, net.now());
  const std::uint64_t healed = net.now();
  EXPECT_TRUE(net.run_until(6000, [&] { return net.leader() == 3u; }));
  EXPECT_GE(net.now(), healed + raft::RaftConfig{}.transfer_stable_ms);
}

TEST(RaftTransfer, HandOffAwayFromAnUnhealthyLeaderDoesNotComeBack) {
  Net net(3);
  net.run_until(3000);
  ASSERT_EQ(net.leader(), 3u);
  net[3].set_healthy(false, net.now());
  ASSERT_TRUE(net.run_until(3800, [&] { return net.leader() == 2u; }));
  // Replica 2 leads and replica 3, the highest id, keeps up but stays unhealthy: the upward rule
  // must not hand office back (which would then hand it down again, and so on).
  for (std::uint64_t t = 3400; t <= 12000; t += 100) {
    net.run_until(t);
    std::uint64_t index = 0;
    ASSERT_EQ(net[2].propose(order(static_cast<int>(t)), index), raft::ProposeOutcome::kAccepted)
        << t;
  }
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_EQ(net.sent<proto::TimeoutNow>().size(), 1u);
  net[3].set_healthy(true, net.now());
  EXPECT_TRUE(net.run_until(14000, [&] { return net.leader() == 3u; }));
  EXPECT_EQ(net.sent<proto::TimeoutNow>().size(), 2u);
}

TEST(RaftTransfer, ProposalsRefusedDuringTransferThenAbortAndBackOff) {
  Net net(3);
  // The target never hears TimeoutNow: the transfer cannot finish.
  net.set_drop([](std::uint32_t, std::uint32_t, const raft::PeerMessage& m) {
    return std::holds_alternative<proto::TimeoutNow>(m);
  });
  lower_id_leads_then_three_rejoins(net, 20);
  ASSERT_TRUE(net.run_until(2000, [&] { return net[2].transfer_target().has_value(); }));
  const std::uint64_t started = net.now();
  EXPECT_EQ(*net[2].transfer_target(), 3u);
  const std::uint64_t last = net[2].last_index();
  std::uint64_t index = 0;
  EXPECT_EQ(net[2].propose(order(1000), index), raft::ProposeOutcome::kTransferring);
  EXPECT_EQ(net[2].last_index(), last);                 // nothing appended
  EXPECT_EQ(net.sent<proto::TimeoutNow>().size(), 1u);  // sent once, though lost

  // Abandoned after an election timeout: the leader serves again, in the same term.
  const std::uint64_t term = net[2].term();
  ASSERT_TRUE(net.run_until(started + 1000, [&] { return !net[2].transfer_target(); }));
  EXPECT_EQ(net.now() - started, raft::RaftConfig{}.election_ms);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_EQ(net[2].term(), term);
  EXPECT_EQ(net[2].propose(order(1001), index), raft::ProposeOutcome::kAccepted);

  // No new attempt within the back-off, one right after it.
  const std::uint64_t ended = net.now();
  const std::uint64_t backoff = raft::RaftConfig{}.transfer_backoff_ms;
  EXPECT_FALSE(
      net.run_until(ended + backoff - 1, [&] { return net[2].transfer_target().has_value(); }));
  EXPECT_EQ(net.sent<proto::TimeoutNow>().size(), 1u);
  EXPECT_TRUE(
      net.run_until(ended + backoff + 10, [&] { return net[2].transfer_target().has_value(); }));
  EXPECT_EQ(net.sent<proto::TimeoutNow>().size(), 2u);

  // Over a long run the leader is paused at most election_ms per back-off.
  std::uint64_t paused = 0;
  const std::uint64_t from = net.now();
  for (; net.now() < from + 30000;) {
    net.run_until(net.now() + 1);
    paused += net[2].transfer_target() ? 1 : 0;
  }
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_LE(paused, (30000 / backoff + 1) * raft::RaftConfig{}.election_ms);
}

TEST(RaftTransfer, TargetThatDiesMidTransferIsAbandoned) {
  Net net(3);
  lower_id_leads_then_three_rejoins(net, 20);
  // Crash 3 the moment the transfer begins, before TimeoutNow reaches it.
  net.set_drop([](std::uint32_t, std::uint32_t to, const raft::PeerMessage& m) {
    return to == 3 && std::holds_alternative<proto::TimeoutNow>(m);
  });
  ASSERT_TRUE(net.run_until(2000, [&] { return net[2].transfer_target().has_value(); }));
  net.crash(3);
  net.run_until(net.now() + raft::RaftConfig{}.election_ms + 10);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_FALSE(net[2].transfer_target());
  std::uint64_t index = 0;
  EXPECT_EQ(net[2].propose(order(1), index), raft::ProposeOutcome::kAccepted);
  net.run_until(net.now() + 20);
  EXPECT_EQ(net[2].commit_index(), index);  // 1 and 2 are a majority: service goes on
}

TEST(RaftTransfer, LeaderMidTransferStepsDownOnAHigherTerm) {
  Net net(3);
  net.set_drop([](std::uint32_t, std::uint32_t, const raft::PeerMessage& m) {
    return std::holds_alternative<proto::TimeoutNow>(m);
  });
  lower_id_leads_then_three_rejoins(net, 20);
  ASSERT_TRUE(net.run_until(2000, [&] { return net[2].transfer_target().has_value(); }));
  const std::uint64_t term = net[2].term();
  net.deliver(2, proto::AppendReply{term + 3, 1, false, 0, 1});
  EXPECT_EQ(net[2].role(), raft::RaftRole::kFollower);
  EXPECT_EQ(net[2].term(), term + 3);
  EXPECT_FALSE(net[2].transfer_target());
  std::uint64_t index = 0;
  EXPECT_EQ(net[2].propose(order(1), index), raft::ProposeOutcome::kNotLeader);
}

TEST(RaftTransfer, TurnedOffTheRejoiningHigherIdDoesNotLead) {
  Net net(3, [](raft::RaftConfig& c) { c.transfer = false; });
  lower_id_leads_then_three_rejoins(net, 50);
  net.run_until(6000);
  EXPECT_EQ(net.leader(), 2u);
  EXPECT_EQ(net[3].commit_index(), net[2].last_index());
  EXPECT_TRUE(net.sent<proto::TimeoutNow>().empty());
}

// A voter on its own: the lease refuses an ordinary election while the leader is heard, a
// transfer election sets it aside, and every other rule still holds.
class TransferVoter : public ::testing::Test {
 protected:
  void SetUp() override {
    raft::RaftConfig c;
    c.id = 1;
    c.members = {1, 2, 3};
    c.jitter_ms = 0;
    voter_ = std::make_unique<raft::RaftCore>(c, store_, 0);
    proto::AppendEntries hb;
    hb.term = 5;
    hb.leader = 2;
    hb.prev_index = 2;
    hb.prev_term = 5;
    voter_->receive(hb, 10);  // leader 2 of term 5 heard at t=10
    take();
  }
  /// The voter's Ready, persisted as the server does before it sends.
  raft::Ready take() {
    raft::Ready r = voter_->take_ready();
    EXPECT_EQ(store_.write(r.log_write()), raft::WriteOutcome::kWritten);
    voter_->advance();
    return r;
  }
  proto::VoteReply ask(const proto::RequestVote& v, std::uint64_t now) {
    voter_->receive(v, now);
    raft::Ready r = take();
    for (const auto& m : r.messages) {
      if (const auto* reply = std::get_if<proto::VoteReply>(&m.message)) return *reply;
    }
    ADD_FAILURE() << "no vote reply";
    return {};
  }
  raft::MemoryLogStore store_{raft::HardState{5, 2}, {proto::LogEntry{4}, proto::LogEntry{5}}, 0};
  std::unique_ptr<raft::RaftCore> voter_;
};

TEST_F(TransferVoter, LeaseRefusesAnOrdinaryElection) {
  EXPECT_FALSE(ask(proto::RequestVote{6, 3, 2, 5, false, false}, 20).granted);
  EXPECT_EQ(voter_->term(), 5u);  // not even the term moved
}

TEST_F(TransferVoter, TransferElectionIsGrantedDespiteTheLease) {
  const auto r = ask(proto::RequestVote{6, 3, 2, 5, false, true}, 20);
  EXPECT_TRUE(r.granted);
  EXPECT_EQ(voter_->term(), 6u);
  // One vote per term: another transfer candidate of term 6 is refused.
  EXPECT_FALSE(ask(proto::RequestVote{6, 2, 2, 5, false, true}, 21).granted);
}

TEST_F(TransferVoter, TransferElectionStillNeedsANewTermAndAnUpToDateLog) {
  // Term 5's vote went to 2 already.
  EXPECT_FALSE(ask(proto::RequestVote{5, 3, 2, 5, false, true}, 20).granted);
  // A log that ends in an older term.
  EXPECT_FALSE(ask(proto::RequestVote{6, 3, 1, 4, false, true}, 20).granted);
  // Shorter, same last term.
  EXPECT_FALSE(ask(proto::RequestVote{7, 3, 1, 5, false, true}, 20).granted);
}

TEST_F(TransferVoter, TimeoutNowFromTheLeaderStartsAnElectionAtOnce) {
  voter_->receive(proto::TimeoutNow{5, 2}, 20);
  EXPECT_EQ(voter_->role(), raft::RaftRole::kCandidate);
  EXPECT_EQ(voter_->term(), 6u);
  raft::Ready r = take();
  ASSERT_TRUE(r.hard_state);
  EXPECT_EQ(r.hard_state->voted_for, 1);  // its own vote, persisted before the requests leave
  int asked = 0;
  for (const auto& m : r.messages) {
    const auto* v = std::get_if<proto::RequestVote>(&m.message);
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->transfer);
    EXPECT_FALSE(v->pre_vote);
    EXPECT_EQ(v->term, 6u);
    ++asked;
  }
  EXPECT_EQ(asked, 2);
}

TEST_F(TransferVoter, StaleTimeoutNowIsIgnored) {
  voter_->receive(proto::TimeoutNow{4, 3}, 20);  // from an older term's leader (a late copy)
  EXPECT_EQ(voter_->role(), raft::RaftRole::kFollower);
  EXPECT_EQ(voter_->term(), 5u);
  EXPECT_TRUE(take().messages.empty());
}

// The replica around the core: while its leader hands office over, orders are answered
// "unavailable" naming the transfer (the front end pauses and retries with the same id), and no
// new trade reaches the catalog.
// Three Replicas exchanging messages instantly, with a fake catalog the test answers by hand
// (answer_trades) and TimeoutNow held back while hold_timeout_now is set.
class ReplicaTransferTest : public ::testing::Test {
 protected:
  void make(std::uint32_t id) {
    ReplicaOptions o;
    o.raft.id = id;
    o.raft.members = {1, 2, 3};
    o.raft.jitter_ms = 0;
    replicas.erase(id);  // before its store goes
    stores[id] = std::make_unique<SqliteLogStore>(":memory:");
    replicas[id] = std::make_unique<Replica>(o, *stores[id], now);
  }
  void step() {
    for (auto& [id, r] : replicas) {
      if (down.count(id)) continue;
      r->tick(now);
      r->flush();
    }
    for (int round = 0; round < 20; ++round) {
      bool any = false;
      for (auto& [id, r] : replicas) {
        if (down.count(id)) continue;
        r->flush();  // what the messages of the last round caused
        auto out = r->take_outputs();
        for (auto& rep : out.replies) replies.push_back(rep);
        if (out.reconcile) {
          r->on_reconcile(out.reconcile->term, out.reconcile->after, proto::ReconcileReply{}, now);
          any = true;
        }
        for (auto& b : out.trade_batches) {
          if (b.request.trades.empty()) {
            r->on_trade_batch(b.id, proto::TradeBatchReply{}, now);  // confirmations only
            any = true;
          } else {
            batches.push_back(std::move(b));
          }
        }
        for (auto& [to, bytes] : out.peers) {
          if (down.count(to)) continue;
          auto env = proto::open_envelope(bytes);
          if (hold_timeout_now && env && env->type == proto::MessageType::kTimeoutNow) {
            held.emplace_back(to, bytes);
            continue;
          }
          replicas[to]->on_peer(bytes, now);
          any = true;
        }
        r->flush();
      }
      if (!any) break;
    }
  }
  void place(std::uint32_t id, std::uint64_t token, const std::string& rid) {
    replicas[id]->on_client(
        token, proto::encode(proto::PlaceOrderRequest{rid, "Tux", proto::Side::kBuy, 1}), now);
    replicas[id]->flush();
    step();
  }
  // The catalog applies every batch it holds; its answers go to `leader`.
  void answer_trades() {
    for (auto& b : batches) {
      proto::TradeBatchReply rep;
      for (std::size_t k = 0; k < b.request.trades.size(); ++k) rep.replies.emplace_back();
      replicas[leader]->on_trade_batch(b.id, rep, now);
    }
    batches.clear();
    replicas[leader]->flush();
    step();
  }
  std::optional<proto::PlaceOrderReply> reply_to(std::uint64_t token) const {
    for (const auto& [t, bytes] : replies) {
      if (t == token) return *proto::decode<proto::PlaceOrderReply>(bytes);
    }
    return std::nullopt;
  }
  // Replica 2 leads (3 is down) and has committed one order; then 3 rejoins while an order's
  // trade is at the catalog, and the test waits until 2 starts handing office to 3.
  void start_transfer_with_a_trade_at_the_catalog() {
    for (std::uint32_t id : {1u, 2u, 3u}) make(id);
    for (; now < 800; ++now) step();
    ASSERT_EQ(replicas[2]->core().role(), raft::RaftRole::kLeader);
    ASSERT_EQ(replicas[2]->phase(), LeaderPhase::kServing);
    place(2, 1, "before");
    answer_trades();
    ASSERT_TRUE(reply_to(1));
    EXPECT_EQ(reply_to(1)->status, proto::Status::kOk);
    down.erase(3);
    make(3);
    place(2, 2, "in-flight");
    ASSERT_EQ(batches.size(), 1u);
    while (!replicas[2]->core().transfer_target() && now < 3000) {
      ++now;
      step();
    }
    ASSERT_EQ(replicas[2]->core().transfer_target(), 3u);
    // The catalog's answer arrives during the transfer: the order cannot be logged now, so it
    // waits (parked) for the transfer's end rather than leave an applied trade without an order.
    answer_trades();
    EXPECT_FALSE(reply_to(2));
  }

  std::map<std::uint32_t, std::unique_ptr<SqliteLogStore>> stores;  // outlive the replicas
  std::map<std::uint32_t, std::unique_ptr<Replica>> replicas;
  std::uint64_t now = 0;
  bool hold_timeout_now = true;
  std::vector<std::pair<std::uint32_t, std::string>> held;
  std::vector<std::pair<std::uint64_t, std::string>> replies;
  std::vector<TradeBatch> batches;
  std::set<std::uint32_t> down{3};
  std::uint32_t leader = 2;  // where the catalog's answers go
};

TEST_F(ReplicaTransferTest, OrdersDuringATransferAreUnavailableAndNameIt) {
  ASSERT_NO_FATAL_FAILURE(start_transfer_with_a_trade_at_the_catalog());
  // A new order is refused before it reaches the catalog, and says to whom office goes.
  place(2, 3, "during");
  ASSERT_TRUE(reply_to(3));
  EXPECT_EQ(reply_to(3)->status, proto::Status::kUnavailable);
  EXPECT_NE(reply_to(3)->message.find("transfer to replica 3"), std::string::npos)
      << reply_to(3)->message;
  EXPECT_TRUE(batches.empty());
  // A repeat of the parked order joins it: no second trade.
  place(2, 5, "in-flight");
  EXPECT_FALSE(reply_to(5));
  EXPECT_TRUE(batches.empty());

  // Let TimeoutNow through: 3 leads, and the refused order's retry there succeeds.
  hold_timeout_now = false;
  ASSERT_EQ(held.size(), 1u);
  replicas[held[0].first]->on_peer(held[0].second, now);
  while (replicas[3]->phase() != LeaderPhase::kServing && now < 6000) {
    ++now;
    step();
  }
  ASSERT_EQ(replicas[3]->core().role(), raft::RaftRole::kLeader);
  EXPECT_EQ(replicas[2]->core().role(), raft::RaftRole::kFollower);
  // The parked order's clients hear "leadership lost" and retry at 3, whose reconciliation
  // with the catalog rolls the applied trade forward (catalog_reconcile_test, crash_test).
  for (std::uint64_t token : {2u, 5u}) {
    ASSERT_TRUE(reply_to(token)) << token;
    EXPECT_EQ(reply_to(token)->status, proto::Status::kNotLeader);
  }
  leader = 3;
  place(3, 4, "during");
  ASSERT_EQ(batches.size(), 1u);
  answer_trades();
  for (int i = 0; i < 5; ++i) {
    ++now;
    step();
  }
  ASSERT_TRUE(reply_to(4));
  EXPECT_EQ(reply_to(4)->status, proto::Status::kOk);
}

TEST_F(ReplicaTransferTest, AnAbandonedTransferLogsTheTradesAppliedMeanwhile) {
  ASSERT_NO_FATAL_FAILURE(start_transfer_with_a_trade_at_the_catalog());
  // TimeoutNow never arrives: after an election timeout the transfer is abandoned, and the
  // order whose trade the catalog applied meanwhile is logged and answered here.
  const std::uint64_t until = now + 1000;
  while (!reply_to(2) && now < until) {
    ++now;
    step();
  }
  EXPECT_FALSE(replicas[2]->core().transfer_target());
  EXPECT_EQ(replicas[2]->core().role(), raft::RaftRole::kLeader);
  ASSERT_TRUE(reply_to(2));
  EXPECT_EQ(reply_to(2)->status, proto::Status::kOk);
  EXPECT_EQ(reply_to(2)->order_number, 1);
  EXPECT_EQ(replicas[2]->committed_orders(), 2);
  EXPECT_TRUE(batches.empty());  // its trade was not sent again
}

}  // namespace
}  // namespace bazaar::order
