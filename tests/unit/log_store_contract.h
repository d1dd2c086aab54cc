// The contract of raft::LogStore (raft/log_store.h) as typed tests, run over every store: the
// in-memory one (raft_memory_log_store_test.cpp) and SQLite's (order_sqlite_log_store_test.cpp).
// A store's test file defines a factory, `struct F { std::unique_ptr<raft::LogStore> make(); }`
// (a new, empty store each call), and instantiates:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, LogStoreContract, F);
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "raft/log_store.h"

namespace bazaar::raft::testing {

inline proto::LogEntry store_entry(std::uint64_t term, const std::string& request_id) {
  proto::LogEntry e;
  e.term = term;
  e.kind = proto::LogEntry::kOrder;
  e.order_number = 0;
  e.request_id = request_id;
  e.name = "Tux";
  e.side = proto::Side::kSell;
  e.quantity = 3;
  return e;
}

/// Entries with these terms, request ids "<tag>1", "<tag>2", ...
inline std::vector<proto::LogEntry> store_entries(const std::vector<std::uint64_t>& terms,
                                                  const std::string& tag = "r") {
  std::vector<proto::LogEntry> out;
  for (auto t : terms) out.push_back(store_entry(t, tag + std::to_string(out.size() + 1)));
  return out;
}

/// Everything the store holds, through its read interface.
inline std::vector<proto::LogEntry> all_entries(const LogStore& s) {
  const EntriesRead r = s.entries(s.first_index(), s.last_index() + 1, SIZE_MAX);
  EXPECT_EQ(r.outcome, ReadOutcome::kOk);
  return r.entries;
}

inline std::vector<std::uint64_t> stored_terms(const LogStore& s) {
  std::vector<std::uint64_t> out;
  for (const auto& e : all_entries(s)) out.push_back(e.term);
  return out;
}

template <class Factory>
class LogStoreContract : public ::testing::Test {
 protected:
  /// Writes entries 1..5 (terms 1 1 2 2 3), hard state {3, 2}, commit index 2.
  void fill() {
    ASSERT_EQ(store_->write(
                  LogWrite{HardState{3, 2}, std::nullopt, 1, store_entries({1, 1, 2, 2, 3}), 2}),
              WriteOutcome::kWritten);
  }

  Factory factory_;
  std::unique_ptr<LogStore> store_ = factory_.make();
};

TYPED_TEST_SUITE_P(LogStoreContract);

TYPED_TEST_P(LogStoreContract, StartsEmpty) {
  const LogStore& s = *this->store_;
  EXPECT_EQ(s.hard_state(), (HardState{0, -1}));
  EXPECT_EQ(s.commit_index(), 0u);
  EXPECT_EQ(s.first_index(), 1u);
  EXPECT_EQ(s.last_index(), 0u);
  EXPECT_EQ(s.term(0), 0u);
  EXPECT_EQ(s.term(1), std::nullopt);
  EXPECT_EQ(s.entries(1, 1, 100).outcome, ReadOutcome::kOk);
  EXPECT_EQ(s.entries(1, 2, 100).outcome, ReadOutcome::kUnavailable);
  EXPECT_EQ(s.entries(0, 1, 100).outcome, ReadOutcome::kCompacted);
}

TYPED_TEST_P(LogStoreContract, AppendsAndReadsARange) {
  this->fill();
  const LogStore& s = *this->store_;
  EXPECT_EQ(s.hard_state(), (HardState{3, 2}));
  EXPECT_EQ(s.commit_index(), 2u);
  EXPECT_EQ(s.last_index(), 5u);
  for (std::uint64_t i = 1; i <= 5; ++i)
    EXPECT_EQ(s.term(i), (std::vector<std::uint64_t>{1, 1, 2, 2, 3}[i - 1]));
  EXPECT_EQ(s.term(6), std::nullopt);
  const EntriesRead r = s.entries(2, 5, SIZE_MAX);
  ASSERT_EQ(r.outcome, ReadOutcome::kOk);
  const auto want = store_entries({1, 1, 2, 2, 3});
  EXPECT_EQ(r.entries, std::vector<proto::LogEntry>(want.begin() + 1, want.begin() + 4));
  EXPECT_EQ(s.entries(2, 7, SIZE_MAX).outcome, ReadOutcome::kUnavailable);
  EXPECT_EQ(s.entries(4, 3, SIZE_MAX).outcome, ReadOutcome::kUnavailable);
  // More at the end, with the next batch.
  ASSERT_EQ(
      this->store_->write(LogWrite{std::nullopt, std::nullopt, 6, store_entries({3}, "x"), 5}),
      WriteOutcome::kWritten);
  EXPECT_EQ(s.last_index(), 6u);
  EXPECT_EQ(s.commit_index(), 5u);
  EXPECT_EQ(all_entries(s).back().request_id, "x1");
}

TYPED_TEST_P(LogStoreContract, ReadsWithinASizeLimit) {
  this->fill();
  const LogStore& s = *this->store_;
  const std::size_t one = entry_bytes(store_entry(1, "r1"));
  EXPECT_EQ(s.entries(1, 6, 2 * one).entries.size(), 2u);
  EXPECT_EQ(s.entries(1, 6, 2 * one + 1).entries.size(), 2u);
  EXPECT_EQ(s.entries(1, 6, 0).entries.size(), 1u) << "always the first entry";
  EXPECT_EQ(s.entries(1, 6, SIZE_MAX).entries.size(), 5u);
}

TYPED_TEST_P(LogStoreContract, TruncatesAConflictingTail) {
  this->fill();
  LogStore& s = *this->store_;
  // A new leader's entry 3 of term 4 replaces 3, 4 and 5.
  ASSERT_EQ(s.write(LogWrite{HardState{4, -1}, 3, 3, store_entries({4}, "n"), std::nullopt}),
            WriteOutcome::kWritten);
  EXPECT_EQ(stored_terms(s), (std::vector<std::uint64_t>{1, 1, 4}));
  EXPECT_EQ(s.last_index(), 3u);
  EXPECT_EQ(s.term(3), 4u);
  EXPECT_EQ(s.term(4), std::nullopt);
  EXPECT_EQ(all_entries(s).back().request_id, "n1");
  // Entries that overlap the log without a truncation cut its tail all the same.
  ASSERT_EQ(
      s.write(LogWrite{std::nullopt, std::nullopt, 4, store_entries({4, 4, 4}), std::nullopt}),
      WriteOutcome::kWritten);
  ASSERT_EQ(s.write(LogWrite{HardState{5, -1}, std::nullopt, 4, store_entries({5}), std::nullopt}),
            WriteOutcome::kWritten);
  EXPECT_EQ(stored_terms(s), (std::vector<std::uint64_t>{1, 1, 4, 5}));
  // A bare truncation, and one past the end (nothing to remove).
  ASSERT_EQ(s.write(LogWrite{std::nullopt, 4, 0, {}, std::nullopt}), WriteOutcome::kWritten);
  ASSERT_EQ(s.write(LogWrite{std::nullopt, 9, 0, {}, std::nullopt}), WriteOutcome::kWritten);
  EXPECT_EQ(stored_terms(s), (std::vector<std::uint64_t>{1, 1, 4}));
  EXPECT_EQ(s.term(3), 4u);
}

TYPED_TEST_P(LogStoreContract, RefusesWritesThatBreakTheLogAndStoresNothingOfThem) {
  this->fill();
  LogStore& s = *this->store_;
  struct Case {
    const char* what;
    LogWrite write;
    WriteOutcome outcome;
  };
  const std::vector<Case> cases{
      {"a hole",
       {std::nullopt, std::nullopt, 7, store_entries({3}), std::nullopt},
       WriteOutcome::kHole},
      {"a hole after a truncation",
       {std::nullopt, 4, 5, store_entries({3}), std::nullopt},
       WriteOutcome::kHole},
      {"index 0",
       {std::nullopt, std::nullopt, 0, store_entries({3}), std::nullopt},
       WriteOutcome::kHole},
      {"truncating a committed entry",
       {std::nullopt, 2, 0, {}, std::nullopt},
       WriteOutcome::kRemovesCommitted},
      {"overwriting a committed entry",
       {std::nullopt, std::nullopt, 2, store_entries({3}), std::nullopt},
       WriteOutcome::kRemovesCommitted},
      {"entry terms that fall",
       {std::nullopt, std::nullopt, 6, store_entries({3, 2}), std::nullopt},
       WriteOutcome::kTermGoesBack},
      {"below the previous entry's term",
       {std::nullopt, std::nullopt, 6, store_entries({2}), std::nullopt},
       WriteOutcome::kTermGoesBack},
      {"the term going back",
       {HardState{2, -1}, std::nullopt, 0, {}, std::nullopt},
       WriteOutcome::kTermGoesBack},
      {"a second vote in term 3",
       {HardState{3, 1}, std::nullopt, 0, {}, std::nullopt},
       WriteOutcome::kVoteChanges},
      {"a commit past the log",
       {std::nullopt, std::nullopt, 0, {}, 6},
       WriteOutcome::kCommitPastLog},
      {"a commit past the truncated log",
       {std::nullopt, 4, 0, {}, 4},
       WriteOutcome::kCommitPastLog},
      {"the commit going back",
       {std::nullopt, std::nullopt, 0, {}, 1},
       WriteOutcome::kCommitGoesBack},
  };
  const auto before = all_entries(s);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    // Every refused write carries a valid part too (a new term): none of it may be stored.
    LogWrite w = c.write;
    if (!w.hard_state) w.hard_state = HardState{9, -1};
    EXPECT_EQ(s.write(w), c.outcome);
    EXPECT_EQ(all_entries(s), before);
    EXPECT_EQ(s.hard_state(), (HardState{3, 2}));
    EXPECT_EQ(s.commit_index(), 2u);
    EXPECT_EQ(s.last_index(), 5u);
  }
  // What stays allowed: the same vote again, a new term's vote, a commit index that stays.
  EXPECT_EQ(s.write(LogWrite{HardState{3, 2}, std::nullopt, 0, {}, 2}), WriteOutcome::kWritten);
  EXPECT_EQ(s.write(LogWrite{HardState{4, 1}, std::nullopt, 0, {}, std::nullopt}),
            WriteOutcome::kWritten);
  EXPECT_EQ(s.hard_state(), (HardState{4, 1}));
}

TYPED_TEST_P(LogStoreContract, HardStateAndCommitAlone) {
  LogStore& s = *this->store_;
  ASSERT_EQ(s.write(LogWrite{HardState{1, -1}, std::nullopt, 0, {}, std::nullopt}),
            WriteOutcome::kWritten);
  ASSERT_EQ(s.write(LogWrite{HardState{1, 3}, std::nullopt, 0, {}, std::nullopt}),
            WriteOutcome::kWritten);
  EXPECT_EQ(s.hard_state(), (HardState{1, 3}));
  ASSERT_EQ(s.write(LogWrite{std::nullopt, std::nullopt, 1, store_entries({1, 1}), std::nullopt}),
            WriteOutcome::kWritten);
  ASSERT_EQ(s.write(LogWrite{std::nullopt, std::nullopt, 0, {}, 1}), WriteOutcome::kWritten);
  ASSERT_EQ(s.write(LogWrite{std::nullopt, std::nullopt, 0, {}, 2}), WriteOutcome::kWritten);
  EXPECT_EQ(s.commit_index(), 2u);
  EXPECT_EQ(s.write(LogWrite{}), WriteOutcome::kWritten) << "an empty write is a no-op";
  EXPECT_EQ(s.last_index(), 2u);
}

REGISTER_TYPED_TEST_SUITE_P(LogStoreContract, StartsEmpty, AppendsAndReadsARange,
                            ReadsWithinASizeLimit, TruncatesAConflictingTail,
                            RefusesWritesThatBreakTheLogAndStoresNothingOfThem,
                            HardStateAndCommitAlone);

}  // namespace bazaar::raft::testing
