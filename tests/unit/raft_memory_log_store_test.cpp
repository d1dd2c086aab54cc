// raft::MemoryLogStore: the LogStore contract (log_store_contract.h) and its own constructor.
#include <gtest/gtest.h>

#include "log_store_contract.h"
#include "raft/memory_log_store.h"

namespace bazaar::raft::testing {
namespace {

struct MemoryFactory {
  std::unique_ptr<LogStore> make() { return std::make_unique<MemoryLogStore>(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, LogStoreContract, MemoryFactory);

TEST(MemoryLogStore, StartsFromAGivenLog) {
  const MemoryLogStore s(HardState{4, 1}, store_entries({1, 2, 4}), 9);
  EXPECT_EQ(s.hard_state(), (HardState{4, 1}));
  EXPECT_EQ(s.last_index(), 3u);
  EXPECT_EQ(s.commit_index(), 3u) << "never past the log";
  EXPECT_EQ(s.term(3), 4u);
  EXPECT_EQ(stored_terms(s), (std::vector<std::uint64_t>{1, 2, 4}));
}

TEST(MemoryLogStore, CountsTheWritesItStored) {
  MemoryLogStore s;
  ASSERT_EQ(s.write(LogWrite{HardState{1, -1}, std::nullopt, 1, store_entries({1}), 1}),
            WriteOutcome::kWritten);
  ASSERT_EQ(s.write(LogWrite{std::nullopt, std::nullopt, 0, {}, 0}), WriteOutcome::kCommitGoesBack);
  EXPECT_EQ(s.writes(), 1u);
}

}  // namespace
}  // namespace bazaar::raft::testing
