// One HTTP/1.1 connection of the front end (Boost.Beast), after Beast's advanced server example.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "httpd/http_message.h"
#include "httpd/http_request_handler.h"

namespace bazaar::httpd {

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
  /// Open connections. When all are taken, the connection idle the longest (between requests,
  /// or not yet sent a byte) is closed to admit a new one; with none idle the new one gets 503.
  std::size_t max_connections = 10000;
  /// Open connections from one client address (0: no bound). Beyond it the client's own
  /// longest-idle connection is closed to admit a new one, or the new one gets 503.
  std::size_t max_connections_per_client = 1000;
  /// Once the first byte of a request arrived, the whole request must arrive within this, else
  /// the connection is closed.
  std::chrono::milliseconds read_timeout{10000};
  /// A keep-alive connection may wait this long for its next request.
  std::chrono::milliseconds idle_timeout{30000};
  /// Writing one reply to a client that does not read.
  std::chrono::milliseconds write_timeout{10000};
  std::size_t body_limit = kMaxBodyBytes;    // larger bodies get 413
  std::size_t header_limit = kMaxHeadBytes;  // larger request heads get 431
};

/// Bytes a chunked body may spend on framing (chunk-size lines, extensions, trailers) on top of
/// body_limit before it gets 413: a few KiB cover any honest client's chunking.
inline constexpr std::size_t kFramingMargin = 4 * 1024;

/// The most a connection's read buffer may hold: a whole head, a whole body and its framing.
/// Anything that needs more (a chunk-size line, extension or trailer that never ends) is refused
/// instead of buffered.
std::size_t max_read_buffer(const HttpServerOptions& options);

/// How the server admitted (or turned away) connections; counted in /metrics.
struct ConnectionCounts {
  std::uint64_t evicted_idle = 0;         // idle ones closed to admit a new one (table full)
  std::uint64_t evicted_per_client = 0;   // a client's own idle ones closed (its cap reached)
  std::uint64_t rejected_full = 0;        // 503: every connection busy
  std::uint64_t rejected_per_client = 0;  // 503: the client's cap reached, none of its idle
  std::uint64_t shed_no_descriptors = 0;  // 503 at accept: no file descriptor left
};

/// The verdict on a request head's framing: status 0 when it is fine, else the error to answer
/// (the connection then closes).
struct FramingVerdict {
  unsigned status = 0;
  std::string message;
};

/// RFC 9112 section 6 and 3.2 on a parsed head: Transfer-Encoding only on HTTP/1.1 and with
/// chunked as its final coding, once (else 400), no coding but chunked (else 501); exactly one
/// Host on HTTP/1.1 (else 400). Pure.
FramingVerdict check_framing(const boost::beast::http::request_header<>& req);

/// What every session of one server shares. Owned by the HttpServer, which outlives its
/// sessions.
struct SessionShared {
  SessionShared(HttpServerOptions opts, HttpRequestHandler& h)
      : options(std::move(opts)), handler(h) {}

  const HttpServerOptions options;
  HttpRequestHandler& handler;
  std::atomic<bool> stopping{false};      // set once at shutdown: finish the current reply, close
  std::atomic<std::size_t> active{0};     // live sessions
  std::atomic<std::size_t> rejecting{0};  // sessions that only answer 503 and close
  std::atomic<std::size_t> evicting{0};   // sessions claimed for eviction, not yet gone
  std::atomic<std::uint64_t> evicted_idle{0};
  std::atomic<std::uint64_t> evicted_per_client{0};
  std::atomic<std::uint64_t> rejected_full{0};
  std::atomic<std::uint64_t> rejected_per_client{0};
  std::mutex mu;
  std::unordered_map<const HttpSession*, std::weak_ptr<HttpSession>> sessions;  // guarded by mu
  std::map<boost::asio::ip::address, std::size_t> per_client;                   // guarded by mu
};

/// Reads one request at a time (so pipelined requests are answered in order), hands it to the
/// HttpRequestHandler, writes the reply, and repeats while keep-alive holds. All of its handlers
/// run on the thread of the connection's io_context. Bad input gets a JSON error and the connection
/// is closed: garbage 400, an over-long head 431, an over-large body 413. A request not finished
/// within read_timeout, and an idle keep-alive connection after idle_timeout, are closed.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  /// `client` is the peer's address, counted in shared.per_client (the caller incremented it);
  /// `client_count` points at that count (read under shared.mu).
  HttpSession(SessionSocket&& socket, SessionShared& shared, boost::asio::ip::address client,
              const std::size_t* client_count);
  /// A session that answers only `reject_reason` (503 with Retry-After) and closes; it is not
  /// counted per client and never idle.
  HttpSession(SessionSocket&& socket, SessionShared& shared, std::string reject_reason);
  ~HttpSession();

  /// Registers with the server and starts reading. Call once, right after construction.
  void start();

  /// Server shutdown, from any thread: close now if between requests, else after the reply.
  void stop();

  /// Since when the connection waits for the first byte of a request (steady clock ns), or
  /// kBusy. Read by the acceptor under shared.mu to pick the longest idle.
  static constexpr std::uint64_t kBusy = 0;
  static constexpr std::uint64_t kEvicting = ~std::uint64_t{0};
  std::uint64_t idle_since() const { return idle_since_.load(std::memory_order_relaxed); }
  const boost::asio::ip::address& client() const { return client_; }
  /// True when the client's next bytes wait in the socket unread. Any thread; a socket closed
  /// meanwhile (its descriptor maybe reused) can only make the answer wrong, never unsafe.
  bool has_unread_bytes() const;
  /// Connections open from this session's client. Call with shared.mu held.
  std::size_t client_connections() const { return client_count_ ? *client_count_ : 0; }

  /// From the acceptor's thread: closes the connection if it is still idle (since `since`, as
  /// read by idle_since()). True when it will close: the session cannot start a request after.
  bool try_evict(std::uint64_t since);

 private:
  enum class State : std::uint8_t { kIdle, kReading, kHandling, kWriting, kClosing };

  void wait_for_request();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void read_header();
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void read_body();
  void on_body_bytes(boost::beast::error_code ec, std::size_t bytes);
  void on_request(boost::beast::error_code ec, std::size_t bytes);
  void handle_request();
  void on_read_error(boost::beast::error_code ec);
  void send(HttpResponse reply, bool close_after);
  void hand_over(HttpResponse reply);
  void on_written(bool close, boost::beast::error_code ec, std::size_t bytes);
  void close_gracefully();
  void on_drained(boost::beast::error_code ec, std::size_t bytes);
  void close_now();

  SessionStream stream_;
  // May hold the start of a pipelined next request; at most max_read_buffer() bytes.
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::empty_body> continue_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  std::array<char, 4096> drain_buffer_{};
  SessionShared& shared_;
  const boost::asio::ip::address client_;
  const bool counted_per_client_;
  const std::size_t* const client_count_ = nullptr;  // in shared_.per_client, guarded by its mu
  const int fd_;  // the socket's descriptor number, for has_unread_bytes() from other threads
  const std::string reject_reason_;  // non-empty: answer 503 with it and close
  // kBusy, kEvicting, or when it went idle. Written by the I/O thread, claimed by the acceptor.
  std::atomic<std::uint64_t> idle_since_{kBusy};
  // The fields below are touched only on the connection's I/O thread.
  State state_ = State::kIdle;
  unsigned version_ = 11;  // HTTP version of the request being answered
  bool head_ = false;      // the request being answered is HEAD: send no body
  bool keep_alive_ = true;
  std::size_t drained_ = 0;
  std::size_t body_wire_bytes_ = 0;  // of the request being read: body and chunk framing
};

}  // namespace bazaar::httpd
