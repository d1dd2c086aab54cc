// The hand-over of jobs from the threads that submit them to a link's own thread.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>

#include "common/cli.h"

namespace bazaar::frontend {

/// A bounded queue from any number of submitting threads (the HTTP I/O threads) to one link
/// thread (OrderLink, CatalogLink) that sleeps in zmq::poll with fd() among its items.
///
/// push() writes the eventfd only while the link thread sleeps (from about_to_sleep() to
/// woke()), so a busy link costs its submitters no system call. No wake-up is lost: the link
/// thread marks itself asleep before it looks at the queue a last time, and a job pushed after
/// that look finds it marked.
///
/// push(), size() and close() are thread-safe; take(), about_to_sleep(), woke() and take_all()
/// belong to the link thread (or to whoever owns the inbox once that thread is joined).
template <class Job>
class LinkInbox {
 public:
  /// Throws common::StartupError when no eventfd can be had.
  explicit LinkInbox(std::size_t limit)
      : limit_(limit), fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw common::StartupError("eventfd: " + std::string(std::strerror(errno)));
  }
  ~LinkInbox() { ::close(fd_); }
  LinkInbox(const LinkInbox&) = delete;
  LinkInbox& operator=(const LinkInbox&) = delete;

  /// Queues `job`; false (and `job` is dropped) when `limit` jobs wait or the inbox is closed.
  [[nodiscard]] bool push(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || queue_.size() >= limit_) return false;
      queue_.push_back(std::move(job));
    }
    if (sleeping_.exchange(false)) wake();
    return true;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

  /// Refuses jobs from now on and wakes the link thread; what is queued stays for take_all().
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    wake();
  }

  /// Moves up to `n` jobs, oldest first, to the end of `out`. False once the inbox is closed
  /// (then nothing is moved: the link thread should stop).
  bool take(std::size_t n, std::deque<Job>& out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    n = std::min(n, queue_.size());
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return true;
  }

  /// Call right before polling. True when the poll must not sleep: the inbox is closed, or jobs
  /// wait and the link has `room` for them.
  bool about_to_sleep(bool room) {
    sleeping_.store(true);
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ || (room && !queue_.empty());
  }

  /// The eventfd to poll for ZMQ_POLLIN.
  int fd() const { return fd_; }

  /// Call right after polling, with whether fd() was readable.
  void woke(bool readable) {
    sleeping_.store(false);
    if (readable) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto n = read(fd_, &count, sizeof count);
    }
  }

  /// Everything still queued, for answering once the link stops.
  std::deque<Job> take_all() {
    std::deque<Job> left;
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
    return left;
  }

 private:
  void wake() {
    const std::uint64_t one = 1;
    // Fails only when the counter is about to overflow, i.e. a wake-up is pending anyway.
    [[maybe_unused]] const auto n = write(fd_, &one, sizeof one);
  }

  const std::size_t limit_;
  const int fd_;
  mutable std::mutex mu_;
  std::deque<Job> queue_;  // guarded by mu_; at most limit_ jobs
  bool closed_ = false;    // guarded by mu_
  // True while the link thread is (about to be) asleep in poll: only then is the eventfd written.
  std::atomic<bool> sleeping_{false};
};

}  // namespace bazaar::frontend
