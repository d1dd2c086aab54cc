#include "storefront/cluster_monitor.h"

#include <spdlog/spdlog.h>

namespace bazaar::storefront {

ClusterMonitor::ClusterMonitor(zmq::context_t& ctx, ClusterMonitorOptions options)
    : options_(std::move(options)), broker_(ctx, options_.broker), catalog_(ctx, options_.catalog) {
  for (const auto& ep : options_.replicas) {
    replicas_.push_back(std::make_unique<common::RpcClient>(ctx, ep));
  }
  latest_.replicas.resize(options_.replicas.size());
}

ClusterMonitor::~ClusterMonitor() {
  stop();
}

void ClusterMonitor::start() {
  thread_ = std::thread([this] { run(); });
}

void ClusterMonitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ClusterProbe ClusterMonitor::latest() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  const bool was_watched = now < watched_until_;
  watched_until_ = now + options_.watch_window;
  if (!was_watched) wake_.notify_all();
  ClusterProbe p = latest_;
  p.age_ms = probed_
                 ? std::chrono::duration_cast<std::chrono::milliseconds>(now - probed_at_).count()
                 : -1;
  return p;
}

std::optional<proto::StatusReply> ClusterMonitor::ask(common::RpcClient& client) {
  try {
    auto r = client.call<proto::StatusReply>(proto::StatusRequest{}, options_.probe_timeout);
    if (r.ok()) return std::move(r.reply);
  } catch (const std::exception& e) {
    spdlog::debug("cluster probe {}: {}", client.endpoint(), e.what());
  }
  return std::nullopt;
}

void ClusterMonitor::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Sleep while nobody watches; latest() wakes us.
    if (Clock::now() >= watched_until_) {
      wake_.wait(lock, [&] { return stop_ || Clock::now() < watched_until_; });
      continue;
    }
    const auto started = Clock::now();
    lock.unlock();
    ClusterProbe round;
    round.broker = ask(broker_);
    round.catalog = ask(catalog_);
    for (auto& r : replicas_) round.replicas.push_back(ask(*r));
    lock.lock();
    latest_ = std::move(round);
    probed_at_ = Clock::now();
    probed_ = true;
    wake_.wait_until(lock, started + options_.interval, [&] { return stop_; });
  }
}

}  // namespace bazaar::storefront
