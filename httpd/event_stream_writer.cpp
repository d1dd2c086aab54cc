#include "httpd/event_stream_writer.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "httpd/sse_format.h"

namespace bazaar::httpd {

namespace net = boost::asio;

EventStreamWriter::EventStreamWriter(SessionSocket socket,
                                     std::shared_ptr<EventSubscription> subscription,
                                     EventStreamOptions options)
    : socket_(std::move(socket)),
      write_timer_(socket_.get_executor()),
      keepalive_timer_(socket_.get_executor()),
      subscription_(std::move(subscription)),
      options_(options) {}

void EventStreamWriter::start(unsigned http_version) {
  pending_ = sse_response_head(http_version);
  pending_ += format_sse_retry(options_.retry_ms);
  // The wake-up runs on the publishing thread: it only posts the drain to our I/O thread.
  subscription_->set_wake([weak = weak_from_this(), ex = socket_.get_executor()] {
    net::post(ex, [weak] {
      if (auto self = weak.lock()) self->drain();
    });
  });
  read_until_close();
  arm_keepalive();
  drain();
}

void EventStreamWriter::drain() {
  if (closed_) return;
  if (busy_) {
    // Woken during a write: only an overflow or the hub's stop matters now, and either ends
    // the stream without waiting for a client that does not read.
    if (subscription_->ended()) close();
    return;
  }
  switch (subscription_->take(pending_)) {
    case TakeOutcome::kOverflowed:
    case TakeOutcome::kClosed:
      close();
      return;
    case TakeOutcome::kEvents:
    case TakeOutcome::kNothing:
      break;
  }
  if (pending_.empty()) return;
  busy_ = true;
  writing_.clear();
  writing_.swap(pending_);
  write_timer_.expires_after(options_.write_timeout);
  write_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!ec && self) self->close();  // the client stopped reading: give up on it
  });
  net::async_write(socket_, net::buffer(writing_),
                   [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                     self->on_written(ec, n);
                   });
}

void EventStreamWriter::on_written(boost::system::error_code ec, std::size_t) {
  busy_ = false;
  write_timer_.cancel();
  if (ec) {
    close();
    return;
  }
  drain();
}

void EventStreamWriter::arm_keepalive() {
  keepalive_timer_.expires_after(options_.keepalive);
  keepalive_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    if (!self->busy_ && self->pending_.empty()) self->pending_ = format_sse_comment("keepalive");
    self->drain();
    self->arm_keepalive();
  });
}

void EventStreamWriter::read_until_close() {
  socket_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (ec) {
                              self->close();  // the client went away (or we closed)
                              return;
                            }
                            if (!self->closed_) self->read_until_close();
                          });
}

void EventStreamWriter::close() {
  if (closed_) return;
  closed_ = true;
  write_timer_.cancel();
  keepalive_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(net::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  // Let go of the subscription now: it counts as open until then.
  subscription_.reset();
}

EventStreamHandoff::EventStreamHandoff(std::shared_ptr<EventSubscription> subscription,
                                       EventStreamOptions options)
    : subscription_(std::move(subscription)), options_(options) {}

void EventStreamHandoff::start(SessionSocket socket, unsigned http_version) {
  std::make_shared<EventStreamWriter>(std::move(socket), std::move(subscription_), options_)
      ->start(http_version);
}

}  // namespace bazaar::httpd
