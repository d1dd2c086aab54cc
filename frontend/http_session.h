// One HTTP/1.1 connection of the front end (Boost.Beast), after Beast's advanced server example.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "frontend/api_types.h"
#include "frontend/request_handler.h"

namespace bazaar::frontend {

class HttpSession;

/// Each connection lives on one I/O thread's own io_context (see HttpServer), so its handlers
/// never run concurrently and no strand is needed; the concrete executor type also spares the
/// type-erased any_io_executor on every operation.
using SessionExecutor = boost::asio::io_context::executor_type;
using SessionSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, SessionExecutor>;
using SessionStream = boost::beast::basic_stream<boost::asio::ip::tcp, SessionExecutor>;

/// Limits of the HTTP server (flags of bazaar-frontend).
struct HttpServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (see HttpServer::port())
  std::size_t threads = 1;
  std::size_t max_connections = 10000;  // beyond it new connections are closed at once
  /// Once the first byte of a request arrived, the whole request must arrive within this, else
  /// the connection is closed.
  std::chrono::milliseconds read_timeout{10000};
  /// A keep-alive connection may wait this long for its next request.
  std::chrono::milliseconds idle_timeout{30000};
  /// Writing one reply to a client that does not read.
  std::chrono::milliseconds write_timeout{10000};
  std::size_t body_limit = 64 * 1024;   // larger bodies get 413
  std::size_t header_limit = 8 * 1024;  // larger request heads get 431
};

/// What every session of one server shares. Owned by the HttpServer, which outlives its
/// sessions.
struct SessionShared {
  SessionShared(HttpServerOptions opts, RequestHandler& h) : options(std::move(opts)), handler(h) {}

  const HttpServerOptions options;
  RequestHandler& handler;
  std::atomic<bool> stopping{false};   // set once at shutdown: finish the current reply, close
  std::atomic<std::size_t> active{0};  // live sessions
  std::mutex mu;
  std::unordered_map<const HttpSession*, std::weak_ptr<HttpSession>> sessions;  // guarded by mu
};

/// Reads one request at a time (so pipelined requests are answered in order), hands it to the
/// RequestHandler, writes the reply, and repeats while keep-alive holds. All of its handlers
/// run on the thread of the connection's io_context. Bad input gets a JSON error and the connection
/// is closed: garbage 400, an over-long head 431, an over-large body 413. A request not finished
/// within read_timeout, and an idle keep-alive connection after idle_timeout, are closed.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(SessionSocket&& socket, SessionShared& shared);
  ~HttpSession();

  /// Registers with the server and starts reading. Call once, right after construction.
  void start();

  /// Server shutdown, from any thread: close now if between requests, else after the reply.
  void stop();

 private:
  enum class State : std::uint8_t { kIdle, kReading, kHandling, kWriting, kClosing };

  void wait_for_request();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void read_header();
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void read_body();
  void on_request(boost::beast::error_code ec, std::size_t bytes);
  void handle_request();
  void on_read_error(boost::beast::error_code ec);
  void send(ApiResponse reply, bool close_after);
  void hand_over(ApiResponse reply);
  void on_written(bool close, boost::beast::error_code ec, std::size_t bytes);
  void close_gracefully();
  void on_drained(boost::beast::error_code ec, std::size_t bytes);
  void close_now();

  SessionStream stream_;
  boost::beast::flat_buffer buffer_;  // may hold the start of a pipelined next request
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  std::array<char, 4096> drain_buffer_{};
  SessionShared& shared_;
  // The fields below are touched only on the connection's I/O thread.
  State state_ = State::kIdle;
  unsigned version_ = 11;  // HTTP version of the request being answered
  bool keep_alive_ = true;
  std::size_t drained_ = 0;
};

}  // namespace bazaar::frontend
