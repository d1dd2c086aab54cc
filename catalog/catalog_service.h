// The catalog process: a ROUTER front door, a pool of worker threads each with its own database
// connection, invalidations published to the bus, and the restock timer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "catalog/catalog_metrics.h"
#include "catalog/item_store.h"
#include "catalog/seed.h"
#include "common/event_publisher.h"

namespace bazaar::catalog {

/// Everything the service needs to start, as main() parsed it.
struct CatalogConfig {
  std::string endpoint = "tcp://127.0.0.1:5553";  // bind: ROUTER for requests
  std::string bus = "tcp://127.0.0.1:5550";       // connect: broker XSUB; empty = publish nothing
  std::string db_path = "catalog.db";
  std::vector<SeedItem> seed;  // used only when the database is new
  std::string seed_label;      // "toys", "stocks", "csv:<path>"
  // 0: no restocking. Unset: the flavour's default, decided by what the database holds (it is
  // the truth, not the --catalog flag): 10 s for a database seeded with toys, otherwise off.
  std::optional<std::chrono::milliseconds> restock_interval;
  std::int64_t restock_to = 100;      // 1..proto::kMaxQuantity
  int workers = 4;                    // request threads, 1..kMaxWorkers
  std::uint64_t incarnation = 0;      // 0: pick a new one
  CatalogMetrics* metrics = nullptr;  // null: none; else must outlive the service
};

/// The catalog service (zguide's "mtserver" shape):
///
///   clients (REQ/DEALER) -> ROUTER endpoint -> proxy loop -> DEALER inproc -> N REP workers
///
/// Each worker owns an ItemStore (its own SQLite connection) and a RequestHandler. Concurrency
/// control is SQLite's: trades are IMMEDIATE transactions, so the workers never need a lock of
/// their own. After every change (a trade that changed an item, a restock) an Invalidation
/// {name, version} is published on topic proto::kTopicInvalidation, before the reply is sent.
///
/// Every loop polls with a bounded timeout and ends once common::stop_requested() or stop();
/// run() joins every thread before it returns.
class CatalogService {
 public:
  static constexpr int kMaxWorkers = 64;
  /// Longest wait of any loop before it looks at the stop flag again.
  static constexpr std::chrono::milliseconds kPollInterval{100};

  /// Opens the database (creating and seeding it when new) once per worker and for the restock
  /// thread, binds the endpoint and connects the publisher. Starts no thread.
  /// Throws common::StartupError: unusable database, endpoint in use or malformed.
  explicit CatalogService(CatalogConfig config);
  ~CatalogService();
  CatalogService(const CatalogService&) = delete;
  CatalogService& operator=(const CatalogService&) = delete;

  /// Serves until common::stop_requested() or stop(). Returns once every thread is joined: true
  /// after a requested stop, false when a loop failed (logged) and took the service down.
  /// Call once.
  bool run();

  /// Asks run() to return soon. Thread-safe; callable before run().
  void stop() { stop_.store(true); }

  /// The endpoint actually bound: a wildcard port ("tcp://127.0.0.1:*") resolved.
  std::string bound_endpoint() const;

  std::uint64_t incarnation() const { return incarnation_; }

  /// True when this start created and seeded the database.
  bool created_database() const { return created_; }

  /// What the database was seeded with when it was created (may differ from the config's seed).
  const std::string& database_seed_label() const { return db_seed_label_; }

  /// Number of items in the database at start.
  std::int64_t item_count() const { return item_count_; }

  /// Time between restocks (0: none), with the flavour default applied.
  std::chrono::milliseconds restock_interval() const { return restock_interval_; }

  /// Restock interval of a flavour when none is given: 10 s for toys, otherwise 0 (off).
  static std::chrono::milliseconds default_restock_interval(const std::string& seed_label);

 private:
  bool stopping() const;
  void worker_loop(ItemStore& store);
  void restock_loop(ItemStore& store);
  void proxy_loop();
  void publish_changes(const std::vector<proto::Item>& items);
  void join_all();

  const CatalogConfig config_;
  const std::uint64_t incarnation_;
  const std::string backend_endpoint_;  // inproc, unique per service instance
  bool created_ = false;
  std::string db_seed_label_;
  std::int64_t item_count_ = 0;
  std::chrono::milliseconds restock_interval_{0};

  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};  // a loop threw; run() returns false
  zmq::context_t ctx_;               // declared before every socket: destroyed after them
  // One store per worker, then one for the restock thread (when restocking). Each is used by
  // exactly one thread once run() starts; before that only by the constructor.
  std::vector<std::unique_ptr<ItemStore>> stores_;
  std::unique_ptr<common::EventPublisher> publisher_;  // null when config_.bus is empty;
                                                       // thread-safe (its own mutex)
  zmq::socket_t frontend_;                             // ROUTER; used by the proxy loop only
  zmq::socket_t backend_;                              // DEALER; used by the proxy loop only
  std::vector<std::thread> threads_;
};

}  // namespace bazaar::catalog
