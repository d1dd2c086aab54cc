// Rule tests of the replication core (raft/raft_core.h), one a rule of §5 of the Raft paper
// ("In Search of an Understandable Consensus Algorithm", extended version), in the manner of etcd
// raft's raft_paper_test.go. Where the simulation (order_raft_sim_test.cpp) checks that a run
// never breaks a safety property, these pin each rule that the properties rest on to the message
// that exercises it, so a broken rule names itself. Each test names its section.
//
// Bazaar's core adds pre-vote, check-quorum, a leader lease and leadership transfer (Raft thesis
// §9.6, §6.2, §3.10); these tests switch off what they can (transfer, jitter, priority) and go
// around the rest: elections start from a timeout and pass the pre-vote round, and votes are
// asked of replicas that have heard no leader (the lease refuses them otherwise).
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/memory_log_store.h"
#include "raft/raft_core.h"
#include "raft_test_support.h"

namespace bazaar::raft {
namespace {

using testing::order_entry;

constexpr std::uint64_t kHeartbeatMs = 50;
constexpr std::uint64_t kElectionMs = 300;

RaftConfig paper_config(std::uint32_t id, std::size_t replicas) {
  RaftConfig c;
  c.id = id;
  for (std::uint32_t k = 1; k <= replicas; ++k) c.members.push_back(k);
  c.heartbeat_ms = kHeartbeatMs;
  c.election_ms = kElectionMs;
  c.priority_step_ms = 0;  // every replica times out alike: the test picks who campaigns
  c.jitter_ms = 0;
  c.transfer = false;
  return c;
}

/// A log whose entries have these terms (index 1 first); order numbers in sequence.
std::vector<proto::LogEntry> log_of_terms(const std::vector<std::uint64_t>& terms) {
  std::vector<proto::LogEntry> log;
  for (auto t : terms) {
    std::string id = "r";
    id += std::to_string(log.size() + 1);
    log.push_back(order_entry(t, id));
    log.back().order_number = static_cast<std::int64_t>(log.size() - 1);
  }
  return log;
}

std::vector<std::uint64_t> terms_of(const std::vector<proto::LogEntry>& log) {
  std::vector<std::uint64_t> terms;
  for (const auto& e : log) terms.push_back(e.term);
  return terms;
}

/// The messages of type T in `r`, with their destinations.
template <class T>
std::vector<std::pair<std::uint32_t, T>> sent(const Ready& r) {
  std::vector<std::pair<std::uint32_t, T>> out;
  for (const auto& o : r.messages) {
    if (const auto* m = std::get_if<T>(&o.message)) out.emplace_back(o.to, *m);
  }
  return out;
}

/// What one replica keeps across a crash (a snapshot of its store).
struct Disk {
  HardState hard;
  std::vector<proto::LogEntry> log;
  std::uint64_t commit = 0;
};

/// Every entry of `c`'s log, from its tail and its store.
std::vector<proto::LogEntry> log_of(const RaftCore& c) {
  return c.entries(1, c.last_index() + 1);
}

/// The shared test network: replicas 1..n on one clock, each persisting to its own Disk. Tests
/// either step one replica with a hand-made message and look at what it would do (step, tick),
/// or let the network carry every message at once until it is quiet (settle). Links can be cut.
class Network {
 public:
  explicit Network(const std::vector<Disk>& disks) {
    for (const auto& d : disks)
      stores_.push_back(std::make_unique<MemoryLogStore>(d.hard, d.log, d.commit));
    for (std::uint32_t id = 1; id <= stores_.size(); ++id) restart(id);
  }
  static Network of(std::size_t replicas) { return Network(std::vector<Disk>(replicas)); }

  std::uint32_t size() const { return static_cast<std::uint32_t>(stores_.size()); }
  RaftCore& core(std::uint32_t id) { return *cores_.at(id); }
  /// What replica `id` has persisted.
  Disk disk(std::uint32_t id) const {
    const MemoryLogStore& s = *stores_.at(id - 1);
    const EntriesRead all = s.entries(1, s.last_index() + 1, SIZE_MAX);
    return Disk{s.hard_state(), all.entries, s.commit_index()};
  }
  std::uint64_t now() const { return now_; }

  /// Replica `id` crashes and starts again from its disk.
  void restart(std::uint32_t id) {
    cores_[id] = std::make_unique<RaftCore>(paper_config(id, size()), *stores_.at(id - 1), now_);
  }

  /// Delivers `m` to `to` and returns its Ready (persisted; its messages are not delivered).
  Ready step(std::uint32_t to, const PeerMessage& m) {
    core(to).receive(m, now_);
    return drain(to);
  }
  /// Moves the clock on by `ms`, ticks only `id` and returns its Ready (persisted, not sent).
  Ready tick(std::uint32_t id, std::uint64_t ms) {
    now_ += ms;
    core(id).tick(now_);
    return drain(id);
  }
  /// Takes and persists `id`'s Ready, as the I/O shell does before sending anything.
  Ready drain(std::uint32_t id) { return testing::persist(core(id), *stores_.at(id - 1)); }

  /// Sends `r`'s messages from `from` (over the links that are up).
  void send(std::uint32_t from, const Ready& r) {
    for (const auto& o : r.messages) {
      if (linked(from, o.to)) wire_.push_back({from, o.to, o.message});
    }
  }
  /// Carries every message (and every reply it causes) at the current time until none is left.
  void settle() {
    for (int round = 0; round < 100000; ++round) {
      for (auto& [id, c] : cores_) send(id, drain(id));
      if (wire_.empty()) return;
      const Packet p = std::move(wire_.front());
      wire_.pop_front();
      core(p.to).receive(p.message, now_);
      send(p.to, drain(p.to));
    }
    ADD_FAILURE() << "the network did not settle";
  }
  /// Lets `id` time out (it alone: the others' timers are left alone) and settles: with the
  /// votes of a majority, it leads.
  void elect(std::uint32_t id) {
    send(id, tick(id, 10 * kElectionMs));
    settle();
  }
  /// Runs the clock for `ms`, ticking every replica each millisecond and settling after each.
  void run(std::uint64_t ms) {
    for (std::uint64_t k = 0; k < ms; ++k) {
      ++now_;
      for (auto& [id, c] : cores_) c->tick(now_);
      settle();
    }
  }
  /// Proposes an order at `id` (its leader) and settles; returns its index.
  std::uint64_t propose(std::uint32_t id, const std::string& request_id) {
    std::uint64_t index = 0;
    EXPECT_EQ(core(id).propose(order_entry(0, request_id), index), ProposeOutcome::kAccepted);
    settle();
    return index;
  }

  void isolate(std::uint32_t id) { isolated_.insert(id); }
  void heal() { isolated_.clear(); }

 private:
  struct Packet {
    std::uint32_t from;
    std::uint32_t to;
    PeerMessage message;
  };
  bool linked(std::uint32_t a, std::uint32_t b) const {
    return !isolated_.contains(a) && !isolated_.contains(b);
  }

  std::vector<std::unique_ptr<MemoryLogStore>> stores_;  // replica id - 1 -> its disk
  std::map<std::uint32_t, std::unique_ptr<RaftCore>> cores_;
  std::deque<Packet> wire_;
  std::set<std::uint32_t> isolated_;
  std::uint64_t now_ = 1;
};

/// Makes replica `id` of `net` leader by hand (the other replicas not involved): it times out,
/// and every peer grants its pre-vote and then its vote. Returns the Ready of its first term
/// (its no-op and the appends that carry it), not sent.
Ready lead_by_hand(Network& net, std::uint32_t id) {
  RaftCore& c = net.core(id);
  net.tick(id, 10 * kElectionMs);
  const std::uint64_t term = c.term() + 1;  // the pre-vote raised none yet
  Ready last;
  for (std::uint32_t p = 1; c.role() != RaftRole::kLeader && p <= net.size(); ++p) {
    if (p == id) continue;
    if (c.role() == RaftRole::kPreCandidate) net.step(id, proto::VoteReply{term, p, true, true});
    if (c.role() == RaftRole::kCandidate)
      last = net.step(id, proto::VoteReply{term, p, true, false});
  }
  EXPECT_EQ(c.role(), RaftRole::kLeader);
  return last;
}

// ---- §5.1 terms -------------------------------------------------------------------------------

// §5.1: "If a server receives a request with a stale term number, it rejects the request."
TEST(RaftPaper, StaleTermAppendIsRefused) {
  Network net({Disk{{3, -1}, log_of_terms({1, 2}), 0}, Disk{}, Disk{}});
  const Ready r = net.step(1, proto::AppendEntries{2, 2, 2, 2, log_of_terms({2}), 2, 0});
  const auto replies = sent<proto::AppendReply>(r);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].second.success);
  EXPECT_EQ(replies[0].second.term, 3u);  // tells the stale leader the term it missed
  EXPECT_EQ(terms_of(log_of(net.core(1))), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(net.core(1).commit_index(), 0u);
  EXPECT_EQ(net.core(1).leader_id(), -1);
}

TEST(RaftPaper, StaleTermVoteIsRefused) {
  Network net({Disk{{3, -1}, {}, 0}, Disk{}, Disk{}});
  const Ready r = net.step(1, proto::RequestVote{2, 2, 0, 0, false, false});
  const auto replies = sent<proto::VoteReply>(r);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].second.granted);
  EXPECT_EQ(replies[0].second.term, 3u);
  EXPECT_EQ(net.disk(1).hard.voted_for, -1);
}

// §5.1: a vote reply of an older term counts for nothing in this term's election.
TEST(RaftPaper, StaleTermVoteReplyIsNotCounted) {
  Network net = Network::of(3);
  net.tick(1, 10 * kElectionMs);
  net.step(1, proto::VoteReply{1, 2, true, true});  // pre-vote passes: campaigns in term 1
  ASSERT_EQ(net.core(1).role(), RaftRole::kCandidate);
  ASSERT_EQ(net.core(1).term(), 1u);
  net.step(1, proto::VoteReply{0, 2, true, false});
  net.step(1, proto::VoteReply{0, 3, true, false});
  EXPECT_EQ(net.core(1).role(), RaftRole::kCandidate);
}

// §5.1: "If a candidate or leader discovers that its term is out of date, it immediately
// reverts to follower state"; and any server adopts a larger term it sees (current term and
// the vote, reset, are persisted before anything else happens).
TEST(RaftPaper, HigherTermMakesAFollowerOfEveryRole) {
  for (const RaftRole role : {RaftRole::kFollower, RaftRole::kCandidate, RaftRole::kLeader}) {
    SCOPED_TRACE(to_string(role));
    Network net = Network::of(3);
    if (role == RaftRole::kCandidate) {
      net.tick(1, 10 * kElectionMs);
      net.step(1, proto::VoteReply{1, 2, true, true});
    } else if (role == RaftRole::kLeader) {
      lead_by_hand(net, 1);
    }
    ASSERT_EQ(net.core(1).role(), role);
    // From the leader of term 7 (a follower adopts its term and its leadership) ...
    Ready r = net.step(1, proto::AppendEntries{7, 2, 0, 0, {}, 0, 0});
    EXPECT_EQ(net.core(1).role(), RaftRole::kFollower);
    EXPECT_EQ(net.core(1).term(), 7u);
    EXPECT_EQ(net.core(1).leader_id(), 2);
    ASSERT_TRUE(r.hard_state);
    EXPECT_EQ(*r.hard_state, (HardState{7, -1}));
    EXPECT_EQ(net.disk(1).hard, (HardState{7, -1}));
  }
}

TEST(RaftPaper, LeaderStepsDownOnAHigherTermInAReply) {
  Network net = Network::of(3);
  lead_by_hand(net, 1);
  const std::uint64_t term = net.core(1).term();
  const Ready r = net.step(1, proto::AppendReply{term + 3, 2, false, 0, 1, 0});
  EXPECT_EQ(net.core(1).role(), RaftRole::kFollower);
  EXPECT_EQ(net.core(1).term(), term + 3);
  ASSERT_TRUE(r.hard_state);
  EXPECT_EQ(r.hard_state->voted_for, -1);
}

// ---- §5.2 leader election ---------------------------------------------------------------------

// §5.2: "If a follower receives no communication over a period of time called the election
// timeout, then it ... begins an election" (here after the pre-vote round, thesis §9.6).
TEST(RaftPaper, FollowerCampaignsAfterTheElectionTimeout) {
  Network net = Network::of(3);
  Ready r = net.tick(1, kElectionMs - 2);
  EXPECT_TRUE(sent<proto::RequestVote>(r).empty());
  r = net.tick(1, 3);
  const auto asks = sent<proto::RequestVote>(r);
  ASSERT_EQ(asks.size(), 2u);
  for (const auto& [to, m] : asks) {
    EXPECT_TRUE(m.pre_vote);
    EXPECT_EQ(m.term, 1u);
    EXPECT_EQ(m.candidate, 1u);
  }
  EXPECT_EQ(net.core(1).term(), 0u);  // a pre-vote raises no term
  r = net.step(1, proto::VoteReply{1, 2, true, true});
  // "To begin an election, a follower increments its current term ... votes for itself and
  // issues RequestVote RPCs in parallel to each of the other servers".
  EXPECT_EQ(net.core(1).role(), RaftRole::kCandidate);
  EXPECT_EQ(net.core(1).term(), 1u);
  ASSERT_TRUE(r.hard_state);
  EXPECT_EQ(*r.hard_state, (HardState{1, 1}));
  const auto votes = sent<proto::RequestVote>(r);
  ASSERT_EQ(votes.size(), 2u);
  for (const auto& [to, m] : votes) {
    EXPECT_FALSE(m.pre_vote);
    EXPECT_EQ(m.term, 1u);
  }
}

// §5.2: "A candidate wins an election if it receives votes from a majority of the servers in the
// full cluster for the same term."
TEST(RaftPaper, CandidateWinsWithAMajorityAndNotBefore) {
  Network net = Network::of(5);
  net.tick(1, 10 * kElectionMs);
  net.step(1, proto::VoteReply{1, 2, true, true});
  net.step(1, proto::VoteReply{1, 3, true, true});
  ASSERT_EQ(net.core(1).role(), RaftRole::kCandidate);
  net.step(1, proto::VoteReply{1, 2, true, false});
  net.step(1, proto::VoteReply{1, 4, false, false});
  net.step(1, proto::VoteReply{1, 2, true, false});  // one voter counts once
  EXPECT_EQ(net.core(1).role(), RaftRole::kCandidate) << "two votes of five, itself included";
  net.step(1, proto::VoteReply{1, 5, true, false});
  EXPECT_EQ(net.core(1).role(), RaftRole::kLeader);
  EXPECT_EQ(net.core(1).leader_id(), 1);
}

// §5.2: "Each server will vote for at most one candidate in a given term, on a first-come-
// first-served basis", and the vote survives a crash (it is persisted before the reply leaves).
TEST(RaftPaper, OneVotePerTermAlsoAcrossARestart) {
  Network net = Network::of(3);
  Ready r = net.step(1, proto::RequestVote{5, 2, 0, 0, false, false});
  ASSERT_EQ(sent<proto::VoteReply>(r).size(), 1u);
  EXPECT_TRUE(sent<proto::VoteReply>(r)[0].second.granted);
  ASSERT_TRUE(r.hard_state) << "the vote must be persisted with the reply that grants it";
  EXPECT_EQ(*r.hard_state, (HardState{5, 2}));

  r = net.step(1, proto::RequestVote{5, 3, 0, 0, false, false});
  EXPECT_FALSE(sent<proto::VoteReply>(r)[0].second.granted);
  r = net.step(1, proto::RequestVote{5, 2, 0, 0, false, false});
  EXPECT_TRUE(sent<proto::VoteReply>(r)[0].second.granted) << "the same candidate again";

  net.restart(1);
  r = net.step(1, proto::RequestVote{5, 3, 0, 0, false, false});
  EXPECT_FALSE(sent<proto::VoteReply>(r)[0].second.granted) << "the vote was forgotten";
  r = net.step(1, proto::RequestVote{6, 3, 0, 0, false, false});
  EXPECT_TRUE(sent<proto::VoteReply>(r)[0].second.granted) << "a new term, a new vote";
}

// §5.2: "If the AppendEntries RPC is from a leader whose term is at least as large as the
// candidate's current term, then the candidate ... returns to follower state."
TEST(RaftPaper, CandidateYieldsToALeaderOfItsTerm) {
  Network net = Network::of(3);
  net.tick(1, 10 * kElectionMs);
  net.step(1, proto::VoteReply{1, 2, true, true});
  ASSERT_EQ(net.core(1).role(), RaftRole::kCandidate);
  const Ready r = net.step(1, proto::AppendEntries{1, 3, 0, 0, {}, 0, 0});
  EXPECT_EQ(net.core(1).role(), RaftRole::kFollower);
  EXPECT_EQ(net.core(1).term(), 1u);
  EXPECT_EQ(net.core(1).leader_id(), 3);
  ASSERT_EQ(sent<proto::AppendReply>(r).size(), 1u);
  EXPECT_TRUE(sent<proto::AppendReply>(r)[0].second.success);
}

// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
// followers in order to maintain their authority."
TEST(RaftPaper, LeaderSendsHeartbeats) {
  Network net = Network::of(3);
  net.elect(1);
  ASSERT_EQ(net.core(1).role(), RaftRole::kLeader);
  Ready r = net.tick(1, kHeartbeatMs);
  const auto beats = sent<proto::AppendEntries>(r);
  ASSERT_EQ(beats.size(), 2u);
  for (const auto& [to, m] : beats) {
    EXPECT_TRUE(m.entries.empty());
    EXPECT_EQ(m.term, net.core(1).term());
    EXPECT_EQ(m.commit, net.core(1).commit_index());
  }
}

// §5.2 with the network: one election, one leader; everyone else follows it in its term.
TEST(RaftPaper, ElectionInOneRound) {
  Network net = Network::of(5);
  net.elect(3);
  for (std::uint32_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(net.core(id).term(), 1u);
    EXPECT_EQ(net.core(id).leader_id(), 3);
    EXPECT_EQ(net.core(id).role(), id == 3 ? RaftRole::kLeader : RaftRole::kFollower);
  }
}

// ---- §5.3 log replication ---------------------------------------------------------------------

// §5.3: "the leader appends the command to its log as a new entry, then issues AppendEntries
// RPCs in parallel to each of the other servers"; the entry carries the leader's term.
TEST(RaftPaper, LeaderReplicatesAProposal) {
  Network net = Network::of(3);
  net.elect(1);
  const std::uint64_t last = net.core(1).last_index();
  std::uint64_t index = 0;
  ASSERT_EQ(net.core(1).propose(order_entry(0, "a"), index), ProposeOutcome::kAccepted);
  EXPECT_EQ(index, last + 1);
  const Ready r = net.drain(1);
  ASSERT_EQ(r.entries.size(), 1u) << "persisted by the leader too";
  EXPECT_EQ(r.first_index, index);
  const auto appends = sent<proto::AppendEntries>(r);
  ASSERT_EQ(appends.size(), 2u);
  for (const auto& [to, m] : appends) {
    EXPECT_EQ(m.prev_index, last);
    EXPECT_EQ(m.prev_term, net.core(1).entry(last).term);
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(m.entries[0].term, net.core(1).term());
    EXPECT_EQ(m.entries[0].request_id, "a");
  }
}

// §5.3: "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers"; not before.
TEST(RaftPaper, LeaderCommitsOnAMajority) {
  Network net = Network::of(5);
  net.elect(1);
  const std::uint64_t committed = net.core(1).commit_index();
  std::uint64_t index = 0;
  ASSERT_EQ(net.core(1).propose(order_entry(0, "a"), index), ProposeOutcome::kAccepted);
  net.drain(1);
  const std::uint64_t term = net.core(1).term();
  net.step(1, proto::AppendReply{term, 2, true, index, index + 1, 0});
  EXPECT_EQ(net.core(1).commit_index(), committed) << "two of five";
  net.step(1, proto::AppendReply{term, 2, true, index, index + 1, 0});
  EXPECT_EQ(net.core(1).commit_index(), committed) << "one follower acknowledging twice";
  net.step(1, proto::AppendReply{term, 3, false, 0, index, 0});
  EXPECT_EQ(net.core(1).commit_index(), committed) << "a refusal is no acknowledgement";
  const Ready r = net.step(1, proto::AppendReply{term, 4, true, index, index + 1, 0});
  EXPECT_EQ(net.core(1).commit_index(), index);
  EXPECT_TRUE(r.commit_changed);
  EXPECT_EQ(net.disk(1).commit, index);
}

// §5.3: committing an entry "also commits all preceding entries in the leader's log", and
// followers learn the commit index from later AppendEntries.
TEST(RaftPaper, CommitCarriesEarlierEntriesAndReachesFollowers) {
  Network net = Network::of(3);
  net.elect(1);
  const std::uint64_t before = net.core(1).commit_index();
  std::uint64_t index = 0;
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_EQ(net.core(1).propose(order_entry(0, id), index), ProposeOutcome::kAccepted);
  }
  const Ready r = net.drain(1);
  // Replica 2 takes its append; its one reply acknowledges a, b and c.
  Ready reply;
  for (const auto& [to, m] : sent<proto::AppendEntries>(r)) {
    if (to == 2) reply = net.step(2, m);
  }
  ASSERT_EQ(sent<proto::AppendReply>(reply).size(), 1u);
  EXPECT_EQ(net.core(1).commit_index(), before);
  net.step(1, sent<proto::AppendReply>(reply)[0].second);
  EXPECT_EQ(net.core(1).commit_index(), index) << "c commits, and a and b with it";
  EXPECT_EQ(net.core(2).commit_index(), before) << "not before the leader says so";
  net.send(1, r);  // the append to 3, late (and again to 2)
  net.settle();
  net.run(2 * kHeartbeatMs);
  for (std::uint32_t id : {2u, 3u}) {
    EXPECT_EQ(net.core(id).commit_index(), index) << id;
    EXPECT_EQ(log_of(net.core(id)), log_of(net.core(1))) << id;
  }
}

// §5.3: a follower commits up to the leader's commit index, and never past the entries the
// message has shown it to share with the leader ("min(leaderCommit, index of last new entry)").
TEST(RaftPaper, FollowerCommitsWhatTheLeaderCommitted) {
  Network net = Network::of(3);
  Ready r = net.step(1, proto::AppendEntries{1, 2, 0, 0, log_of_terms({1, 1, 1}), 1, 0});
  EXPECT_EQ(net.core(1).commit_index(), 1u);
  EXPECT_TRUE(r.commit_changed);
  r = net.step(1, proto::AppendEntries{1, 2, 1, 1, {}, 9, 0});
  EXPECT_EQ(net.core(1).commit_index(), 1u) << "a heartbeat after index 1 proves only index 1";
  r = net.step(1, proto::AppendEntries{1, 2, 3, 1, {}, 9, 0});
  EXPECT_EQ(net.core(1).commit_index(), 3u);
}

// §5.3 consistency check: "If the follower does not find an entry in its log with the same index
// and term, then it refuses the new entries."
TEST(RaftPaper, FollowerChecksThePrecedingEntry) {
  struct Case {
    std::uint64_t prev_index, prev_term;
    bool success;
  };
  for (const Case& c : std::vector<Case>{
           {0, 0, true}, {1, 1, true}, {2, 2, true}, {1, 2, false}, {3, 2, false}, {3, 3, false}}) {
    SCOPED_TRACE(std::to_string(c.prev_index) + "/" + std::to_string(c.prev_term));
    Network net({Disk{{2, -1}, log_of_terms({1, 2}), 1}, Disk{}, Disk{}});
    const Ready r = net.step(1, proto::AppendEntries{2, 2, c.prev_index, c.prev_term, {}, 1, 0});
    const auto replies = sent<proto::AppendReply>(r);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].second.success, c.success);
    EXPECT_EQ(terms_of(log_of(net.core(1))), (std::vector<std::uint64_t>{1, 2}));
    if (!c.success) {
      // The hint, where the leader tries next, is below the refused position.
      EXPECT_LE(replies[0].second.next_index, c.prev_index);
      EXPECT_GE(replies[0].second.next_index, 1u);
    }
  }
}

// §5.3: "If an existing entry conflicts with a new one (same index but different terms), delete
// the existing entry and all that follow it"; entries that match stay, also the ones after.
TEST(RaftPaper, FollowerTruncatesAConflictingTail) {
  struct Case {
    std::uint64_t prev_index, prev_term;
    std::vector<std::uint64_t> entries;
    std::vector<std::uint64_t> want;
    std::optional<std::uint64_t> truncate_from;
  };
  const std::vector<Case> cases{
      {3, 3, {4}, {1, 2, 3, 4}, std::nullopt},  // appended after the last
      {1, 1, {3}, {1, 3}, 2},                   // index 2 conflicts: it and 3 go
      {0, 0, {1, 1, 3, 4}, {1, 1, 3, 4}, 2},    // from 2 on
      {0, 0, {1}, {1, 2, 3}, std::nullopt},     // a shorter old batch truncates nothing
      {1, 1, {2}, {1, 2, 3}, std::nullopt},     // a duplicate neither
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.prev_index) + " + " + std::to_string(c.entries.size()));
    Network net({Disk{{3, -1}, log_of_terms({1, 2, 3}), 0}, Disk{}, Disk{}});
    const Ready r = net.step(
        1, proto::AppendEntries{4, 2, c.prev_index, c.prev_term, log_of_terms(c.entries), 0, 0});
    EXPECT_EQ(terms_of(log_of(net.core(1))), c.want);
    EXPECT_EQ(terms_of(net.disk(1).log), c.want) << "persisted as held";
    EXPECT_EQ(r.truncate_from, c.truncate_from);
  }
}

// §5.3: "A leader never overwrites or deletes entries in its own log" (Leader Append-Only): not
// for a refusal that points below its log, nor for the appends of an older leader.
TEST(RaftPaper, LeaderOnlyAppends) {
  Network net({Disk{{2, -1}, log_of_terms({1, 2}), 0}, Disk{{2, -1}, log_of_terms({1, 2}), 0},
               Disk{{2, -1}, log_of_terms({1, 2}), 0}});
  net.elect(1);
  ASSERT_EQ(net.core(1).role(), RaftRole::kLeader);
  const auto before = log_of(net.core(1));
  const std::uint64_t term = net.core(1).term();
  std::vector<Ready> readies;
  readies.push_back(net.step(1, proto::AppendReply{term, 2, false, 0, 1, 0}));
  readies.push_back(net.step(1, proto::AppendEntries{term - 1, 3, 1, 1, log_of_terms({2}), 0, 0}));
  readies.push_back(net.step(1, proto::AppendEntries{term - 1, 3, 0, 0, log_of_terms({7}), 0, 0}));
  EXPECT_EQ(log_of(net.core(1)), before);
  for (const Ready& r : readies) {
    EXPECT_FALSE(r.truncate_from);
    EXPECT_TRUE(r.entries.empty());
  }
  std::uint64_t index = 0;
  ASSERT_EQ(net.core(1).propose(order_entry(0, "a"), index), ProposeOutcome::kAccepted);
  const Ready r = net.drain(1);
  EXPECT_FALSE(r.truncate_from);
  EXPECT_EQ(r.first_index, before.size() + 1) << "after the log, never into it";
  const auto after = log_of(net.core(1));
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
}

// §5.3, Figure 7: whatever a follower's log holds (entries missing, extra entries, entries of
// terms the leader never saw), the leader's appends make it identical to the leader's log.
TEST(RaftPaper, LeaderBringsEveryFollowerLogOfFigure7InLine) {
  const std::vector<std::uint64_t> leader{1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::vector<std::uint64_t>> followers{
      {1, 1, 1, 4, 4, 5, 5, 6, 6},           // (a) misses an entry
      {1, 1, 1, 4},                          // (b) misses many
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // (c) one extra of the leader's last term
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // (d) two of a term the leader never had
      {1, 1, 1, 4, 4, 4, 4},                 // (e) misses some, has extra of term 4
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},     // (f) a long tail of terms 2 and 3
  };
  for (std::size_t k = 0; k < followers.size(); ++k) {
    SCOPED_TRACE("follower " + std::string(1, static_cast<char>('a' + k)));
    // Replica 3 holds the leader's log and votes for it; the follower (2) may not (d is more up
    // to date than the leader), but one vote besides its own is a majority of three.
    Network net({Disk{{7, -1}, log_of_terms(leader), 0},
                 Disk{{7, -1}, log_of_terms(followers[k]), 0},
                 Disk{{7, -1}, log_of_terms(leader), 0}});
    net.elect(1);
    ASSERT_EQ(net.core(1).role(), RaftRole::kLeader);
    net.run(3 * kHeartbeatMs);
    EXPECT_EQ(log_of(net.core(2)), log_of(net.core(1)));
    EXPECT_EQ(net.disk(2).log, log_of(net.core(1)));
    EXPECT_EQ(net.core(2).commit_index(), net.core(1).last_index());
  }
}

// ---- §5.4 safety ------------------------------------------------------------------------------

// §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
// candidate": a later last term wins; with equal last terms, the longer log.
TEST(RaftPaper, VoteRefusedToALessUpToDateLog) {
  struct Case {
    std::uint64_t last_index, last_term;
    bool granted;
  };
  // The voter's log: terms 1, 2, 2 (last index 3, last term 2).
  for (const Case& c : std::vector<Case>{{3, 2, true},     // as up to date
                                         {4, 2, true},     // longer
                                         {2, 2, false},    // shorter, same last term
                                         {9, 1, false},    // longer, older last term
                                         {0, 0, false},    // empty
                                         {1, 3, true}}) {  // shorter, newer last term
    SCOPED_TRACE(std::to_string(c.last_index) + "/" + std::to_string(c.last_term));
    Network net({Disk{{2, -1}, log_of_terms({1, 2, 2}), 0}, Disk{}, Disk{}});
    for (const bool pre_vote : {true, false}) {
      const Ready r =
          net.step(1, proto::RequestVote{5, 2, c.last_index, c.last_term, pre_vote, false});
      const auto replies = sent<proto::VoteReply>(r);
      ASSERT_EQ(replies.size(), 1u);
      EXPECT_EQ(replies[0].second.granted, c.granted) << (pre_vote ? "pre-vote" : "vote");
    }
    EXPECT_EQ(net.disk(1).hard.voted_for, c.granted ? 2 : -1);
  }
}

// §5.4.1 Election restriction, with the network: a replica whose log lacks a committed entry
// cannot become leader; one that holds them all can.
TEST(RaftPaper, ElectionRestriction) {
  Network net = Network::of(3);
  net.elect(3);
  net.isolate(1);
  const std::uint64_t index = net.propose(3, "a");
  ASSERT_EQ(net.core(3).commit_index(), index) << "committed by 2 and 3";
  ASSERT_LT(net.core(1).last_index(), index);
  net.heal();
  // The leader goes; 1 times out first, and must not win.
  net.isolate(3);
  net.elect(1);
  EXPECT_NE(net.core(1).role(), RaftRole::kLeader);
  EXPECT_NE(net.core(2).role(), RaftRole::kLeader);
  // Its own vote and a forced RequestVote (no pre-vote) get it nowhere either.
  const Ready r = net.step(
      2, proto::RequestVote{net.core(2).term() + 1, 1, net.core(1).last_index(),
                            net.core(1).entry(net.core(1).last_index()).term, false, false});
  EXPECT_FALSE(sent<proto::VoteReply>(r)[0].second.granted);
  net.elect(2);
  EXPECT_EQ(net.core(2).role(), RaftRole::kLeader);
  EXPECT_GE(net.core(2).last_index(), index);
  EXPECT_EQ(net.core(2).entry(index).request_id, "a");
}

// §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only log
// entries from the leader's current term are committed by counting replicas"; the earlier ones
// commit with the first entry of its own term (here its no-op).
TEST(RaftPaper, OnlyEntriesOfTheCurrentTermCommitByCounting) {
  Network net({Disk{{2, -1}, log_of_terms({1, 2}), 0}, Disk{}, Disk{}});
  lead_by_hand(net, 1);
  const std::uint64_t term = net.core(1).term();
  ASSERT_EQ(term, 3u);
  ASSERT_EQ(net.core(1).last_index(), 3u);  // 1, 2 and its no-op of term 3
  ASSERT_EQ(net.core(1).entry(3).term, 3u);
  net.step(1, proto::AppendReply{term, 2, true, 2, 3, 0});
  EXPECT_EQ(net.core(1).commit_index(), 0u)
      << "entry 2 (term 2) is on a majority, but is not of this term";
  net.step(1, proto::AppendReply{term, 3, true, 2, 3, 0});
  EXPECT_EQ(net.core(1).commit_index(), 0u);
  net.step(1, proto::AppendReply{term, 2, true, 3, 4, 0});
  EXPECT_EQ(net.core(1).commit_index(), 3u) << "the no-op commits, and 1 and 2 with it";
}

// §5.4.2, Figure 8: S1 led term 2 and replicated its entry 2 to S2 only; S5 led term 3 with an
// entry 2 of its own. Now S1 leads term 4 and gets its entry 2 onto S3 too: a majority holds it,
// yet S5 could still be elected by S2, S3 and S4 (its last term, 3, beats 2) and overwrite it.
// So S1 must neither count it committed nor tell anyone it is.
TEST(RaftPaper, Figure8OldTermEntryOnAMajorityIsNotCommitted) {
  Network net({Disk{{3, -1}, log_of_terms({1, 2}), 0}, Disk{{2, -1}, log_of_terms({1, 2}), 0},
               Disk{{2, -1}, log_of_terms({1}), 0}, Disk{{3, -1}, log_of_terms({1}), 0},
               Disk{{3, -1}, log_of_terms({1, 3}), 0}});
  lead_by_hand(net, 1);
  const std::uint64_t term = net.core(1).term();
  ASSERT_EQ(term, 4u);
  net.step(1, proto::AppendReply{term, 2, true, 2, 3, 0});
  net.step(1, proto::AppendReply{term, 3, true, 2, 3, 0});
  EXPECT_EQ(net.core(1).commit_index(), 0u) << "entry 2 of term 2 counted on a majority";
  for (const auto& [to, m] : sent<proto::AppendEntries>(net.tick(1, kHeartbeatMs))) {
    EXPECT_EQ(m.commit, 0u) << "told " << to << " to commit an entry of an old term";
  }
}

}  // namespace
}  // namespace bazaar::raft
