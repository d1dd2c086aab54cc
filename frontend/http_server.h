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

/// Accepts connections and runs one HttpSession each on `threads` I/O threads. Connections
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
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  // Declared before the io_context so it is destroyed after it: sessions still queued in the
  // io_context unregister from it when they are destroyed.
  std::unique_ptr<SessionShared> shared_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;  // pauses accepting when out of file descriptors
  unsigned short port_ = 0;
  // Keeps the I/O threads running while a request waits on the bridge with no socket operation
  // pending (after shutdown closed the acceptor, nothing else would); dropped once drained.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;  // only touched by the owner thread (start/shutdown)
};

}  // namespace bazaar::frontend
