// A replica that lost its disk (raft/raft_core.h, RaftConfig::joining; docs/REPLICATION.md,
// "Replacing a replica: `--join`"): the leader does not answer its stale refusals with a resend
// each (the busy loop of issue 19), a joining replica is brought up from where its log really ends,
// and it neither campaigns nor votes with the state it lost.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raft/memory_log_store.h"
#include "raft/raft_core.h"
#include "raft_test_support.h"

namespace bazaar::raft {
namespace {

RaftConfig config(std::uint32_t id, std::size_t max_batch = 2048) {
  RaftConfig c;
  c.id = id;
  c.max_batch = max_batch;
  c.members = {1, 2, 3};
  c.priority_step_ms = 0;
  c.jitter_ms = 0;
  c.transfer = false;
  return c;
}

std::vector<proto::LogEntry> log_of(std::size_t n, std::uint64_t term) {
  std::vector<proto::LogEntry> log;
  for (std::size_t k = 0; k < n; ++k) {
    std::string id = "r";
    id += std::to_string(k);
    log.push_back(testing::order_entry(term, id));
  }
  return log;
}

using testing::persist;

template <class T>
std::vector<T> sent_to(const Ready& r, std::uint32_t to) {
  std::vector<T> out;
  for (const auto& o : r.messages) {
    if (const auto* m = std::get_if<T>(&o.message); m && o.to == to) out.push_back(*m);
  }
  return out;
}

/// Replica 1 holding `entries` committed entries of term 1, made leader of term 2 by hand
/// (replica 2 grants its pre-vote and vote); its no-op is at entries + 1.
struct Leader {
  explicit Leader(std::size_t entries, std::size_t max_batch = 2048)
      : store({1, -1}, log_of(entries, 1), entries), core(config(1, max_batch), store, 0) {
    core.tick(now += 10000);
    persist(core, store);
    core.receive(proto::VoteReply{2, 2, true, true}, now);
    persist(core, store);
    core.receive(proto::VoteReply{2, 2, true, false}, now);
    persist(core, store);
    EXPECT_EQ(core.role(), RaftRole::kLeader);
  }
  Ready reply(const proto::AppendReply& m) {
    core.receive(m, now);
    return persist(core, store);
  }
  MemoryLogStore store;
  RaftCore core;
  std::uint64_t now = 1;
};

// Issue 19: a follower whose data was wiped answers every append with "next_index 1", below the
// match index the leader knows for it. Each such refusal used to be answered at once with
// another append that the follower refused again, forever (both sides burned a core). As in etcd
// raft (maybeDecrTo), a refusal that the progress has matched past is stale: it is ignored, and
// the follower hears only the heartbeats.
TEST(RaftCoreJoin, StaleRefusalsBelowTheMatchIndexAreNotAnsweredWithAResend) {
  Leader l(10);
  const std::uint64_t last = l.core.last_index();
  ASSERT_EQ(last, 11u);
  l.reply(proto::AppendReply{
      .term = 2, .from = 2, .success = true, .match_index = last, .next_index = last + 1});
  ASSERT_EQ(l.core.match_indexes().at(2), last);
  std::size_t appends = 0;
  for (int k = 0; k < 100; ++k) {
    const Ready r =
        l.reply(proto::AppendReply{.term = 2, .from = 2, .success = false, .next_index = 1});
    appends += sent_to<proto::AppendEntries>(r, 2).size();
  }
  EXPECT_EQ(appends, 0u) << "each stale refusal was answered with an append";
  EXPECT_EQ(l.core.match_indexes().at(2), last) << "a stale refusal changes no progress";
  // The heartbeat still goes.
  l.core.tick(l.now += 60);
  EXPECT_EQ(sent_to<proto::AppendEntries>(persist(l.core, l.store), 2).size(), 1u);
}

// A refusal above the match index is a probe's answer, as before: the next probe goes at once.
TEST(RaftCoreJoin, ARefusalAboveTheMatchIndexIsProbedAgainAtOnce) {
  Leader l(10);
  const Ready r =
      l.reply(proto::AppendReply{.term = 2, .from = 3, .success = false, .next_index = 5});
  const auto appends = sent_to<proto::AppendEntries>(r, 3);
  ASSERT_EQ(appends.size(), 1u);
  EXPECT_EQ(appends[0].prev_index, 4u);
}

// ---- catch-up: several batches in flight (RaftConfig::max_inflight) ----------------------------

std::vector<std::uint64_t> prev_indexes(const Ready& r, std::uint32_t to) {
  std::vector<std::uint64_t> out;
  for (const auto& a : sent_to<proto::AppendEntries>(r, to)) out.push_back(a.prev_index);
  return out;
}

proto::AppendReply success(std::uint32_t from, std::uint64_t match) {
  return {.term = 2, .from = from, .success = true, .match_index = match, .next_index = match + 1};
}

proto::AppendReply refusal(std::uint32_t from, std::uint64_t next_index) {
  return {.term = 2, .from = from, .success = false, .next_index = next_index};
}

// A follower a full batch or more behind gets max_inflight batches before it answers, so its disk
// writes one while the leader reads the next; the position is probed one append at a time first.
TEST(RaftCorePipeline, AFollowerFarBehindIsSentSeveralBatchesBeforeItAnswers) {
  Leader l(100, 16);  // the no-op is entry 101
  EXPECT_EQ(prev_indexes(l.reply(refusal(2, 1)), 2), std::vector<std::uint64_t>{0})
      << "one probe while the follower's position is a guess";
  EXPECT_EQ(prev_indexes(l.reply(success(2, 16)), 2), (std::vector<std::uint64_t>{16, 32, 48, 64}));
  // Two acknowledged: one more full batch goes; the last five entries wait for the reply (a
  // partial batch never goes with another in flight, so a follower that keeps up gets one append
  // per round trip with everything proposed meanwhile).
  EXPECT_EQ(prev_indexes(l.reply(success(2, 48)), 2), std::vector<std::uint64_t>{80});
  EXPECT_TRUE(prev_indexes(l.reply(success(2, 64)), 2).empty());
  EXPECT_TRUE(prev_indexes(l.reply(success(2, 80)), 2).empty());
  EXPECT_EQ(prev_indexes(l.reply(success(2, 96)), 2), std::vector<std::uint64_t>{96});
}

// A refusal stops the pipeline: the leader probes from the hint, one append until one succeeds,
// so the refusals of batches sent on a wrong guess cannot multiply the appends.
TEST(RaftCorePipeline, ARefusalStopsThePipelineUntilAnAppendSucceeds) {
  Leader l(100, 16);
  l.reply(refusal(2, 1));
  ASSERT_EQ(prev_indexes(l.reply(success(2, 16)), 2).size(), 4u);
  EXPECT_EQ(prev_indexes(l.reply(refusal(2, 30)), 2), std::vector<std::uint64_t>{29});
  for (std::uint64_t hint : {31, 32, 33})  // the other batches' refusals, each probed alone
    EXPECT_EQ(prev_indexes(l.reply(refusal(2, hint)), 2).size(), 1u);
  EXPECT_EQ(prev_indexes(l.reply(success(2, 48)), 2), (std::vector<std::uint64_t>{48, 64, 80}));
}

// A follower's hint can fall below the match: it skips back over a whole conflicting term, part of
// which the leader knows it holds. Such a refusal of an append sent beyond the match is not stale:
// the leader resumes right after the match (it used to ignore it, and the follower never caught
// up: simulation seed 131).
TEST(RaftCorePipeline, ARefusalBelowTheMatchOfAnAppendBeyondItResumesAfterTheMatch) {
  Leader l(100, 16);
  l.reply(refusal(2, 1));
  l.reply(success(2, 16));
  EXPECT_EQ(prev_indexes(l.reply(refusal(2, 40)), 2), std::vector<std::uint64_t>{39});
  EXPECT_EQ(prev_indexes(l.reply(refusal(2, 10)), 2), std::vector<std::uint64_t>{16});
  // Now the append goes right after the match: a refusal below it is stale and not answered.
  EXPECT_TRUE(prev_indexes(l.reply(refusal(2, 10)), 2).empty());
}

// ---- a joining replica (RaftConfig::joining) -----------------------------------------------

/// Replica 3 started on an empty store with `joining` set, as `bazaar-order --join` does after
/// its disk was lost.
struct Joiner {
  explicit Joiner(bool joining = true) : core(make_config(joining), store, 0) {}
  static RaftConfig make_config(bool joining) {
    RaftConfig c = config(3);
    c.joining = joining;
    return c;
  }
  Ready deliver(const PeerMessage& m) {
    core.receive(m, now);
    return persist(core, store);
  }
  Ready tick(std::uint64_t ms) {
    core.tick(now += ms);
    return persist(core, store);
  }
  MemoryLogStore store;
  RaftCore core;
  std::uint64_t now = 1;
};

proto::AppendEntries append_from_1(std::uint64_t term, std::uint64_t prev, std::size_t n,
                                   std::uint64_t commit) {
  std::vector<proto::LogEntry> entries = log_of(n, term);
  return proto::AppendEntries{.term = term,
                              .leader = 1,
                              .prev_index = prev,
                              .prev_term = prev == 0 ? 0 : term,
                              .entries = std::move(entries),
                              .commit = commit};
}

// It may have voted before it lost its disk, and its log is behind everyone's: it waits for a
// leader however long, and refuses every vote and pre-vote meanwhile.
TEST(RaftCoreJoin, AJoiningReplicaNeitherCampaignsNorVotesBeforeItHasCaughtUp) {
  Joiner j;
  for (int k = 0; k < 20; ++k) {
    EXPECT_TRUE(sent_to<proto::RequestVote>(j.tick(1000), 1).empty());
  }
  EXPECT_EQ(j.core.role(), RaftRole::kFollower);
  EXPECT_EQ(j.core.term(), 0u);
  for (bool pre_vote : {true, false}) {
    const Ready r = j.deliver(proto::RequestVote{
        .term = 5, .candidate = 2, .last_index = 10, .last_term = 4, .pre_vote = pre_vote});
    const auto replies = sent_to<proto::VoteReply>(r, 2);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_FALSE(replies[0].granted) << "pre_vote " << pre_vote;
  }
  // The control: the same replica without `joining` campaigns and grants.
  Joiner member(false);
  EXPECT_FALSE(sent_to<proto::RequestVote>(member.tick(10000), 1).empty());
}

// Following a leader counts as having voted for it in its term (persisted), so a candidate of
// that term is refused even once the replica is a voter again.
TEST(RaftCoreJoin, AJoiningReplicaRecordsAVoteForTheLeaderItFollows) {
  Joiner j;
  j.deliver(append_from_1(7, 0, 4, 10));  // 4 of the leader's 10 committed entries
  EXPECT_TRUE(j.core.joining());
  EXPECT_EQ(j.store.hard_state().term, 7u);
  EXPECT_EQ(j.store.hard_state().voted_for, 1);
  j.deliver(append_from_1(7, 4, 6, 10));  // now it holds the leader's commit index
  EXPECT_FALSE(j.core.joining());
  j.tick(10000);  // the leader falls silent: no lease protects it any more
  const auto refused = sent_to<proto::VoteReply>(
      j.deliver(proto::RequestVote{.term = 7, .candidate = 2, .last_index = 10, .last_term = 7}),
      2);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_FALSE(refused[0].granted) << "a second vote in term 7";
  const auto granted = sent_to<proto::VoteReply>(
      j.deliver(proto::RequestVote{.term = 8, .candidate = 2, .last_index = 10, .last_term = 7}),
      2);
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_TRUE(granted[0].granted) << "a voter again from the next term";
}

// A TimeoutNow (a leader handing office to it) does not make a joining replica campaign.
TEST(RaftCoreJoin, AJoiningReplicaIgnoresTimeoutNow) {
  Joiner j;
  j.deliver(append_from_1(7, 0, 4, 10));
  const Ready r = j.deliver(proto::TimeoutNow{.term = 7, .leader = 1});
  EXPECT_TRUE(sent_to<proto::RequestVote>(r, 1).empty());
  EXPECT_EQ(j.core.role(), RaftRole::kFollower);
  EXPECT_EQ(j.core.term(), 7u);
}

// The same refusal from a replica that says it is joining (it started on an empty store) is not
// stale: its log is gone, so the leader forgets the match and brings it up from its real end. On
// the stale-refusal rule alone such a replica never caught up while the leader kept office.
TEST(RaftCoreJoin, ARefusalFromAJoiningReplicaBelowTheMatchStartsItOver) {
  Leader l(10);
  const std::uint64_t last = l.core.last_index();
  l.reply(success(2, last));
  ASSERT_EQ(l.core.match_indexes().at(2), last);
  proto::AppendReply lost = refusal(2, 1);
  lost.joining = true;
  EXPECT_EQ(prev_indexes(l.reply(lost), 2), std::vector<std::uint64_t>{0});
  EXPECT_EQ(l.core.match_indexes().at(2), 0u);
  EXPECT_EQ(prev_indexes(l.reply(success(2, last)), 2), std::vector<std::uint64_t>{})
      << "caught up again: nothing left to send";
  EXPECT_EQ(l.core.match_indexes().at(2), last);
}

// A joining replica's refusals say so; once caught up its replies no longer do.
TEST(RaftCoreJoin, AJoiningReplicaSaysSoInItsRepliesUntilCaughtUp) {
  Joiner j;
  const auto refused =
      sent_to<proto::AppendReply>(j.deliver(append_from_1(7, 4, 2, 10)), 1);  // it holds nothing
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_FALSE(refused[0].success);
  EXPECT_TRUE(refused[0].joining);
  EXPECT_EQ(refused[0].next_index, 1u);
  const auto caught_up = sent_to<proto::AppendReply>(j.deliver(append_from_1(7, 0, 10, 10)), 1);
  ASSERT_EQ(caught_up.size(), 1u);
  EXPECT_TRUE(caught_up[0].success);
  EXPECT_FALSE(caught_up[0].joining);
}

}  // namespace
}  // namespace bazaar::raft
