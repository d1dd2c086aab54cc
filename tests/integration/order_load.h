// Keyed order load and the end-of-test ledger check, shared by the replication and crash tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster.h"

namespace bazaar::testing {

/// Closed-loop clients placing keyed orders (a buy, then a sell of the same stock-flavour item,
/// so stock stays near 100 however long it runs) through one front end until stopped. Each
/// request has its own Idempotency-Key and a 10 s client deadline; an answer other than 200
/// counts as a client-visible error.
class OrderLoad {
 public:
  OrderLoad(int http_port, int clients);
  ~OrderLoad();
  OrderLoad(const OrderLoad&) = delete;
  OrderLoad& operator=(const OrderLoad&) = delete;

  /// Stops the clients after their request in flight; idempotent.
  void stop();
  int acknowledged() const { return ok_; }
  int errors() const { return errors_; }
  std::chrono::steady_clock::duration worst() const;
  /// The last error seen ("503 {...}" or a transport message).
  std::string error_sample() const;
  /// Prints "<what>: N orders acknowledged, worst latency M ms" on stdout (ctest keeps it).
  void print_figures(const char* what) const;

 private:
  void run(int port, int client);

  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> errors_{0};
  mutable std::mutex mu_;
  std::chrono::steady_clock::duration worst_{};  // guarded by mu_
  std::string sample_;                           // guarded by mu_
  std::vector<std::thread> threads_;
};

/// Checks G3 and G2 on a quiet cluster: every replica holds the same log (converged_orders),
/// numbered 0..N-1 in order, and per item the catalog quantity equals 100 - buys + sells over the
/// log. Records gtest failures; returns the number of committed orders.
std::size_t check_log_and_stock(const Cluster& c);

}  // namespace bazaar::testing
