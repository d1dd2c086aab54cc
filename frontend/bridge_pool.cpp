#include "frontend/bridge_pool.h"

#include <spdlog/spdlog.h>

namespace bazaar::frontend {

BridgePool::BridgePool(std::size_t workers, std::size_t queue_limit, const BackendFactory& factory)
    : queue_limit_(queue_limit) {
  backends_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) backends_.push_back(factory());
  threads_.reserve(workers);
  for (auto& backend : backends_) {
    threads_.emplace_back([this, b = backend.get()] { run(*b); });
  }
}

BridgePool::~BridgePool() {
  stop();
}

bool BridgePool::try_submit(BridgeJob job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t BridgePool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void BridgePool::stop() {
  std::deque<BridgeJob> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& job : dropped) job(nullptr);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void BridgePool::run(Backend& backend) {
  for (;;) {
    BridgeJob job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job(&backend);
    } catch (const std::exception& e) {
      // A job must answer its client itself; this only keeps a bug from killing the worker.
      spdlog::error("bridge job failed: {}", e.what());
    }
  }
}

}  // namespace bazaar::frontend
