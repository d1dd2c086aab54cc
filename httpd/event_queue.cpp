#include "httpd/event_queue.h"

#include <algorithm>

namespace bazaar::httpd {

EventQueue::EventQueue(std::size_t limit) : limit_(std::max<std::size_t>(1, limit)) {}

PushOutcome EventQueue::push(std::string event) {
  if (overflowed_) return PushOutcome::kDropped;
  if (events_.size() >= limit_) {
    overflowed_ = true;
    events_.clear();  // nothing more will be written to this client
    return PushOutcome::kOverflow;
  }
  const bool was_empty = events_.empty();
  events_.push_back(std::move(event));
  return was_empty ? PushOutcome::kFirst : PushOutcome::kQueued;
}

std::size_t EventQueue::drain_into(std::string& out) {
  const std::size_t n = events_.size();
  for (auto& e : events_) out += e;
  events_.clear();
  return n;
}

}  // namespace bazaar::httpd
