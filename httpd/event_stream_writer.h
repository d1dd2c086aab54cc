// Writes one client's GET /events stream (Server-Sent Events) on its connection's I/O thread.
#pragma once

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "httpd/event_hub.h"
#include "httpd/http_session.h"
#include "httpd/stream_handoff.h"

namespace bazaar::httpd {

struct EventStreamOptions {
  /// One write may take this long; a client that does not read is closed after it.
  std::chrono::milliseconds write_timeout{10000};
  /// A comment line this often keeps the connection open through idle proxies and shows a dead
  /// peer (the write fails).
  std::chrono::milliseconds keepalive{15000};
  /// Sent as "retry:": how soon a browser reconnects after the stream ends.
  std::uint32_t retry_ms = 1000;
};

/// Owns the connection once the session handed it over: writes the response head, then every
/// event the subscription yields, one write at a time (events that arrive meanwhile are batched
/// into the next). Closes the connection when the client closes or sends a byte stream error,
/// when a write exceeds write_timeout, when the subscription overflows (the client fell behind:
/// dropped, not waited for), or when the hub stops. All handlers run on the socket's I/O thread.
class EventStreamWriter : public std::enable_shared_from_this<EventStreamWriter> {
 public:
  EventStreamWriter(SessionSocket socket, std::shared_ptr<EventSubscription> subscription,
                    EventStreamOptions options);

  /// Call once, on the socket's I/O thread.
  void start(unsigned http_version);

 private:
  void drain();
  void on_written(boost::system::error_code ec, std::size_t bytes);
  void arm_keepalive();
  void read_until_close();
  void close();

  SessionSocket socket_;
  boost::asio::steady_timer write_timer_;
  boost::asio::steady_timer keepalive_timer_;
  std::shared_ptr<EventSubscription> subscription_;  // null once closed
  const EventStreamOptions options_;
  std::string pending_;  // bytes to write next
  std::string writing_;  // bytes of the write in progress
  bool busy_ = false;    // a write is in progress
  bool closed_ = false;
  std::array<char, 512> discard_{};  // what the client sends is read and ignored
};

/// The StreamHandoff of a GET /events reply: starts an EventStreamWriter on the connection.
class EventStreamHandoff : public StreamHandoff {
 public:
  EventStreamHandoff(std::shared_ptr<EventSubscription> subscription, EventStreamOptions options);
  void start(SessionSocket socket, unsigned http_version) override;

 private:
  std::shared_ptr<EventSubscription> subscription_;
  const EventStreamOptions options_;
};

}  // namespace bazaar::httpd
