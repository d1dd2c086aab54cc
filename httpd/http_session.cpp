#include "httpd/http_session.h"

#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <vector>

#include "httpd/error_reply.h"
#include "httpd/request_start.h"
#include "httpd/stream_handoff.h"

namespace bazaar::httpd {

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

std::size_t max_read_buffer(const HttpServerOptions& options) {
  return options.header_limit + options.body_limit + kFramingMargin;
}

FramingVerdict check_framing(const http::request_header<>& req) {
  // RFC 9112 section 6: Transfer-Encoding is a list over every field line; chunked must be the
  // final coding, exactly once, and it is the only coding this server knows.
  std::vector<std::string> codings;
  bool any_te = false;
  for (const auto& field : req) {
    if (field.name() != http::field::transfer_encoding) continue;
    any_te = true;
    std::string_view list(field.value().data(), field.value().size());
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) continue;
      std::string lower(item);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      codings.push_back(std::move(lower));
    }
  }
  if (any_te) {
    if (req.version() < 11) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (codings.empty() || codings.back() != "chunked") {
      return {400, "Transfer-Encoding whose final coding is not chunked"};
    }
    for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
      if (codings[i] == "chunked") return {400, "chunked applied more than once"};
      return {501, "unknown transfer coding '" + codings[i] + "'"};
    }
  }
  if (req.version() >= 11) {
    std::size_t hosts = 0;
    for (const auto& field : req) hosts += field.name() == http::field::host ? 1 : 0;
    if (hosts != 1) return {400, hosts == 0 ? "no Host header" : "more than one Host header"};
  }
  return {};
}

static std::uint64_t steady_now_ns() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  return static_cast<std::uint64_t>(ns) + 1;  // never kBusy
}

HttpSession::HttpSession(SessionSocket&& socket, SessionShared& shared,
                         boost::asio::ip::address client, const std::size_t* client_count)
    : stream_(std::move(socket)),
      buffer_(max_read_buffer(shared.options)),
      shared_(shared),
      client_(std::move(client)),
      counted_per_client_(true),
      client_count_(client_count),
      fd_(stream_.socket().native_handle()),
      // Idle from the start: a connection that has not spoken yet holds a place like one
      // between requests (and must not look busy while its first handler is still queued).
      idle_since_(steady_now_ns()) {
  shared_.active.fetch_add(1);
}

HttpSession::HttpSession(SessionSocket&& socket, SessionShared& shared, std::string reject_reason)
    : stream_(std::move(socket)),
      buffer_(max_read_buffer(shared.options)),
      shared_(shared),
      counted_per_client_(false),
      fd_(stream_.socket().native_handle()),
      reject_reason_(std::move(reject_reason)) {
  shared_.active.fetch_add(1);
  shared_.rejecting.fetch_add(1);
}

HttpSession::~HttpSession() {
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    shared_.sessions.erase(this);
    if (counted_per_client_) {
      const auto it = shared_.per_client.find(client_);
      if (it != shared_.per_client.end() && --it->second == 0) shared_.per_client.erase(it);
    }
  }
  if (!reject_reason_.empty()) shared_.rejecting.fetch_sub(1);
  if (idle_since_.load() == kEvicting) shared_.evicting.fetch_sub(1);
  shared_.active.fetch_sub(1);
}

bool HttpSession::has_unread_bytes() const {
  int unread = 0;
  return ::ioctl(fd_, FIONREAD, &unread) == 0 && unread > 0;
}

bool HttpSession::try_evict(std::uint64_t since) {
  if (since == kBusy || since == kEvicting) return false;
  if (!idle_since_.compare_exchange_strong(since, kEvicting)) return false;  // it woke up
  shared_.evicting.fetch_add(1);
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
  return true;
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
  if (!reject_reason_.empty()) {
    // Answered before the request is read: the client learns at once, and the drain after the
    // reply keeps its request from turning the close into a reset.
    send(error_reply(503, reject_reason_), true);
    return;
  }
  head_ = false;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(shared_.options.header_limit));
  parser_->body_limit(shared_.options.body_limit);
  if (buffer_.size() == 0) {
    // Idle keep-alive: wait for the first byte under the (long) idle deadline; the (short)
    // read deadline starts once a request has begun.
    state_ = State::kIdle;
    // Idle from now (a new connection: since it was accepted): the acceptor may close it to
    // make room. Unless it already claimed it.
    std::uint64_t since = idle_since_.load();
    const std::uint64_t now = since == kBusy ? steady_now_ns() : since;
    while (since != kEvicting && !idle_since_.compare_exchange_weak(since, now)) {
    }
    if (since == kEvicting) {
      close_now();
      return;
    }
    stream_.expires_after(shared_.options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(kFirstReadBytes),
        beast::bind_front_handler(&HttpSession::on_first_bytes, shared_from_this()));
    return;
  }
  on_first_bytes({}, 0);  // a pipelined request is already buffered
}

void HttpSession::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  // Busy from now, unless the acceptor claimed it for eviction first: then it closes without
  // reading what came (a client must expect an idle keep-alive connection to close).
  std::uint64_t since = idle_since_.load();
  while (since != kEvicting && !idle_since_.compare_exchange_weak(since, kBusy)) {
  }
  if (since == kEvicting || ec) {
    close_now();  // evicted, idle timeout, the client closed, or shutdown: nothing to answer
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
  head_ = req.method() == http::verb::head;
  if (const FramingVerdict v = check_framing(req); v.status != 0) {
    // Where the body ends is in doubt (or the request is not HTTP/1.1 as it claims): answer and
    // close, so nothing after it can be read as a request of its own.
    shared_.handler.on_rejected(v.status);
    send(error_reply(v.status, v.message), true);
    return;
  }
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
  body_wire_bytes_ = 0;
  // One element (chunk header, chunk data, trailer) a step: an eager parser would keep reading
  // inside one step while the last element is incomplete, past any count of ours.
  parser_->eager(false);
  // The read deadline set before the header still runs: it bounds the whole request.
  http::async_read_some(stream_, buffer_, *parser_,
                        beast::bind_front_handler(&HttpSession::on_body_bytes, shared_from_this()));
}

void HttpSession::on_body_bytes(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    on_read_error(ec);
    return;
  }
  // Why count the bytes the parser consumed rather than trust its body limit: Beast counts only
  // chunk data, so chunk extensions and trailers would cost memory and time without end.
  body_wire_bytes_ += bytes;
  if (body_wire_bytes_ > shared_.options.body_limit + kFramingMargin) {
    on_read_error(http::error::body_limit);
    return;
  }
  if (parser_->is_done()) {
    on_request({}, 0);
    return;
  }
  http::async_read_some(stream_, buffer_, *parser_,
                        beast::bind_front_handler(&HttpSession::on_body_bytes, shared_from_this()));
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
    send(error_reply(413, over_limit("body", shared_.options.body_limit)), true);
  } else if (ec == http::error::header_limit ||
             (ec == http::error::buffer_overflow && !parser_->is_header_done())) {
    shared_.handler.on_rejected(431);
    send(error_reply(431, over_limit("head", shared_.options.header_limit)), true);
  } else if (ec == http::error::buffer_overflow) {
    // A chunk-size line, extension or trailer longer than any body may be.
    shared_.handler.on_rejected(413);
    send(error_reply(413,
                     over_limit("body", shared_.options.body_limit) + " (chunk framing counted)"),
         true);
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

  HttpRequest api;
  api.method = std::string(req.method_string());
  api.target = std::string(req.target());
  for (const auto& field : req) {
    api.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  api.body = std::move(req.body());

  // The reply may come from a link thread: hop back onto this connection's thread.
  // Called on it (an immediate reply, a cache hit), dispatch runs send() at once instead of
  // queueing it: one trip through the scheduler less on the hottest path.
  auto done = [self = shared_from_this(), ex = stream_.get_executor()](HttpResponse reply) {
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

void HttpSession::send(HttpResponse reply, bool close_after) {
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
  response_.keep_alive(!close);
  if (head_) {
    // HEAD: the head a GET would get, its Content-Length included, and no body.
    response_.content_length(reply.body.size());
  } else {
    response_.body() = std::move(reply.body);
    response_.prepare_payload();
  }
  stream_.expires_after(shared_.options.write_timeout);
  http::async_write(stream_, response_,
                    beast::bind_front_handler(&HttpSession::on_written, shared_from_this(), close));
}

void HttpSession::hand_over(HttpResponse reply) {
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

}  // namespace bazaar::httpd
