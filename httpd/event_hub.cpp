#include "httpd/event_hub.h"

#include <algorithm>

#include "common/exposition.h"
#include "httpd/sse_format.h"

namespace bazaar::httpd {

EventSubscription::EventSubscription(std::size_t queue_limit,
                                     std::shared_ptr<EventStreamCounters> counters)
    : queue_(queue_limit), counters_(std::move(counters)) {}

EventSubscription::~EventSubscription() {
  counters_->open.fetch_sub(1);
}

void EventSubscription::set_wake(Wake wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
  if (closed_ || queue_.size() > 0 || queue_.overflowed()) {
    if (wake_) wake_();
  }
  if (closed_) wake_ = nullptr;
}

TakeOutcome EventSubscription::take(std::string& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.overflowed()) return TakeOutcome::kOverflowed;
  if (queue_.drain_into(out) > 0) return TakeOutcome::kEvents;
  // Events queued before the close are written first; then the stream ends.
  return closed_ ? TakeOutcome::kClosed : TakeOutcome::kNothing;
}

bool EventSubscription::ended() {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_ || queue_.overflowed();
}

PushOutcome EventSubscription::push(std::string event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return PushOutcome::kDropped;
  const PushOutcome outcome = queue_.push(std::move(event));
  if (outcome == PushOutcome::kOverflow) counters_->dropped.fetch_add(1);
  if ((outcome == PushOutcome::kFirst || outcome == PushOutcome::kOverflow) && wake_) wake_();
  return outcome;
}

void EventSubscription::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  if (wake_) wake_();
  wake_ = nullptr;
}

EventHub::EventHub(EventHubOptions options)
    : options_(options), counters_(std::make_shared<EventStreamCounters>()) {}

std::shared_ptr<EventSubscription> EventHub::subscribe() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_ || counters_->open.load() >= options_.max_streams) {
    counters_->refused.fetch_add(1);
    return nullptr;
  }
  // Counted before the object exists, so its destructor always has something to take back.
  counters_->open.fetch_add(1);
  counters_->opened.fetch_add(1);
  auto sub = std::make_shared<EventSubscription>(options_.queue_limit, counters_);
  if (!last_leader_.empty()) (void)sub->push(last_leader_);
  // Forget streams that have ended, so the list stays as long as the open ones.
  std::erase_if(subscriptions_, [](const auto& w) { return w.expired(); });
  subscriptions_.push_back(sub);
  return sub;
}

void EventHub::publish(std::string event) {
  std::vector<std::shared_ptr<EventSubscription>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    counters_->published.fetch_add(1);
    live.reserve(subscriptions_.size());
    std::erase_if(subscriptions_, [&](const auto& w) {
      auto s = w.lock();
      if (!s) return true;
      live.push_back(std::move(s));
      return false;
    });
  }
  // Pushed outside the hub's lock: a subscription's lock is never taken under it, so a wake-up
  // posting to an I/O thread cannot hold up subscribe() on another.
  for (auto& s : live) (void)s->push(event);
}

void EventHub::publish_item(std::string_view name, std::uint64_t version) {
  publish(format_sse_event("item", item_event_data(name, version)));
}

void EventHub::publish_leader(std::uint32_t id, std::uint64_t term) {
  std::string event = format_sse_event("leader", leader_event_data(id, term));
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_leader_ = event;
  }
  publish(std::move(event));
}

void EventHub::publish_resync(std::string_view reason) {
  publish(format_sse_event("resync", resync_event_data(reason)));
}

void EventHub::stop() {
  std::vector<std::shared_ptr<EventSubscription>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& w : subscriptions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    subscriptions_.clear();
  }
  for (auto& s : live) s->close();
}

std::vector<prometheus::MetricFamily> EventHub::metric_families() const {
  const auto& c = *counters_;
  using prometheus::MetricType;
  return {
      common::single_family("bazaar_event_streams", "Open GET /events streams.", MetricType::Gauge,
                            common::sample(c.open.load())),
      common::single_family("bazaar_event_streams_max",
                            "Bound on open event streams (--max-event-streams).", MetricType::Gauge,
                            common::sample(options_.max_streams)),
      common::single_family("bazaar_event_streams_opened_total", "Event streams opened.",
                            MetricType::Counter, common::sample(c.opened.load())),
      common::single_family("bazaar_event_streams_refused_total",
                            "Event streams refused with 503 (--max-event-streams reached).",
                            MetricType::Counter, common::sample(c.refused.load())),
      common::single_family(
          "bazaar_event_streams_dropped_total",
          "Event streams closed because the client fell --event-queue events behind.",
          MetricType::Counter, common::sample(c.dropped.load())),
      common::single_family("bazaar_events_published_total", "Events published to the streams.",
                            MetricType::Counter, common::sample(c.published.load())),
  };
}

}  // namespace bazaar::httpd
