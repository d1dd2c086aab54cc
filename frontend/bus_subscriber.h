// Listens to the broker for leader announcements, heartbeats and invalidations, and feeds the
// LeaderTracker and the cache's coherence rules.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "frontend/cache_coherence.h"
#include "frontend/leader_tracker.h"
#include "httpd/event_hub.h"

namespace bazaar::frontend {

/// One SUB socket connected to the broker's XPUB endpoint, read by its own thread. ZeroMQ
/// reconnects by itself when the broker restarts; the broker then replays the last leader
/// announcement to us, and heartbeats resume.
class BusSubscriber {
 public:
  /// Connects (throws common::StartupError on a malformed endpoint); does not start reading.
  /// `coherence` (may be null: no cache) is then used by the reading thread only; it also gets
  /// a tick after every poll, at most kPollInterval apart, to notice lost heartbeats.
  /// `events` (may be null) gets every invalidation (after the cache has applied it, so a page
  /// that fetches the item again never reads the stale copy), every leader change, and a resync
  /// when events may have been lost (a bus restart, a sequence gap).
  BusSubscriber(zmq::context_t& ctx, const std::string& broker_xpub, LeaderTracker& tracker,
                CacheCoherence* coherence = nullptr, httpd::EventHub* events = nullptr);
  ~BusSubscriber();

  BusSubscriber(const BusSubscriber&) = delete;
  BusSubscriber& operator=(const BusSubscriber&) = delete;

  /// Starts the reading thread.
  void start();
  /// Stops and joins it (within one poll interval). Idempotent.
  void stop();

 private:
  void run();
  void on_message(const zmq::message_t& topic, const zmq::message_t& payload);

  zmq::socket_t socket_;  // used only by thread_ once started
  LeaderTracker& tracker_;
  CacheCoherence* const coherence_;
  httpd::EventHub* const events_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace bazaar::frontend
