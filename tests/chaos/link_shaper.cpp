#include "tests/chaos/link_shaper.h"

#include <algorithm>

namespace bazaar::chaos {

LinkShaper::LinkShaper(ShaperOptions options) : options_(options), rng_(options.seed) {}

Admit LinkShaper::admit(std::uint32_t id, Clock::time_point now) {
  // Our own scaling of the generator's output (as FaultSchedule), so a seed means the same
  // losses with every standard library.
  if (options_.loss > 0 && static_cast<double>(rng_() % 1000000) < options_.loss * 1000000.0) {
    return Admit::kDropped;
  }
  if (queue_.size() >= options_.max_held) return Admit::kPassed;
  auto d = options_.delay;
  if (options_.jitter.count() > 0) {
    d +=
        std::chrono::milliseconds(rng_() % static_cast<std::uint64_t>(options_.jitter.count() + 1));
  }
  auto release = now + d;
  // FIFO: never before the packet ahead of it (no reordering within the link).
  if (!queue_.empty()) release = std::max(release, queue_.back().release);
  queue_.push_back({id, release});
  return Admit::kHeld;
}

std::vector<std::uint32_t> LinkShaper::due(Clock::time_point now) {
  std::vector<std::uint32_t> out;
  while (!queue_.empty() && queue_.front().release <= now) {
    out.push_back(queue_.front().id);
    queue_.pop_front();
  }
  return out;
}

std::vector<std::uint32_t> LinkShaper::drain() {
  std::vector<std::uint32_t> out;
  for (const auto& h : queue_) out.push_back(h.id);
  queue_.clear();
  return out;
}

LinkShaper::Clock::time_point LinkShaper::next_due() const {
  return queue_.empty() ? Clock::time_point::max() : queue_.front().release;
}

}  // namespace bazaar::chaos
