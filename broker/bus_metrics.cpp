#include "broker/bus_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "proto_msgs/messages.h"

namespace bazaar::broker {

BusMetrics::BusMetrics(prometheus::Registry& registry) {
  auto& forwarded = prometheus::BuildCounter()
                        .Name("bazaar_broker_messages_forwarded_total")
                        .Help("Messages forwarded from publishers to subscribers, by topic")
                        .Register(registry);
  invalidations_ = &forwarded.Add({{"topic", proto::kTopicInvalidation}});
  leader_ = &forwarded.Add({{"topic", proto::kTopicLeader}});
  other_ = &forwarded.Add({{"topic", "other"}});
  subscribers_ = &prometheus::BuildGauge()
                      .Name("bazaar_broker_subscribers")
                      .Help("Connections to the subscriber (XPUB) endpoint")
                      .Register(registry)
                      .Add({});
  replays_ = &prometheus::BuildCounter()
                  .Name("bazaar_broker_last_value_replays_total")
                  .Help("Last leader announcements replayed to a new subscriber")
                  .Register(registry)
                  .Add({});
  heartbeats_ = &prometheus::BuildCounter()
                     .Name("bazaar_broker_heartbeats_total")
                     .Help("Heartbeats published")
                     .Register(registry)
                     .Add({});
}

void BusMetrics::count_forwarded(std::string_view topic) {
  if (topic == proto::kTopicInvalidation) {
    invalidations_->Increment();
  } else if (topic == proto::kTopicLeader) {
    leader_->Increment();
  } else {
    other_->Increment();
  }
}

void BusMetrics::set_subscribers(std::int64_t n) {
  subscribers_->Set(static_cast<double>(n));
}

void BusMetrics::count_replay() {
  replays_->Increment();
}

void BusMetrics::count_heartbeat() {
  heartbeats_->Increment();
}

}  // namespace bazaar::broker
