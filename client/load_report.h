// The figures of a client run (bazaar-client session and load): per request type the count,
// the errors by status, and the latency histogram; a per-interval timeline; the order checks.
// Printed as a table, CSV or JSON.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "client/latency_histogram.h"
#include "client/session_client.h"

namespace bazaar::client {

/// The figures of one request type.
struct KindFigures {
  std::uint64_t count = 0;
  /// Failed requests by cause: an HTTP status ("409", "503"), or "timeout", "connect", "io",
  /// "resolve", "bad-reply" (a reply that is not the promised JSON).
  std::map<std::string, std::uint64_t> errors;
  /// Every request with an HTTP reply, and every one that timed out (its wait is what the user
  /// saw); not the instant failures of a refused connection, which would flatter the figures.
  LatencyHistogram latency;
  std::uint64_t error_count() const;
};

/// One timeline cell: the requests of one type that finished within one interval.
struct TimelineCell {
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  std::uint64_t sum_us = 0;
  std::uint64_t max_us = 0;
};

/// Collects samples (one per worker thread, merged at the end) and prints them.
class LoadReport {
 public:
  /// `start` is t = 0 of the timeline, cells `interval` wide (at most kMaxCells of them).
  LoadReport(std::chrono::steady_clock::time_point start, std::chrono::milliseconds interval);

  /// Counts one finished request.
  void record(const RequestSample& sample);
  /// Adds another report's figures (same start and interval) into this one.
  void merge(const LoadReport& other);
  /// Adds a client's order counters, mismatch lines and acknowledged order numbers; order
  /// numbers seen by two clients are counted as duplicates.
  void add_session(const SessionClient& session);

  /// Describes the run for the headers: how many clients, how long, what workload.
  void describe(int clients, double elapsed_s, std::int64_t start_unix_ms, std::string workload);

  const KindFigures& figures(RequestKind kind) const {
    return kinds_[static_cast<std::size_t>(kind)];
  }
  const SessionCounters& orders() const { return orders_; }
  std::uint64_t duplicates() const { return duplicates_; }
  std::uint64_t total_errors() const;
  const std::vector<std::string>& mismatch_messages() const { return messages_; }

  /// A fixed-width table, one row per request type that was used, then errors and orders.
  std::string text() const;
  /// `type,count,errors,rate_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors_by_cause`, one
  /// row per request type used; errors_by_cause like "409:3 503:1".
  std::string csv() const;
  /// The same figures and the order checks as one JSON object.
  std::string json() const;
  /// `t_s,type,count,errors,mean_ms,max_ms`, one row per interval and type with requests.
  std::string timeline_csv() const;

  static constexpr std::size_t kMaxCells = 100000;

 private:
  std::chrono::steady_clock::time_point start_;
  std::chrono::milliseconds interval_;
  std::array<KindFigures, kRequestKinds> kinds_{};
  std::vector<std::array<TimelineCell, kRequestKinds>> timeline_;
  SessionCounters orders_;
  std::unordered_set<std::int64_t> numbers_;
  std::uint64_t duplicates_ = 0;
  std::vector<std::string> messages_;
  int clients_ = 1;
  double elapsed_s_ = 0;
  std::int64_t start_unix_ms_ = 0;
  std::string workload_;
};

}  // namespace bazaar::client
