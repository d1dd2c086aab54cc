// GET /events through the real HTTP server: the session hands the connection to the stream
// writer, events arrive as published, a client that stops reading is dropped, the hub's stop
// ends every stream, and the bound on streams answers 503.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <thread>

#include "httpd/event_hub.h"
#include "httpd/http_server.h"
#include "httpd/sse_format.h"
#include "storefront/static_assets.h"
#include "storefront/web_handler.h"

namespace bazaar::storefront {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

struct EchoNext : httpd::HttpRequestHandler {
  void handle(httpd::HttpRequest, httpd::ReplyCallback done) override {
    done(httpd::HttpResponse{.status = 200, .body = "{\"data\":1}"});
  }
};

class EventStreamTest : public ::testing::Test {
 protected:
  void start(httpd::EventHubOptions hub_options, httpd::EventStreamOptions stream = {}) {
    hub_ = std::make_unique<httpd::EventHub>(hub_options);
    web_ =
        std::make_unique<WebHandler>(next_, assets_, hub_.get(), ClusterSource{}, nullptr, stream);
    httpd::HttpServerOptions options;
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<httpd::HttpServer>(options, *web_);
    server_->start();
  }

  void TearDown() override {
    if (hub_) hub_->stop();
    if (server_) server_->shutdown(1000ms);
  }

  tcp::socket connect(int rcvbuf = 0) {
    tcp::socket s(ioc_);
    s.open(tcp::v4());
    if (rcvbuf > 0) setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    timeval tv{3, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
  }

  // Reads until `want` has arrived (true) or the connection ends / 3 s pass (false).
  static bool read_until(tcp::socket& s, std::string& got, const std::string& want) {
    char buf[4096];
    while (got.find(want) == std::string::npos) {
      const ssize_t n = recv_some(s, buf, sizeof buf);
      if (n <= 0) return false;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  // One recv() that honours SO_RCVTIMEO (asio's blocking read_some waits on poll() without a
  // deadline when the socket has nothing, so a test would hang instead of failing): the bytes
  // read, 0 at the end of the stream, -1 on a timeout or an error (errno says which).
  static ssize_t recv_some(tcp::socket& s, char* buf, std::size_t size) {
    for (;;) {
      const ssize_t n = ::recv(s.native_handle(), buf, size, 0);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  // True when the server closed the connection within 3 s (whatever it sent before).
  static bool ends(tcp::socket& s) {
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = recv_some(s, buf, sizeof buf);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
    return false;  // still sending after 3 s
  }

  template <class Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 300; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  net::io_context ioc_;
  EchoNext next_;
  const StaticAssets assets_{embedded_files(), "products"};
  std::unique_ptr<httpd::EventHub> hub_;
  std::unique_ptr<WebHandler> web_;
  std::unique_ptr<httpd::HttpServer> server_;
};

TEST_F(EventStreamTest, StreamCarriesTheHeadTheLeaderAndEachEventAsPublished) {
  start({.max_streams = 4, .queue_limit = 16});
  hub_->publish_leader(3, 1);
  tcp::socket s = connect();
  net::write(s, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  ASSERT_TRUE(
      read_until(s, got, httpd::format_sse_event("leader", httpd::leader_event_data(3, 1))));
  EXPECT_EQ(got.rfind(httpd::sse_response_head(11) + httpd::format_sse_retry(1000), 0), 0u) << got;
  ASSERT_TRUE(eventually([&] { return hub_->counters().open.load() == 1; }));
  hub_->publish_item("Tux", 2);
  ASSERT_TRUE(
      read_until(s, got, httpd::format_sse_event("item", httpd::item_event_data("Tux", 2))));
  // The stream left the session's request timeouts behind, and other connections still serve.
  tcp::socket other = connect();
  net::write(other, net::buffer(std::string("GET /products/Tux HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string reply;
  EXPECT_TRUE(read_until(other, reply, "{\"data\":1}"));
}

TEST_F(EventStreamTest, AKeepAliveConnectionCanTurnIntoAStream) {
  start({.max_streams = 4, .queue_limit = 16});
  tcp::socket s = connect();
  net::write(s, net::buffer(std::string("GET /products/Tux HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  ASSERT_TRUE(read_until(s, got, "{\"data\":1}"));
  net::write(s, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(read_until(s, got, "retry: 1000\n\n"));
  ASSERT_TRUE(eventually([&] { return hub_->counters().open.load() == 1; }));
  hub_->publish_resync("bus");
  EXPECT_TRUE(
      read_until(s, got, httpd::format_sse_event("resync", httpd::resync_event_data("bus"))));
}

TEST_F(EventStreamTest, AClientThatStopsReadingIsDroppedAndTheOthersKeepTheirStream) {
  start({.max_streams = 4, .queue_limit = 8});
  tcp::socket slow = connect(4096);  // a small receive window, and it never reads
  net::write(slow, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  tcp::socket fast = connect();
  net::write(fast, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(eventually([&] { return hub_->counters().open.load() == 2; }));
  // Big events fill the socket buffers quickly; then the slow client's queue overflows.
  const std::string big(8000, 'x');
  std::string got;
  for (int i = 0; i < 4000 && hub_->counters().dropped.load() == 0; ++i) {
    hub_->publish_item(big, static_cast<std::uint64_t>(i));
    // The fast client reads each event before the next is published, so its queue never holds
    // more than one, however slowly the server's threads run.
    const std::string want =
        httpd::format_sse_event("item", httpd::item_event_data(big, static_cast<std::uint64_t>(i)));
    ASSERT_TRUE(read_until(fast, got, want)) << "event " << i;
    got.erase(0, got.find(want) + want.size());
  }
  EXPECT_EQ(hub_->counters().dropped.load(), 1u);
  EXPECT_TRUE(eventually([&] { return hub_->counters().open.load() == 1; }));
  EXPECT_TRUE(ends(slow));
  hub_->publish_item("Tux", 1);
  EXPECT_TRUE(
      read_until(fast, got, httpd::format_sse_event("item", httpd::item_event_data("Tux", 1))));
}

TEST_F(EventStreamTest, BeyondMaxStreamsIs503AndStopEndsEveryStream) {
  start({.max_streams = 1, .queue_limit = 8});
  tcp::socket a = connect();
  net::write(a, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got;
  ASSERT_TRUE(read_until(a, got, "retry: 1000\n\n"));
  tcp::socket b = connect();
  net::write(b, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string refused;
  ASSERT_TRUE(read_until(b, refused, "\r\n\r\n"));
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After"), std::string::npos);
  EXPECT_EQ(hub_->counters().refused.load(), 1u);
  hub_->stop();
  EXPECT_TRUE(ends(a));
}

TEST_F(EventStreamTest, AWriteThatTakesTooLongClosesTheStream) {
  // With a queue long enough never to overflow, the write deadline is what gives up on a
  // client that does not read.
  start({.max_streams = 2, .queue_limit = 1 << 20},
        httpd::EventStreamOptions{.write_timeout = 200ms, .keepalive = 15000ms});
  tcp::socket slow = connect(4096);
  net::write(slow, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  ASSERT_TRUE(eventually([&] { return hub_->counters().open.load() == 1; }));
  const std::string big(8000, 'x');
  for (int i = 0; i < 2000; ++i) hub_->publish_item(big, static_cast<std::uint64_t>(i));
  EXPECT_TRUE(eventually([&] { return hub_->counters().open.load() == 0; }));
  EXPECT_EQ(hub_->counters().dropped.load(), 0u);
}

}  // namespace
}  // namespace bazaar::storefront
