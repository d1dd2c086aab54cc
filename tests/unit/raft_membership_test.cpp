// Membership changes through the log (raft/membership.h; RaftCore::propose_membership;
// docs/REPLICATION.md, "Membership"): the configuration text, the one-replica-at-a-time rule,
// learners that receive the log without counting, their promotion once caught up, removal (of a
// follower and of the leader itself), and the configuration in force across a restart.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/membership.h"
#include "raft/memory_log_store.h"
#include "raft/raft_core.h"
#include "raft_test_support.h"

namespace bazaar::raft {
namespace {

using testing::persist;

// ---- the configuration value ------------------------------------------------------------------

Membership three() {
  return Membership({{1, true, "tcp://h:1"}, {2, true, "tcp://h:2"}, {3, true, "tcp://h:3"}});
}

TEST(Membership, EncodesAndDecodesItsText) {
  const Membership m = three().with({4, false, "tcp://h:4"});
  EXPECT_EQ(m.encode(), "1:v:tcp://h:1 2:v:tcp://h:2 3:v:tcp://h:3 4:l:tcp://h:4");
  EXPECT_EQ(Membership::decode(m.encode()), m);
  EXPECT_EQ(Membership::decode("2:v: 1:v:"),
            Membership::of_voters({1, 2}));  // sorted, no endpoints
  for (const char* bad :
       {"", " ", "1:v:a  2:v:b", "1:x:a", "0:v:a", "10:v:a", "1:v:a 1:l:b", "v:a", "1v:a", "1:v"}) {
    EXPECT_FALSE(Membership::decode(bad)) << "'" << bad << "'";
  }
}

TEST(Membership, OnlyChangesOfOneReplicaAreValid) {
  const Membership m = three();
  EXPECT_EQ(m.change_to(m), ChangeKind::kNone);
  const Membership added = m.with({4, false, "tcp://h:4"});
  EXPECT_EQ(m.change_to(added), ChangeKind::kAddLearner);
  EXPECT_EQ(added.change_to(added.with({4, true, "tcp://h:4"})), ChangeKind::kPromote);
  EXPECT_EQ(m.change_to(m.without(2)), ChangeKind::kRemove);
  EXPECT_EQ(added.change_to(added.without(4)), ChangeKind::kRemove);
  // Invalid: a voter added directly, two replicas at once, a voter demoted, an endpoint moved in
  // place, no voter left.
  EXPECT_EQ(m.change_to(m.with({4, true, "tcp://h:4"})), ChangeKind::kInvalid);
  EXPECT_EQ(m.change_to(m.without(2).without(3)), ChangeKind::kInvalid);
  EXPECT_EQ(m.change_to(m.with({3, false, "tcp://h:3"})), ChangeKind::kInvalid);
  EXPECT_EQ(m.change_to(m.with({3, true, "tcp://h:9"})), ChangeKind::kInvalid);
  EXPECT_EQ(Membership::of_voters({1}).change_to(Membership::of_voters({1}).without(1)),
            ChangeKind::kInvalid);
}

// ---- a fault-free network of cores ------------------------------------------------------------

/// Replicas on a network that delivers every message within the same step, in order, unless a
/// replica is down; each persists its Ready before its messages leave.
class Net {
 public:
  explicit Net(std::vector<std::uint32_t> voters) : voters_(std::move(voters)) {
    for (auto id : voters_) start(id, false);
  }
  /// Starts replica `id` on its store (a new, empty one the first time).
  void start(std::uint32_t id, bool joining) {
    Node& n = nodes_[id];
    if (!n.store) n.store = std::make_unique<MemoryLogStore>();
    RaftConfig c;
    c.id = id;
    c.members = voters_;
    c.jitter_ms = 0;
    c.transfer = false;  // leadership moves only where a test says
    c.joining = joining;
    n.core = std::make_unique<RaftCore>(c, *n.store, now_);
    n.up = true;
  }
  /// Stops replica `id`; what it sent and is not yet delivered is lost with it.
  void stop(std::uint32_t id) {
    nodes_[id].up = false;
    nodes_[id].core.reset();
    std::erase_if(wire_, [id](const auto& w) { return w.first == id; });
  }
  /// Advances the clock by `ms` in 10 ms steps, delivering everything.
  void run(std::uint64_t ms) {
    for (std::uint64_t t = 0; t < ms; t += 10) {
      now_ += 10;
      for (auto& [id, n] : nodes_) {
        if (!n.up) continue;
        n.core->tick(now_);
        drain(id);
      }
      while (!wire_.empty()) {
        Outgoing o = std::move(wire_.front().second);
        const std::uint32_t from = wire_.front().first;
        wire_.pop_front();
        (void)from;
        auto it = nodes_.find(o.to);
        if (it == nodes_.end() || !it->second.up) continue;
        it->second.core->receive(o.message, now_);
        drain(o.to);
      }
    }
  }
  RaftCore& core(std::uint32_t id) { return *nodes_.at(id).core; }
  MemoryLogStore& store(std::uint32_t id) { return *nodes_.at(id).store; }
  std::uint32_t leader() {
    for (auto& [id, n] : nodes_) {
      if (n.up && n.core->role() == RaftRole::kLeader) return id;
    }
    return 0;
  }
  /// Proposes `count` orders at the leader; returns the last one's index.
  std::uint64_t propose(int count) {
    std::uint64_t index = 0;
    for (int k = 0; k < count; ++k) {
      EXPECT_EQ(core(leader()).propose(testing::order_entry(0), index), ProposeOutcome::kAccepted);
    }
    drain(leader());
    return index;
  }
  MembershipOutcome change(const Membership& next) {
    std::uint64_t index = 0;
    const std::uint32_t l = leader();
    const MembershipOutcome o = core(l).propose_membership(next, index);
    drain(l);
    return o;
  }
  std::vector<Outgoing> sent;  // every message, for the tests that look at them

 private:
  struct Node {
    bool up = false;
    std::unique_ptr<MemoryLogStore> store;
    std::unique_ptr<RaftCore> core;
  };
  void drain(std::uint32_t id) {
    Ready r = persist(*nodes_.at(id).core, *nodes_.at(id).store);
    for (auto& o : r.messages) {
      sent.push_back(o);
      wire_.emplace_back(id, std::move(o));
    }
  }
  std::vector<std::uint32_t> voters_;
  std::map<std::uint32_t, Node> nodes_;
  std::deque<std::pair<std::uint32_t, Outgoing>> wire_;
  std::uint64_t now_ = 1;
};

Membership voters(std::vector<std::uint32_t> ids) {
  return Membership::of_voters(ids);
}
Membership with_learner(const Membership& m, std::uint32_t id) {
  return m.with({.id = id, .voter = false, .endpoint = ""});
}

/// Replica `id`'s store: `orders` committed orders of term 1 after a committed configuration
/// entry (index 1) of voters 1, 2, 3 and learner 4.
MemoryLogStore store_with_learner() {
  proto::LogEntry config;
  config.term = 1;
  config.kind = proto::LogEntry::kConfig;
  config.name = with_learner(voters({1, 2, 3}), 4).encode();
  std::vector<proto::LogEntry> log{config};
  for (int k = 0; k < 5; ++k) log.push_back(testing::order_entry(1, "r" + std::to_string(k)));
  MemoryLogStore store({1, -1}, log, log.size());
  LogWrite w;
  w.config_index = 1;
  EXPECT_EQ(store.write(w), WriteOutcome::kWritten);
  return store;
}

RaftConfig plain(std::uint32_t id) {
  RaftConfig c;
  c.id = id;
  c.members = {1, 2, 3};  // overridden by the store's configuration
  c.jitter_ms = 0;
  c.priority_step_ms = 0;
  c.transfer = false;
  return c;
}

/// Replica 1 made leader of term 2 by hand over store_with_learner() (replica 2 votes).
struct Leader {
  Leader() : store(store_with_learner()), core(plain(1), store, 0) {
    core.tick(now += 10000);
    persist(core, store);
    core.receive(proto::VoteReply{2, 2, true, true}, now);
    persist(core, store);
    core.receive(proto::VoteReply{2, 2, true, false}, now);
    persist(core, store);
    EXPECT_EQ(core.role(), RaftRole::kLeader);
  }
  Ready ack(std::uint32_t from, std::uint64_t match) {
    core.receive(proto::AppendReply{.term = 2,
                                    .from = from,
                                    .success = true,
                                    .match_index = match,
                                    .next_index = match + 1},
                 now);
    return persist(core, store);
  }
  MemoryLogStore store;
  RaftCore core;
  std::uint64_t now = 1;
};

// A learner gets the log (the leader keeps its progress and sends it appends) but never counts:
// its acknowledgement alone commits nothing, a voter's does.
TEST(RaftMembership, ALearnerReceivesTheLogButDoesNotCount) {
  Leader l;
  EXPECT_EQ(l.core.membership(), with_learner(voters({1, 2, 3}), 4));
  ASSERT_EQ(l.core.match_indexes().count(4), 1u);
  const std::uint64_t noop = l.core.last_index();
  EXPECT_EQ(l.core.commit_index(), 6u);
  l.ack(4, noop);
  EXPECT_EQ(l.core.commit_index(), 6u) << "a learner's acknowledgement committed the no-op";
  l.ack(2, noop);
  EXPECT_EQ(l.core.commit_index(), noop);
}

// The leader proposes nothing (no configuration change either) before its term's first entry
// commits: the rule that keeps one-at-a-time changes safe across leader changes (Raft errata).
// Once it has, it promotes the learner that keeps up, by itself.
TEST(RaftMembership, ANewLeaderWaitsForItsFirstEntryThenPromotesACaughtUpLearner) {
  Leader l;
  std::uint64_t index = 0;
  EXPECT_EQ(l.core.propose_membership(voters({1, 2, 3}), index), MembershipOutcome::kPending);
  const std::uint64_t noop = l.core.last_index();
  l.ack(2, noop);
  l.ack(4, noop);
  l.core.tick(l.now += 10);
  persist(l.core, l.store);
  ASSERT_EQ(l.core.last_index(), noop + 1) << "no promotion proposed";
  const proto::LogEntry e = l.core.entry(noop + 1);
  EXPECT_EQ(e.kind, proto::LogEntry::kConfig);
  EXPECT_EQ(Membership::decode(e.name), voters({1, 2, 3, 4}));
  EXPECT_EQ(l.core.membership(), voters({1, 2, 3, 4})) << "in force once in the log";
  EXPECT_EQ(l.store.config_index(), 1u);
  l.ack(2, noop + 1);
  EXPECT_EQ(l.core.commit_index(), noop) << "four voters now: two are no majority";
  l.ack(4, noop + 1);
  EXPECT_EQ(l.core.commit_index(), noop + 1);
  EXPECT_EQ(l.store.config_index(), noop + 1) << "persisted with the commit that committed it";
}

// A learner never campaigns, however long it hears nothing.
TEST(RaftMembership, ALearnerNeverCampaigns) {
  MemoryLogStore store = store_with_learner();
  RaftCore core(plain(4), store, 0);
  EXPECT_TRUE(core.learner());
  for (std::uint64_t t = 1000; t < 20000; t += 1000) {
    core.tick(t);
    EXPECT_TRUE(persist(core, store).messages.empty());
  }
  EXPECT_EQ(core.term(), 1u);
}

// Raft thesis §4.2.1: the leader promotes a learner once it has caught up, with nothing asked of
// the operator; from then on it counts, and one voter more is needed for a majority.
TEST(RaftMembership, ALearnerThatCaughtUpIsPromotedAndThenCounts) {
  Net net({1, 2, 3});
  net.run(2000);
  net.propose(40);
  net.run(100);
  net.start(4, true);
  ASSERT_EQ(net.change(with_learner(voters({1, 2, 3}), 4)), MembershipOutcome::kAccepted);
  net.run(500);
  EXPECT_EQ(net.core(3).membership(), voters({1, 2, 3, 4}));
  EXPECT_EQ(net.core(4).membership(), voters({1, 2, 3, 4}));
  EXPECT_FALSE(net.core(4).learner());
  EXPECT_EQ(net.core(4).commit_index(), net.core(3).commit_index());
  // Four voters: two of them are no majority any more.
  net.stop(1);
  net.stop(2);
  const std::uint64_t commit = net.core(3).commit_index();
  net.propose(1);
  net.run(100);
  EXPECT_EQ(net.core(3).commit_index(), commit);
  net.start(2, false);
  net.run(200);
  EXPECT_GT(net.core(3).commit_index(), commit) << "three of four are";
}

// One change at a time: a second proposal waits until the first has committed; and after an
// election, until the new leader's first entry has.
TEST(RaftMembership, OneChangeAtATime) {
  Net net({1, 2, 3});
  net.run(2000);
  const std::uint32_t l = net.leader();
  net.stop(1);
  net.stop(2);  // nothing commits
  ASSERT_EQ(net.change(voters({1, 2, 3}).without(1)), MembershipOutcome::kAccepted);
  // In force at once (asking again is no change), but a second change waits for its commit.
  EXPECT_EQ(net.change(voters({2, 3})), MembershipOutcome::kUnchanged);
  EXPECT_EQ(net.change(voters({3})), MembershipOutcome::kPending);
  EXPECT_EQ(net.change(voters({1, 2, 3})), MembershipOutcome::kInvalid) << "a voter added directly";
  net.start(2, false);
  net.run(300);
  EXPECT_EQ(net.core(l).membership(), voters({2, 3}));
  EXPECT_EQ(net.core(l).commit_index(), net.core(l).membership_index());
  EXPECT_EQ(net.change(voters({2, 3}).without(2)), MembershipOutcome::kAccepted);
}

// A removed follower no longer counts: after removing a dead voter, two of two commit. And the
// leader stops sending it anything.
TEST(RaftMembership, RemovingADeadVoterShrinksTheMajority) {
  Net net({1, 2, 3, 4, 5});
  net.run(3000);
  ASSERT_EQ(net.leader(), 5u);
  net.stop(1);
  net.stop(2);
  ASSERT_EQ(net.change(voters({1, 2, 3, 4, 5}).without(1)), MembershipOutcome::kAccepted);
  net.run(100);
  ASSERT_EQ(net.change(voters({2, 3, 4, 5})), MembershipOutcome::kUnchanged);
  ASSERT_EQ(net.change(voters({2, 3, 4, 5}).without(2)), MembershipOutcome::kAccepted);
  net.run(100);
  EXPECT_EQ(net.core(5).membership(), voters({3, 4, 5}));
  net.stop(3);  // 4 and 5 of {3, 4, 5}
  const std::uint64_t index = net.propose(3);
  net.run(100);
  EXPECT_EQ(net.core(5).commit_index(), index);
  EXPECT_EQ(net.core(5).match_indexes().count(1), 0u) << "no progress kept for a removed replica";
}

// A leader that commits its own removal steps down and asks the most up-to-date voter to
// campaign at once (TimeoutNow), so the cluster does not wait an election timeout.
TEST(RaftMembership, ALeaderRemovingItselfHandsOfficeOn) {
  Net net({1, 2, 3});
  net.run(2000);
  ASSERT_EQ(net.leader(), 3u);
  net.propose(10);
  net.run(100);
  const std::uint64_t term = net.core(3).term();
  const std::size_t before = net.sent.size();
  ASSERT_EQ(net.change(voters({1, 2})), MembershipOutcome::kAccepted);
  EXPECT_TRUE(net.core(3).learner()) << "the removal is in force once in the log";
  net.run(20);
  const std::uint32_t next = net.core(2).role() == RaftRole::kLeader ? 2 : 1;
  EXPECT_EQ(net.core(next).role(), RaftRole::kLeader)
      << "a new leader within two steps, not an election timeout";
  bool timeout_now = false;
  for (std::size_t k = before; k < net.sent.size(); ++k) {
    timeout_now |=
        net.sent[k].to != 3 && std::holds_alternative<proto::TimeoutNow>(net.sent[k].message);
  }
  EXPECT_TRUE(timeout_now);
  EXPECT_EQ(net.core(next).term(), term + 1);
  net.run(3000);
  EXPECT_NE(net.core(3).role(), RaftRole::kLeader) << "a removed replica never campaigns";
  EXPECT_NE(net.leader(), 3u);
}

// The configuration in force is the store's (LogStore::config_index), not the one the replica is
// started with, and a restart reads it without scanning the log.
TEST(RaftMembership, TheConfigurationInForceSurvivesARestart) {
  Net net({1, 2, 3});
  net.run(2000);
  ASSERT_EQ(net.change(voters({1, 2, 3}).without(1)), MembershipOutcome::kAccepted);
  net.run(100);
  EXPECT_GT(net.store(2).config_index(), 0u);
  net.stop(2);
  net.start(2, false);  // started with members {1, 2, 3}
  EXPECT_EQ(net.core(2).membership(), voters({2, 3}));
  EXPECT_EQ(net.core(2).membership_index(), net.store(2).config_index());
}

// An uncommitted configuration entry is in force after a restart too (the core reads the log past
// the commit index), and a truncation that cuts it off puts the one before back in force.
TEST(RaftMembership, AnUncommittedConfigurationIsInForceUntilCutOff) {
  Net net({1, 2, 3});
  net.run(2000);
  ASSERT_EQ(net.leader(), 3u);
  net.stop(1);
  net.stop(2);
  ASSERT_EQ(net.change(voters({1, 2, 3}).without(1)), MembershipOutcome::kAccepted);
  const std::uint64_t index = net.core(3).membership_index();
  EXPECT_GT(index, net.core(3).commit_index());
  net.stop(3);
  net.start(3, false);
  EXPECT_EQ(net.core(3).membership(), voters({2, 3}));
  EXPECT_EQ(net.core(3).membership_index(), index);
  // 1 and 2 elect one of them (3 is down) and overwrite 3's uncommitted tail.
  net.stop(3);
  net.start(1, false);
  net.start(2, false);
  net.run(3000);
  ASSERT_NE(net.leader(), 0u);
  net.propose(3);
  net.start(3, false);
  net.run(500);
  EXPECT_EQ(net.core(3).membership(), voters({1, 2, 3})) << "the cut-off configuration is gone";
  EXPECT_EQ(net.core(3).commit_index(), net.core(net.leader()).commit_index());
}

}  // namespace
}  // namespace bazaar::raft
