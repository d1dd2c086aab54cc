// The front end's HTTP server: an acceptor and a pool of I/O threads (Boost.Asio/Beast).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "frontend/http_session.h"
#include "frontend/request_handler.h"

namespace bazaar::frontend {

/// Accepts connections and runs one HttpSession each on `threads` I/O threads. Each thread runs
/// its own io_context and new connections are dealt to them in turn ("one loop per thread"):
/// a connection's handlers always run on the same thread, so sessions need no strand, and a
/// reply ready on that thread (a cache hit) is written without waking another one. Connections
/// beyond max_connections are closed as soon as they are accepted.
class HttpServer {
 public:
  /// Binds and listens. Throws common::StartupError naming the address when it cannot (port
  /// busy, bad address). `handler` must outlive the server.
  HttpServer(HttpServerOptions options, RequestHandler& handler);
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

 private:
  void accept();
  void on_accept(boost::beast::error_code ec, SessionSocket socket);

  // Declared before the io_context so it is destroyed after it: sessions still queued in the
  // io_context unregister from it when they are destroyed.
  std::unique_ptr<SessionShared> shared_;
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs_;  // one per I/O thread
  std::size_t next_ioc_ = 0;  // the next connection's; touched only by the accepting handler
  boost::asio::ip::tcp::acceptor acceptor_;  // on iocs_[0]
  boost::asio::steady_timer retry_timer_;    // pauses accepting when out of file descriptors
  unsigned short port_ = 0;
  // Keeps the I/O threads running while a request waits on the bridge with no socket operation
  // pending (after shutdown closed the acceptor, nothing else would); dropped once drained.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;  // only touched by the owner thread (start/shutdown)
};

}  // namespace bazaar::frontend
