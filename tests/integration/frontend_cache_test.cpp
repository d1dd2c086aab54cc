// The front end's cache and HTTP hardening on real processes: invalidations across front ends,
// read-your-writes, restock, catalog and broker outages, and hostile connections.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client/http_client.h"
#include "cluster.h"

namespace bazaar::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One keep-alive connection to one front end, with the few calls these tests need.
class Frontend {
 public:
  explicit Frontend(int port) : client_("http://127.0.0.1:" + std::to_string(port), 5000ms) {}

  client::HttpResult call(const std::string& method, const std::string& target,
                          const std::string& body = "") {
    auto r = client_.request(method, target, body);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.message;
    return r;
  }
  // The item's quantity, or -status when the lookup failed.
  int quantity(const std::string& name) {
    auto r = call("GET", "/products/" + name);
    if (r.reply.status != 200) return -static_cast<int>(r.reply.status);
    return json::parse(r.reply.body)["data"]["quantity"].get<int>();
  }
  unsigned trade(const std::string& name, int qty, const std::string& type = "buy") {
    return call("POST", "/orders", json{{"name", name}, {"quantity", qty}, {"type", type}}.dump())
        .reply.status;
  }
  // A sample of /metrics, e.g. "bazaar_cache_hits_total"; -1 when absent.
  double metric(const std::string& series) {
    auto r = call("GET", "/metrics");
    std::istringstream in(r.reply.body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
  }
  json health() { return json::parse(call("GET", "/health").reply.body)["data"]; }

 private:
  client::HttpClient client_;
};

// The cache only serves once the front end has heard the bus; wait for that (health "bus").
void wait_for_bus(Frontend& f) {
  EXPECT_LE(time_until([&] { return f.health()["bus"] == true; }, 5000ms), 5000ms);
}

TEST(FrontendCache, TwoFrontendsSeeEachOthersTradesWithinASecond) {
  Cluster c({.frontends = 2});
  c.start_all();
  Frontend a(c.http_port(1));
  Frontend b(c.http_port(2));
  wait_for_bus(a);
  wait_for_bus(b);
  int expected = 100;
  for (int round = 0; round < 4; ++round) {
    Frontend& trader = round % 2 == 0 ? a : b;
    Frontend& watcher = round % 2 == 0 ? b : a;
    // The watcher holds the item in its cache: a second lookup is a hit.
    ASSERT_EQ(watcher.quantity("Tux"), expected);
    const double hits = watcher.metric("bazaar_cache_hits_total");
    ASSERT_EQ(watcher.quantity("Tux"), expected);
    EXPECT_GT(watcher.metric("bazaar_cache_hits_total"), hits) << "round " << round;

    ASSERT_EQ(trader.trade("Tux", 3), 200u);
    expected -= 3;
    // Read-your-writes on the trading front end: at once, not eventually.
    EXPECT_EQ(trader.quantity("Tux"), expected);
    const auto took = time_until([&] { return watcher.quantity("Tux") == expected; }, 1000ms);
    EXPECT_LE(took, 1000ms) << "round " << round << ": the other front end still serves "
                            << watcher.quantity("Tux");
  }
  EXPECT_GE(b.metric("bazaar_cache_invalidations_total"), 4);
}

TEST(FrontendCache, ReadYourWritesOnEveryTrade) {
  Cluster c;
  c.start_all();
  Frontend f(c.http_port());
  wait_for_bus(f);
  int expected = 100;
  for (int i = 0; i < 15; ++i) {
    ASSERT_EQ(f.quantity("Whale"), expected);  // cached between trades
    ASSERT_EQ(f.trade("Whale", 2, i % 3 == 2 ? "sell" : "buy"), 200u);
    expected += i % 3 == 2 ? 2 : -2;
    ASSERT_EQ(f.quantity("Whale"), expected) << "trade " << i;
  }
  EXPECT_GT(f.metric("bazaar_cache_hits_total"), 0);
}

TEST(FrontendCache, RestockInvalidatesTheCachedSoldOutItem) {
  Cluster c({.catalog_args = {"--restock-interval", "1"}});
  c.start_all();
  Frontend f(c.http_port());
  wait_for_bus(f);
  ASSERT_EQ(f.trade("Clue", 100), 200u);
  ASSERT_EQ(f.quantity("Clue"), 0);
  const double hits = f.metric("bazaar_cache_hits_total");
  // The restock timer (1 s) refills it; only its invalidation can make the cache let go of 0.
  EXPECT_LE(time_until([&] { return f.quantity("Clue") == 100; }, 5000ms), 5000ms);
  EXPECT_GT(f.metric("bazaar_cache_hits_total"), hits) << "the sold-out item was never cached";
}

TEST(FrontendCache, CatalogDownServesCachedLookupsOnly) {
  Cluster c({.frontend_args = {"--request-timeout", "1000"}});
  c.start_all();
  Frontend f(c.http_port());
  wait_for_bus(f);
  ASSERT_EQ(f.quantity("Tux"), 100);  // now cached
  c.kill("catalog");
  EXPECT_EQ(f.quantity("Tux"), 100);
  EXPECT_EQ(f.health()["cache_size"], 1);

  const auto start = Clock::now();
  auto uncached = f.call("GET", "/products/Whale");
  EXPECT_EQ(uncached.reply.status, 503u) << uncached.reply.body;
  EXPECT_NE(uncached.reply.header("Retry-After"), nullptr);
  // Not Tux: an order the front end gave up on may still commit once the catalog is back.
  auto order = f.call("POST", "/orders", R"({"name":"Jenga","quantity":1})");
  EXPECT_EQ(order.reply.status, 503u) << order.reply.body;
  EXPECT_NE(order.reply.header("Retry-After"), nullptr);
  EXPECT_LT(Clock::now() - start, 5s);  // two request deadlines of 1 s, with slack
  EXPECT_EQ(f.quantity("Tux"), 100);

  c.start("catalog");
  EXPECT_EQ(f.trade("Tux", 1), 200u);
  EXPECT_EQ(f.quantity("Tux"), 99);
  EXPECT_EQ(f.quantity("Whale"), 100);
}

TEST(FrontendCache, BrokerDownPausesTheCacheAndARestartFlushesIt) {
  Cluster c;
  c.start_all();
  Frontend f(c.http_port());
  wait_for_bus(f);
  ASSERT_EQ(f.quantity("Uno"), 100);
  ASSERT_EQ(f.quantity("Uno"), 100);
  ASSERT_GE(f.health()["cache_size"], 1);
  c.kill("broker");
  // Three missed heartbeats (750 ms) pause and empty the cache: with no bus, another front
  // end's trade could not reach us.
  EXPECT_LE(time_until([&] { return f.health()["cache_size"] == 0; }, 3000ms), 3000ms);
  EXPECT_GE(f.metric(R"(bazaar_cache_flushes_total{reason="bus_lost"})"), 1);
  const double misses = f.metric("bazaar_cache_misses_total");
  EXPECT_EQ(f.quantity("Uno"), 100);  // served by the catalog
  EXPECT_EQ(f.quantity("Uno"), 100);
  EXPECT_GE(f.metric("bazaar_cache_misses_total"), misses + 2);
  EXPECT_EQ(f.health()["cache_size"], 0);
  c.start("broker");
  EXPECT_LE(time_until([&] { return f.health()["bus"] == true; }, 5000ms), 5000ms);
  EXPECT_GE(f.metric(R"(bazaar_cache_flushes_total{reason="bus_restart"})"), 2);
  EXPECT_EQ(f.quantity("Uno"), 100);
  EXPECT_EQ(f.quantity("Uno"), 100);
  EXPECT_EQ(f.health()["cache_size"], 1);
}

TEST(FrontendCache, NoCacheAsksTheCatalogEveryTime) {
  Cluster c({.frontend_args = {"--no-cache"}});
  c.start_all();
  Frontend f(c.http_port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.quantity("Risk"), 100);
  EXPECT_EQ(f.trade("Risk", 5), 200u);
  EXPECT_EQ(f.quantity("Risk"), 95);
  EXPECT_EQ(f.health()["cache_capacity"], 0);
  EXPECT_EQ(f.metric("bazaar_cache_enabled"), 0);
  EXPECT_EQ(f.metric("bazaar_cache_hits_total"), 0);
}

// ---- hostile connections -------------------------------------------------------------------

// A raw TCP connection whose reads give up after `timeout`.
int raw_connect(int port, std::chrono::milliseconds timeout = 3000ms) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void raw_send(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Everything the server sends until it closes (or the read timeout passes).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// True when the server closed the connection (EOF or reset) within the read timeout.
bool closed_by_server(int fd) {
  char buf[256];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

TEST(FrontendHttp, GarbageAndHalfSentRequestsDoNotDisturbOtherClients) {
  Cluster c({.frontend_args = {"--read-timeout", "1000"}});
  c.start_all();
  const int port = c.http_port();
  Frontend good(port);
  ASSERT_EQ(good.quantity("Tux"), 100);

  // Half-sent requests and a slow trickle hold connections open...
  std::vector<int> half;
  for (int i = 0; i < 40; ++i) {
    const int fd = raw_connect(port);
    ASSERT_GE(fd, 0);
    raw_send(fd, i % 2 == 0 ? "GET /products/Tux HTTP/1.1\r\nHo" : "POST /orders HTTP/1.1\r\n");
    half.push_back(fd);
  }
  // ... binary junk and a malformed request line get their 400 at once ...
  for (const std::string& junk :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), std::string("\0\0\0\0", 4),
        std::string("GET / HTTP/1.1\r\nHost x\r\n\r\n")}) {
    const int fd = raw_connect(port);
    ASSERT_GE(fd, 0);
    raw_send(fd, junk);
    const std::string reply = read_all(fd);
    close(fd);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  }
  // ... a body over 64 KiB gets 413 ...
  {
    const int fd = raw_connect(port);
    raw_send(fd, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" +
                     std::string(70000, 'x'));
    const std::string reply = read_all(fd);
    close(fd);
    EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  }
  // ... while a well-behaved client is served as usual, quickly.
  const auto start = Clock::now();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(good.quantity("Tux"), 100) << i;
  EXPECT_LT(Clock::now() - start, 3s);
  ASSERT_EQ(good.trade("Tux", 1), 200u);
  EXPECT_EQ(good.quantity("Tux"), 99);

  // The read deadline (1 s) closes every half-sent request; the trickle too.
  const int trickle = raw_connect(port);
  for (int i = 0; i < 8; ++i) {
    if (send(trickle, "G", 1, MSG_NOSIGNAL) != 1) break;  // closed already: fine
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(closed_by_server(trickle));
  close(trickle);
  for (int fd : half) {
    EXPECT_TRUE(closed_by_server(fd));
    close(fd);
  }
  EXPECT_EQ(good.quantity("Tux"), 99);
  EXPECT_GE(good.metric(R"(bazaar_http_requests_total{route="rejected",code="400"})"), 3);
}

}  // namespace
}  // namespace bazaar::testing
