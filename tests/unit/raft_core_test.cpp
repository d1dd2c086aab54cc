// The core's contract with its caller (raft/raft_core.h): a Ready must be persisted and
// advance()d before the next input, committed entries are handed out once and in order, and the
// log lives in the store with only a bounded tail in memory. One replica leads alone here, so
// each test steps a single core; the rules of Raft itself are in raft_paper_test.cpp.
#include "raft/raft_core.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "raft/memory_log_store.h"
#include "raft_test_support.h"

namespace bazaar::raft {
namespace {

RaftConfig solo_config(std::size_t cache_entries = 50000) {
  RaftConfig c;
  c.id = 1;
  c.members = {1};
  c.jitter_ms = 0;
  c.cache_entries = cache_entries;
  return c;
}

proto::LogEntry order(const std::string& request_id, std::uint64_t term = 0) {
  return testing::order_entry(term, request_id);
}

/// "r<k>" (built by appending: GCC 12 warns, wrongly, on "r" + std::to_string(k)).
std::string rid(int k) {
  std::string id = "r";
  id += std::to_string(k);
  return id;
}

using testing::persist;

/// A core that has just won its (single-replica) election and persisted it.
struct Solo {
  explicit Solo(std::size_t cache_entries = 50000) : core(solo_config(cache_entries), store, 0) {
    core.tick(10000);
    EXPECT_EQ(core.role(), RaftRole::kLeader);
    persist(core, store);
  }
  MemoryLogStore store;
  RaftCore core;
};

TEST(RaftCore, AnInputBeforeAdvanceIsRefused) {
  Solo s;
  std::uint64_t index = 0;
  ASSERT_EQ(s.core.propose(order("a"), index), ProposeOutcome::kAccepted);
  const Ready r = s.core.take_ready();
  EXPECT_THROW(s.core.tick(10001), std::logic_error);
  EXPECT_THROW(s.core.propose(order("b"), index), std::logic_error);
  EXPECT_THROW(s.core.receive(proto::AppendReply{}, 10001), std::logic_error);
  EXPECT_THROW(s.core.take_ready(), std::logic_error);
  ASSERT_EQ(s.store.write(r.log_write()), WriteOutcome::kWritten);
  s.core.advance();
  EXPECT_NO_THROW(s.core.tick(10001));
  EXPECT_THROW(s.core.advance(), std::logic_error) << "advance() twice";
}

TEST(RaftCore, AdvanceBeforeTheStoreHoldsTheReadyIsRefused) {
  Solo s;
  std::uint64_t index = 0;
  ASSERT_EQ(s.core.propose(order("a"), index), ProposeOutcome::kAccepted);
  const Ready r = s.core.take_ready();
  EXPECT_THROW(s.core.advance(), std::logic_error) << "nothing was written";
  // Half of it (the entry without the commit index) is not enough either.
  LogWrite entries_only = r.log_write();
  entries_only.commit_index.reset();
  ASSERT_EQ(s.store.write(entries_only), WriteOutcome::kWritten);
  EXPECT_THROW(s.core.advance(), std::logic_error);
  LogWrite commit_only;
  commit_only.commit_index = r.commit_index;
  ASSERT_EQ(s.store.write(commit_only), WriteOutcome::kWritten);
  EXPECT_NO_THROW(s.core.advance());
}

TEST(RaftCore, CommittedEntriesAreHandedOutOnceInOrder) {
  MemoryLogStore store;
  RaftCore core(solo_config(), store, 0);
  core.tick(10000);
  const Ready first = persist(core, store);
  ASSERT_EQ(first.committed_first, 1u);  // the new term's no-op
  ASSERT_EQ(first.committed.size(), 1u);
  EXPECT_EQ(first.committed[0].kind, proto::LogEntry::kNoop);
  std::uint64_t index = 0;
  for (const char* id : {"a", "b", "c"})
    ASSERT_EQ(core.propose(order(id), index), ProposeOutcome::kAccepted);
  const Ready second = persist(core, store);
  EXPECT_EQ(second.committed_first, 2u);
  ASSERT_EQ(second.committed.size(), 3u);
  EXPECT_EQ(second.committed[2].request_id, "c");
  EXPECT_EQ(core.applied_index(), 4u);
  EXPECT_TRUE(persist(core, store).committed.empty()) << "nothing is handed out twice";
}

TEST(RaftCore, TheCoreNeverNumbersOrders) {
  Solo s;
  std::uint64_t index = 0;
  proto::LogEntry e = order("a");
  e.order_number = 17;  // whatever the caller puts in the payload stays as it is
  ASSERT_EQ(s.core.propose(e, index), ProposeOutcome::kAccepted);
  const Ready r = persist(s.core, s.store);
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].order_number, 17);
}

TEST(RaftCore, TheTailInMemoryIsBoundedAndTheRestIsReadFromTheStore) {
  Solo s(10);
  std::uint64_t index = 0;
  for (int k = 0; k < 100; ++k) {
    ASSERT_EQ(s.core.propose(order(rid(k)), index), ProposeOutcome::kAccepted);
    persist(s.core, s.store);
    EXPECT_LE(s.core.cached_entries(), 10u);
  }
  ASSERT_EQ(s.core.last_index(), 101u);
  const auto held = s.core.entries(1, 102);
  EXPECT_EQ(held, s.store.entries(1, 102, SIZE_MAX).entries);
  EXPECT_EQ(s.core.entry(2).request_id, "r0");
  EXPECT_EQ(s.core.term_at(2), s.core.term());
}

TEST(RaftCore, ARestartReadsNoEntries) {
  std::vector<proto::LogEntry> log;
  for (int k = 0; k < 1000; ++k) log.push_back(order(rid(k), k < 500 ? 1 : 2));
  MemoryLogStore store(HardState{2, 1}, log, 900);
  RaftCore core(solo_config(), store, 0);
  EXPECT_EQ(core.cached_entries(), 0u);
  EXPECT_EQ(core.last_index(), 1000u);
  EXPECT_EQ(core.commit_index(), 900u);
  EXPECT_EQ(core.applied_index(), 900u) << "the caller applied up to the stored commit index";
  EXPECT_EQ(core.term_at(400), 1u);
  EXPECT_EQ(core.term_at(1000), 2u);
  EXPECT_EQ(core.entry(700).request_id, "r699");
}

}  // namespace
}  // namespace bazaar::raft
