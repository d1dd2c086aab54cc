#include "frontend/bus_subscriber.h"

#include <spdlog/spdlog.h>

#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {

namespace {
constexpr std::chrono::milliseconds kPollInterval{100};
}  // namespace

BusSubscriber::BusSubscriber(zmq::context_t& ctx, const std::string& broker_xpub,
                             LeaderTracker& tracker, CacheCoherence* coherence,
                             httpd::EventHub* events)
    : socket_(ctx, zmq::socket_type::sub),
      tracker_(tracker),
      coherence_(coherence),
      events_(events) {
  common::configure_socket(socket_);
  socket_.set(zmq::sockopt::subscribe, proto::kTopicLeader);
  socket_.set(zmq::sockopt::subscribe, proto::kTopicHeartbeat);
  // Subscribed before connecting, like the others, so the first heartbeat we hear proves the
  // broker has our "inv" subscription too.
  if (coherence_ != nullptr || events_ != nullptr) {
    socket_.set(zmq::sockopt::subscribe, proto::kTopicInvalidation);
  }
  common::connect_or_throw(socket_, broker_xpub, "bus endpoint");
}

BusSubscriber::~BusSubscriber() {
  stop();
}

void BusSubscriber::start() {
  thread_ = std::thread([this] { run(); });
}

void BusSubscriber::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void BusSubscriber::run() {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  while (!stop_.load()) {
    try {
      const int ready = zmq::poll(&item, 1, kPollInterval);
      if (coherence_ != nullptr) coherence_->on_tick(CacheCoherence::Clock::now());
      if (ready <= 0) continue;
      // Drain what is queued, each event being [topic, envelope].
      for (;;) {
        zmq::message_t topic;
        if (!socket_.recv(topic, zmq::recv_flags::dontwait)) break;
        if (!topic.more()) continue;  // a stray single frame: ignore it
        zmq::message_t payload;
        if (!socket_.recv(payload, zmq::recv_flags::dontwait)) break;
        // Extra frames are not ours to interpret: skip them (a multipart message arrives whole).
        bool more = payload.more();
        while (more) {
          zmq::message_t extra;
          if (!socket_.recv(extra, zmq::recv_flags::dontwait)) break;
          more = extra.more();
        }
        on_message(topic, payload);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::error("bus subscriber: {}", e.what());
      std::this_thread::sleep_for(kPollInterval);
    }
  }
}

void BusSubscriber::on_message(const zmq::message_t& topic, const zmq::message_t& payload) {
  const std::string_view bytes(static_cast<const char*>(payload.data()), payload.size());
  const auto now = LeaderTracker::Clock::now();
  const std::string_view t = topic.to_string_view();
  if (t == proto::kTopicHeartbeat) {
    auto hb = proto::decode<proto::Heartbeat>(bytes);
    if (hb) {
      tracker_.note_heartbeat(hb->interval_ms, now);
      if (coherence_ != nullptr) {
        const StreamStep step = coherence_->on_heartbeat(*hb, now);
        if (events_ != nullptr &&
            (step == StreamStep::kGap || step == StreamStep::kNewIncarnation)) {
          events_->publish_resync("bus");
        }
      }
    } else {
      spdlog::debug("bus: undecodable heartbeat: {}", proto::to_string(hb.error));
    }
  } else if (t == proto::kTopicInvalidation) {
    if (coherence_ == nullptr && events_ == nullptr) return;
    auto inv = proto::decode<proto::Invalidation>(bytes);
    if (inv) {
      const StreamStep step =
          coherence_ != nullptr ? coherence_->on_invalidation(*inv) : StreamStep::kNext;
      if (events_ != nullptr) {
        if (step == StreamStep::kGap || step == StreamStep::kNewIncarnation) {
          events_->publish_resync("catalog");
        }
        events_->publish_item(inv->name, inv->version);
      }
    } else if (coherence_ == nullptr) {
      events_->publish_resync("catalog");
    } else {
      // We cannot tell which item changed: everything may be stale.
      spdlog::warn("bus: undecodable invalidation ({}): flushing the cache",
                   proto::to_string(inv.error));
      coherence_->on_undecodable_invalidation();
      if (events_ != nullptr) events_->publish_resync("catalog");
    }
  } else if (t == proto::kTopicLeader) {
    auto ann = proto::decode<proto::LeaderAnnouncement>(bytes);
    if (!ann) {
      spdlog::warn("bus: undecodable leader announcement: {}", proto::to_string(ann.error));
      return;
    }
    // A leader this front end has no socket for (added to the cluster since it started): the
    // order link connects to it, and a later announcement is then taken.
    tracker_.note_endpoint(ann->id, ann->endpoint);
    const auto before = tracker_.leader();
    if (!tracker_.note_leader(ann->id, ann->term)) {
      spdlog::debug("ignored leader announcement id {} term {}", ann->id, ann->term);
    } else if (!before || before->id != ann->id || before->term != ann->term) {
      // Leaders re-announce periodically: log changes only.
      spdlog::info("leader is order replica {} (term {}, {})", ann->id, ann->term, ann->endpoint);
      if (events_ != nullptr) events_->publish_leader(ann->id, ann->term);
    }
  }
}

}  // namespace bazaar::frontend
