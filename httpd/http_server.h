// The front end's HTTP server: an acceptor and a pool of I/O threads (Boost.Asio/Beast).
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "httpd/http_request_handler.h"
#include "httpd/http_session.h"

namespace bazaar::httpd {

/// Sessions at once that only answer 503 and close (each for at most the write timeout and a
/// second of draining), on top of max_connections; beyond them a refused connection is closed
/// without a reply.
inline constexpr std::size_t kRejectSessions = 64;
/// Connections claimed for eviction but not yet closed that are not counted against
/// max_connections (so the table may hold this many more for a moment).
inline constexpr std::size_t kEvictingSlack = 64;

/// Accepts connections and runs one HttpSession each on `threads` I/O threads. Each thread runs
/// its own io_context and new connections are dealt to them in turn ("one loop per thread"):
/// a connection's handlers always run on the same thread, so sessions need no strand, and a
/// reply ready on that thread (a cache hit) is written without waking another one. A connection
/// beyond max_connections (or max_connections_per_client) makes room by closing the one idle
/// the longest (of that client); with none idle it is answered 503 with Retry-After and closed.
/// Out of file descriptors, a queued connection is answered 503 with a spare descriptor.
class HttpServer {
 public:
  /// Binds and listens. Throws common::StartupError naming the address when it cannot (port
  /// busy, bad address). `handler` must outlive the server.
  HttpServer(HttpServerOptions options, HttpRequestHandler& handler);
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The bound port (the real one when options.port was 0).
  unsigned short port() const { return port_; }

  /// Starts accepting and the I/O threads.
  void start();

  /// Stops accepting, closes idle connections, lets in-flight requests be answered for at most
  /// `drain`, then stops the I/O threads and joins them. Idempotent.
  void shutdown(std::chrono::milliseconds drain);

  /// Connections currently open.
  std::size_t connections() const { return shared_->active.load(); }

  /// How connections were admitted or turned away so far. Thread-safe.
  ConnectionCounts connection_counts() const;

 private:
  void accept();
  void on_accept(boost::beast::error_code ec, SessionSocket socket);
  /// Decides on a new connection from `client`: "" to admit it (after closing an idle one when
  /// a bound is reached), else why it gets 503. Counts it in per_client when admitted and points
  /// `client_count` at that count.
  std::string admit(const boost::asio::ip::address& client, const std::size_t*& client_count);
  /// Claims an idle connection and closes it: of `client` the longest idle; without a client,
  /// the longest idle of the client holding the most connections. False when none is idle. Call
  /// with shared_->mu held; the sessions it looked at go to `held`, to be released after the lock.
  bool evict_longest_idle(const boost::asio::ip::address* client,
                          std::vector<std::shared_ptr<HttpSession>>& held);
  /// Logs an accept failure, at most once per interval with a count of those not logged.
  void log_accept_error(const boost::beast::error_code& ec);
  /// Out of descriptors: frees the spare one, accepts one queued connection, answers it 503 and
  /// closes it, and takes the spare back. False when there was nothing to accept or no spare.
  bool shed_one_connection();

  // Declared before the io_context so it is destroyed after it: sessions still queued in the
  // io_context unregister from it when they are destroyed.
  std::unique_ptr<SessionShared> shared_;
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;  // one per I/O thread
  std::size_t next_ioc_ = 0;  // the next connection's; touched only by the accepting handler
  boost::asio::ip::tcp::acceptor acceptor_;  // on iocs_[0]
  boost::asio::steady_timer retry_timer_;    // pauses accepting when out of file descriptors
  // The accepting handler's own (like next_ioc_): a descriptor held back for shedding
  // connections when the table is full, and the accept-failure log's rate limit.
  int spare_fd_ = -1;
  std::uint64_t accept_errors_ = 0;
  bool accept_errors_logged_ = false;
  std::chrono::steady_clock::time_point last_accept_log_{};
  std::atomic<std::uint64_t> shed_{0};
  unsigned short port_ = 0;
  // Keeps the I/O threads running while a request waits on a link with no socket operation
  // pending (after shutdown closed the acceptor, nothing else would); dropped once drained.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;  // only touched by the owner thread (start/shutdown)
};

}  // namespace bazaar::httpd
