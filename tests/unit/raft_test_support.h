// What the core's tests share: an order entry to propose or store, and the I/O shell's one step
// (persist a Ready into a MemoryLogStore, then advance).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "raft/memory_log_store.h"
#include "raft/raft_core.h"

namespace bazaar::raft::testing {

/// An order of one Tux under `request_id`, of `term` (the core sets the term of a proposal).
inline proto::LogEntry order_entry(std::uint64_t term, const std::string& request_id = "r") {
  proto::LogEntry e;
  e.term = term;
  e.kind = proto::LogEntry::kOrder;
  e.request_id = request_id;
  e.name = "Tux";
  e.quantity = 1;
  return e;
}

/// Takes `core`'s Ready, writes it into `store` (a refused write fails the test) and advances,
/// as the server does before any of its messages leave.
inline Ready persist(RaftCore& core, MemoryLogStore& store) {
  Ready r = core.take_ready();
  const WriteOutcome w = store.write(r.log_write());
  EXPECT_EQ(w, WriteOutcome::kWritten) << to_string(w);
  core.advance();
  return r;
}

}  // namespace bazaar::raft::testing
