#include "broker/bus.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>
#include <zmq_addon.hpp>

#include "common/cli.h"
#include "common/stop_signal.h"
#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::broker {

namespace {
std::string_view view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}
}  // namespace

Bus::Bus(zmq::context_t& ctx, BusOptions options, BusMetrics* metrics)
    : options_(std::move(options)),
      xsub_(ctx, zmq::socket_type::xsub),
      xpub_(ctx, zmq::socket_type::xpub),
      control_(ctx, zmq::socket_type::rep),
      incarnation_(common::new_incarnation()),
      metrics_(metrics),
      monitor_(ctx, zmq::socket_type::pair) {
  common::configure_socket(xsub_);
  common::configure_socket(xpub_);
  common::configure_socket(control_);
  // Verbose: pass every subscribe upstream, even a repeat of a known topic, so that each new
  // subscriber triggers a replay of the last leader announcement.
  xpub_.set(zmq::sockopt::xpub_verbose, 1);
  common::bind_or_throw(xsub_, options_.xsub_endpoint, "--xsub");
  common::bind_or_throw(xpub_, options_.xpub_endpoint, "--xpub");
  common::bind_or_throw(control_, options_.control_endpoint, "--control");
  if (metrics_) {
    // Subscribers are the XPUB's connections: counted from its monitor, not from subscriptions
    // (one subscriber subscribes to several topics, and repeats them).
    const std::string monitor = "inproc://bus-xpub-monitor-" + std::to_string(incarnation_);
    if (zmq_socket_monitor(xpub_.handle(), monitor.c_str(),
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
      throw common::StartupError("cannot monitor the XPUB socket");
    }
    monitor_.connect(monitor);
  }
}

void Bus::read_monitor() {
  for (int n = 0; n < 64; ++n) {
    zmq::message_t event;
    zmq::message_t address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
    if (!event.more() || !monitor_.recv(address) || event.size() < 6) continue;
    std::uint16_t id = 0;
    std::memcpy(&id, event.data(), sizeof id);
    if (id == ZMQ_EVENT_ACCEPTED) ++subscribers_;
    if (id == ZMQ_EVENT_DISCONNECTED && subscribers_ > 0) --subscribers_;
    metrics_->set_subscribers(subscribers_);
  }
}

void Bus::run() {
  using clock = std::chrono::steady_clock;
  auto next_heartbeat = clock::now();
  zmq::pollitem_t items[] = {{xsub_.handle(), 0, ZMQ_POLLIN, 0},
                             {xpub_.handle(), 0, ZMQ_POLLIN, 0},
                             {control_.handle(), 0, ZMQ_POLLIN, 0},
                             {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
  const int n_items = metrics_ ? 4 : 3;
  spdlog::info("bus up: xsub {} xpub {} control {} (incarnation {:x})", options_.xsub_endpoint,
               options_.xpub_endpoint, options_.control_endpoint, incarnation_);
  while (!common::stop_requested()) {
    const auto now = clock::now();
    if (now >= next_heartbeat) {
      publish_heartbeat();
      next_heartbeat = now + options_.heartbeat_interval;
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - now);
    try {
      zmq::poll(items, n_items, std::max(wait, std::chrono::milliseconds(1)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (items[0].revents & ZMQ_POLLIN) forward_event();
    if (items[1].revents & ZMQ_POLLIN) handle_subscription();
    if (items[2].revents & ZMQ_POLLIN) handle_control();
    if (n_items > 3 && (items[3].revents & ZMQ_POLLIN)) read_monitor();
  }
  spdlog::info("bus stopping after {} events", events_forwarded_);
}

void Bus::forward_event() {
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(xsub_, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
  if (frames.size() == 2) cache_.offer(view(frames[0]), view(frames[1]));
  ++events_forwarded_;
  if (metrics_ && !frames.empty()) metrics_->count_forwarded(view(frames[0]));
  // XPUB never blocks: past a slow subscriber's high-water mark ZeroMQ drops for that subscriber,
  // which sees a gap in the event sequence and flushes what it cached.
  zmq::send_multipart(xpub_, frames, zmq::send_flags::dontwait);
}

void Bus::handle_subscription() {
  zmq::message_t msg;
  if (!xpub_.recv(msg, zmq::recv_flags::dontwait)) return;
  // Forward upstream so publishers' PUB sockets know what to send at all.
  xsub_.send(zmq::buffer(msg.data(), msg.size()), zmq::send_flags::dontwait);
  const auto bytes = view(msg);
  if (bytes.empty() || bytes[0] != 1) return;  // 0 = unsubscribe
  if (auto last = cache_.replay_for(bytes.substr(1))) {
    if (metrics_) metrics_->count_replay();
    xpub_.send(zmq::buffer(std::string_view(proto::kTopicLeader)), zmq::send_flags::sndmore);
    xpub_.send(zmq::buffer(*last), zmq::send_flags::dontwait);
  }
}

void Bus::handle_control() {
  zmq::message_t msg;
  if (!control_.recv(msg, zmq::recv_flags::dontwait)) return;
  std::string reply;
  auto req = proto::decode<proto::StatusRequest>(view(msg));
  if (req) {
    proto::StatusReply st;
    st.service = "broker";
    st.role = "bus";
    st.term = cache_.term();
    st.incarnation = incarnation_;
    st.log_size = events_forwarded_;
    reply = proto::encode(st);
  } else {
    reply =
        proto::encode(proto::ErrorReply{proto::Status::kBadRequest, proto::to_string(req.error)});
  }
  control_.send(zmq::buffer(reply), zmq::send_flags::dontwait);
}

void Bus::publish_heartbeat() {
  proto::Heartbeat hb;
  hb.header.publisher = "broker";
  hb.header.incarnation = incarnation_;
  hb.header.seq = ++heartbeat_seq_;
  hb.interval_ms = static_cast<std::uint32_t>(options_.heartbeat_interval.count());
  xpub_.send(zmq::buffer(std::string_view(proto::kTopicHeartbeat)), zmq::send_flags::sndmore);
  xpub_.send(zmq::buffer(proto::encode(hb)), zmq::send_flags::dontwait);
  if (metrics_) metrics_->count_heartbeat();
}

}  // namespace bazaar::broker
