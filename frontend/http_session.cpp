#include "frontend/http_session.h"

#include <spdlog/spdlog.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "frontend/api_reply.h"
#include "frontend/request_parsing.h"
#include "frontend/stream_handoff.h"

namespace bazaar::frontend {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

constexpr std::size_t kFirstReadBytes = 4096;
// After the last reply of a connection: how long and how much we read and discard so the
// client gets the reply instead of a reset (closing with unread input makes the kernel send
// RST, which can destroy the reply still in flight).
constexpr std::chrono::milliseconds kDrainTime{1000};
constexpr std::chrono::milliseconds kDrainTimeStopping{200};
constexpr std::size_t kDrainBytes = 1 << 20;

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

HttpSession::HttpSession(SessionSocket&& socket, SessionShared& shared)
    : stream_(std::move(socket)), shared_(shared) {
  shared_.active.fetch_add(1);
}

HttpSession::~HttpSession() {
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.sessions.erase(this);
  }
  shared_.active.fetch_sub(1);
}

void HttpSession::start() {
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.sessions.emplace(this, weak_from_this());
  }
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&HttpSession::wait_for_request, shared_from_this()));
}

void HttpSession::stop() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    // Between requests (or part-way into one nobody is waiting for yet): close now. A request
    // being handled or written finishes first; send() sees `stopping` and closes after it.
    if (self->state_ == State::kIdle || self->state_ == State::kReading) self->close_now();
  });
}

void HttpSession::wait_for_request() {
  if (shared_.stopping.load()) {
    close_now();
    return;
  }
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(shared_.options.header_limit));
  parser_->body_limit(shared_.options.body_limit);
  if (buffer_.size() == 0) {
    // Idle keep-alive: wait for the first byte under the (long) idle deadline; the (short)
    // read deadline starts once a request has begun.
    state_ = State::kIdle;
    stream_.expires_after(shared_.options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        beast::bind_front_handler(&HttpSession::on_first_bytes, shared_from_this()));
    return;
  }
  on_first_bytes({}, 0);  // a pipelined request is already buffered
}

void HttpSession::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    close_now();  // idle timeout, the client closed, or shutdown: nothing to answer
    return;
  }
  buffer_.commit(bytes);
  state_ = State::kReading;
  const auto data = buffer_.cdata();
  const std::string_view start(static_cast<const char*>(data.data()), data.size());
  if (sniff_request_start(start) == RequestStart::kGarbage) {
    shared_.handler.on_rejected(400);
    send(error_reply(400, "malformed HTTP request"), true);
    return;
  }
  read_header();
}

void HttpSession::read_header() {
  stream_.expires_after(shared_.options.read_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&HttpSession::on_header, shared_from_this()));
}

void HttpSession::on_header(beast::error_code ec, std::size_t) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  const auto& req = parser_->get();
  const auto expect = req.find(http::field::expect);
  if (expect != req.end() && boost::algorithm::iequals(expect->value(), "100-continue") &&
      !parser_->is_done()) {
    // curl waits a second for this before sending a body over 1 KiB; the body limit was
    // already checked against Content-Length, so the body is welcome.
    continue_ = {};
    continue_.version(11);
    continue_.result(http::status::continue_);
    http::async_write(stream_, continue_,
                      [self = shared_from_this()](beast::error_code wec, std::size_t) {
                        if (wec) {
                          self->close_now();
                          return;
                        }
                        self->read_body();
                      });
    return;
  }
  read_body();
}

void HttpSession::read_body() {
  if (parser_->is_done()) {
    on_request({}, 0);
    return;
  }
  // The read deadline set before the header still runs: it bounds the whole request.
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_request, shared_from_this()));
}

void HttpSession::on_request(beast::error_code ec, std::size_t) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  handle_request();
}

void HttpSession::on_read_error(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    shared_.handler.on_rejected(413);
    send(error_reply(413, "request body over 64 KiB"), true);
  } else if (ec == http::error::header_limit) {
    shared_.handler.on_rejected(431);
    send(error_reply(431, "request head over 8 KiB"), true);
  } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
             !is_parse_error(ec)) {
    // The client went away, shutdown cancelled the read, or the read deadline passed: on a
    // timeout tcp_stream has already closed the socket, so there is no one to answer.
    close_now();
  } else {
    shared_.handler.on_rejected(400);
    send(error_reply(400, "malformed HTTP request: " + ec.message()), true);
  }
}

void HttpSession::handle_request() {
  state_ = State::kHandling;
  stream_.expires_never();  // the handler bounds its own time (request deadline)
  auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();

  ApiRequest api;
  api.method = std::string(req.method_string());
  api.target = std::string(req.target());
  for (const auto& field : req) {
    api.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  api.body = std::move(req.body());

  // The reply may come from a bridge or link thread: hop back onto this connection's thread.
  // Called on it (an immediate reply, a cache hit), dispatch runs send() at once instead of
  // queueing it: one trip through the scheduler less on the hottest path.
  auto done = [self = shared_from_this(), ex = stream_.get_executor()](ApiResponse reply) {
    net::dispatch(
        ex, [self, reply = std::move(reply)]() mutable { self->send(std::move(reply), false); });
  };
  try {
    shared_.handler.handle(std::move(api), std::move(done));
  } catch (const std::exception& e) {
    spdlog::error("request handler failed: {}", e.what());
    send(error_reply(500, "internal error"), true);
  }
}

void HttpSession::send(ApiResponse reply, bool close_after) {
  if (reply.stream && !close_after) {
    hand_over(std::move(reply));
    return;
  }
  state_ = State::kWriting;
  const bool close = close_after || !keep_alive_ || shared_.stopping.load();
  response_ = {};
  response_.version(version_ == 10 ? 10 : 11);
  response_.result(reply.status);
  response_.set(http::field::server, "bazaar-frontend");
  response_.set(http::field::content_type,
                beast::string_view(reply.content_type.data(), reply.content_type.size()));
  for (auto& [name, value] : reply.headers) response_.set(name, value);
  response_.body() = std::move(reply.body);
  response_.keep_alive(!close);
  response_.prepare_payload();
  stream_.expires_after(shared_.options.write_timeout);
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&HttpSession::on_written, shared_from_this(), close));
}

void HttpSession::hand_over(ApiResponse reply) {
  // The stream owns the connection from here: the session's read and idle deadlines stop, and
  // with the socket gone the session ends once this handler returns. Bytes the client sent
  // after the request (in buffer_) are dropped: a stream takes no further requests.
  state_ = State::kClosing;
  if (shared_.stopping.load()) {
    close_now();
    return;
  }
  stream_.expires_never();
  reply.stream->start(stream_.release_socket(), version_);
}

void HttpSession::on_written(bool close, beast::error_code ec, std::size_t) {
  if (ec) {
    close_now();
    return;
  }
  if (close) {
    close_gracefully();
    return;
  }
  wait_for_request();
}

void HttpSession::close_gracefully() {
  state_ = State::kClosing;
  beast::error_code ec;
  stream_.socket().shutdown(net::socket_base::shutdown_send, ec);
  if (ec) {
    close_now();
    return;
  }
  drained_ = 0;
  stream_.expires_after(shared_.stopping.load() ? kDrainTimeStopping : kDrainTime);
  stream_.async_read_some(net::buffer(drain_buffer_),
                          beast::bind_front_handler(&HttpSession::on_drained, shared_from_this()));
}

void HttpSession::on_drained(beast::error_code ec, std::size_t bytes) {
  drained_ += bytes;
  if (ec || drained_ >= kDrainBytes) {
    close_now();
    return;
  }
  stream_.async_read_some(net::buffer(drain_buffer_),
                          beast::bind_front_handler(&HttpSession::on_drained, shared_from_this()));
}

void HttpSession::close_now() {
  state_ = State::kClosing;
  beast::error_code ec;
  stream_.socket().shutdown(net::socket_base::shutdown_both, ec);
  stream_.close();
}

}  // namespace bazaar::frontend
