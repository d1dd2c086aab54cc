// The catalog's Prometheus metrics (docs/OPERATIONS.md "Metrics"): trades by outcome, trade
// batch sizes, SQLite commit time, invalidations published, lookups. Thread-safe: every worker
// updates them while the exposer's thread scrapes.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

#include "proto_msgs/messages.h"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
}  // namespace prometheus

namespace bazaar::catalog {

class CatalogMetrics {
 public:
  /// Registers every family in `registry`, which must outlive this object.
  explicit CatalogMetrics(prometheus::Registry& registry);

  /// One trade answered with `status`; `duplicate`: a repeat answered from the first outcome.
  void count_trade(proto::Status status, bool duplicate);
  /// One TradeBatchRequest of `trades` trades.
  void observe_batch(std::size_t trades);
  /// One trade transaction's commit took `elapsed`.
  void observe_commit(std::chrono::steady_clock::duration elapsed);
  void count_invalidation();
  void count_lookup();

 private:
  std::array<prometheus::Counter*, proto::kMaxStatus + 1> trades_{};
  prometheus::Counter* duplicates_ = nullptr;
  prometheus::Histogram* batch_size_ = nullptr;
  prometheus::Histogram* commit_ = nullptr;
  prometheus::Counter* invalidations_ = nullptr;
  prometheus::Counter* lookups_ = nullptr;
};

}  // namespace bazaar::catalog
