// The bridge between the asynchronous HTTP side and the blocking ZeroMQ side: a fixed pool of
// threads, each owning its own Backend (its own sockets), fed through one bounded queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "frontend/backend.h"

namespace bazaar::frontend {

/// Makes the Backend of one worker; called once per worker, on the constructing thread.
using BackendFactory = std::function<std::unique_ptr<Backend>()>;

/// A unit of work. Called with the worker's backend, or with nullptr when the pool stopped
/// before running it (the job should then answer 503 rather than leave its client waiting).
using BridgeJob = std::function<void(Backend* backend)>;

/// ZeroMQ sockets are not thread-safe, so instead of a lock around one shared socket every
/// worker has its own. HTTP I/O threads only enqueue (never block); a full queue is refused at
/// once, which the caller turns into 503.
class BridgePool {
 public:
  /// Starts `workers` threads. Throws what the factory throws.
  BridgePool(std::size_t workers, std::size_t queue_limit, const BackendFactory& factory);
  ~BridgePool();

  BridgePool(const BridgePool&) = delete;
  BridgePool& operator=(const BridgePool&) = delete;

  /// Enqueues `job`; false (and `job` is dropped uncalled) when the queue holds queue_limit jobs or
  /// the pool is stopping. Thread-safe, never blocks on I/O.
  bool try_submit(BridgeJob job);

  /// Lets running jobs finish, calls queued ones with nullptr, joins. Idempotent.
  void stop();

  std::size_t queued() const;

 private:
  void run(Backend& backend);

  const std::size_t queue_limit_;
  std::vector<std::unique_ptr<Backend>> backends_;  // one per worker, index = worker
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<BridgeJob> queue_;  // guarded by mu_; at most queue_limit_ jobs
  bool stopping_ = false;        // guarded by mu_
};

}  // namespace bazaar::frontend
