#include "catalog/catalog_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <string>

namespace bazaar::catalog {

CatalogMetrics::CatalogMetrics(prometheus::Registry& registry) {
  auto& trades = prometheus::BuildCounter()
                     .Name("bazaar_catalog_trades_total")
                     .Help("Trades answered, by outcome (duplicate: a repeat of a request id)")
                     .Register(registry);
  // Every outcome up front: the label set is bounded, and a series exists from the first scrape.
  for (std::uint8_t s = 0; s <= proto::kMaxStatus; ++s) {
    std::string outcome = proto::to_string(static_cast<proto::Status>(s));
    std::replace(outcome.begin(), outcome.end(), ' ', '_');  // "insufficient quantity"
    trades_[s] = &trades.Add({{"outcome", outcome}});
  }
  duplicates_ = &trades.Add({{"outcome", "duplicate"}});
  batch_size_ = &prometheus::BuildHistogram()
                     .Name("bazaar_catalog_trade_batch_size")
                     .Help("Trades per TradeBatchRequest")
                     .Register(registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128,
                                                                      256, 512, 1024, 2048});
  commit_ = &prometheus::BuildHistogram()
                 .Name("bazaar_catalog_sqlite_commit_seconds")
                 .Help("Commit of one trade transaction (WAL write and sync)")
                 .Register(registry)
                 .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                                  0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                  0.1, 0.25, 1});
  invalidations_ = &prometheus::BuildCounter()
                        .Name("bazaar_catalog_invalidations_published_total")
                        .Help("Invalidations published on the bus")
                        .Register(registry)
                        .Add({});
  lookups_ = &prometheus::BuildCounter()
                  .Name("bazaar_catalog_lookups_total")
                  .Help("LookupRequests answered")
                  .Register(registry)
                  .Add({});
}

void CatalogMetrics::count_trade(proto::Status status, bool duplicate) {
  if (duplicate) {
    duplicates_->Increment();
    return;
  }
  const auto s = static_cast<std::size_t>(status);
  if (s < trades_.size()) trades_[s]->Increment();
}

void CatalogMetrics::observe_batch(std::size_t trades) {
  batch_size_->Observe(static_cast<double>(trades));
}

void CatalogMetrics::observe_commit(std::chrono::steady_clock::duration elapsed) {
  commit_->Observe(std::chrono::duration<double>(elapsed).count());
}

void CatalogMetrics::count_invalidation() {
  invalidations_->Increment();
}

void CatalogMetrics::count_lookup() {
  lookups_->Increment();
}

}  // namespace bazaar::catalog
