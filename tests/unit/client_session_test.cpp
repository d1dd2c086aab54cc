// The session client and the load generator against a small fake front end on a real loopback
// socket: a correct server passes, and a server that answers an order query wrongly (wrong
// quantity, wrong item, 404, split or repeated numbers, not JSON) is caught.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "client/http_client.h"
#include "client/load_generator.h"
#include "client/replies.h"
#include "client/session_client.h"

namespace bazaar::client {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// What the fake gets wrong on purpose.
enum class Fault {
  kNone,
  kWrongQuantity,  // GET /orders/N: one unit more than was ordered
  kWrongItem,      // GET /orders/N: another item
  kWrongType,      // GET /orders/N: sell for a buy
  kMissingOrder,   // GET /orders/N: 404
  kSplitNumbers,   // POST /orders: transaction_number != order_number
  kRepeatNumber,   // POST /orders: every order is number 0
  kNotJson,        // every reply is an HTML page
};

// A front end in miniature: /products, /products/<name>, /stocks/<name>, POST /orders,
// GET /orders/<n>. One thread per connection, keep-alive, reads bounded by a 5 s timeout.
class FakeFrontend {
 public:
  explicit FakeFrontend(Fault fault) : fault_(fault), acceptor_(ioc_) {
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~FakeFrontend() {
    stop_ = true;
    {  // wake the blocking accept
      net::io_context ioc;
      tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    }
    accept_thread_.join();
    std::lock_guard lock(mutex_);
    for (auto& t : connections_) t.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<OrderView> orders() const {
    std::lock_guard lock(mutex_);
    return orders_;
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      tcp::socket s(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      timeval tv{5, 0};
      setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, sock = std::move(s)]() mutable { serve(sock); });
    }
  }

  void serve(tcp::socket& s) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(s, buffer, req, ec);
      if (ec) return;
      auto res = handle(req);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }

  static http::response<http::string_body> reply(unsigned status, const nlohmann::json& body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.body() = body.dump();
    return res;
  }

  static nlohmann::json item(const std::string& name, int quantity) {
    return {{"name", name}, {"price", 9.99}, {"quantity", quantity}};
  }

  http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    const std::string target(req.target());
    std::lock_guard lock(mutex_);
    targets_.push_back(std::string(req.method_string()) + " " + target);
    if (fault_ == Fault::kNotJson) {
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/html");
      res.body() = "<html>hello</html>";
      return res;
    }
    if (target == "/products" || target == "/stocks") {
      return reply(200, {{"data", {item("Tux", 100), item("Whale", 0)}}});
    }
    for (const std::string prefix : {"/products/", "/stocks/"}) {
      if (target.rfind(prefix, 0) == 0) {
        const std::string name = target.substr(prefix.size());
        // Whale is sold out: the client must never order it.
        if (name == "Tux" || name == "Whale")
          return reply(200, {{"data", item(name, name == "Tux" ? 100 : 0)}});
        return reply(404, {{"error", {{"code", 404}, {"message", "no such item"}}}});
      }
    }
    if (target == "/orders" && req.method() == http::verb::post) {
      const auto body = nlohmann::json::parse(req.body());
      OrderView o{static_cast<std::int64_t>(orders_.size()), body.at("name"), body.at("type"),
                  body.at("quantity")};
      orders_.push_back(o);
      const std::int64_t n = fault_ == Fault::kRepeatNumber ? 0 : o.number;
      const std::int64_t t = fault_ == Fault::kSplitNumbers ? n + 1 : n;
      return reply(200, {{"data", {{"transaction_number", t}, {"order_number", n}}}});
    }
    if (target.rfind("/orders/", 0) == 0) {
      const auto n = std::stoll(target.substr(8));
      if (n < 0 || n >= static_cast<std::int64_t>(orders_.size()) ||
          fault_ == Fault::kMissingOrder) {
        return reply(404, {{"error", {{"code", 404}, {"message", "no such order"}}}});
      }
      OrderView o = orders_[static_cast<std::size_t>(n)];
      if (fault_ == Fault::kWrongQuantity) ++o.quantity;
      if (fault_ == Fault::kWrongItem) o.name = "Elephant";
      if (fault_ == Fault::kWrongType) o.type = o.type == "buy" ? "sell" : "buy";
      return reply(
          200,
          {{"data",
            {{"number", o.number}, {"name", o.name}, {"type", o.type}, {"quantity", o.quantity}}}});
    }
    return reply(404, {{"error", {{"code", 404}, {"message", "no such route"}}}});
  }

  Fault fault_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<OrderView> orders_;
  std::vector<std::string> targets_;
};

SessionOptions options(double p, std::uint64_t seed = 1) {
  SessionOptions o;
  o.p = p;
  o.seed = seed;
  o.items = {"Tux", "Whale"};
  return o;
}

struct SessionRun {
  StepOutcome steps = StepOutcome::kOk;
  StepOutcome verify = StepOutcome::kOk;
  SessionCounters counters;
  std::vector<std::string> messages;
  std::vector<RequestSample> samples;
};

SessionRun run_session(const std::string& url, SessionOptions o, int iterations) {
  SessionRun out;
  HttpClient http(url, 3000ms);
  SessionClient session(http, std::move(o),
                        [&](const RequestSample& s) { out.samples.push_back(s); });
  for (int i = 0; i < iterations && out.steps == StepOutcome::kOk; ++i) out.steps = session.step();
  if (out.steps == StepOutcome::kOk) out.verify = session.verify();
  out.counters = session.counters();
  out.messages = session.mismatch_messages();
  return out;
}

TEST(ClientSession, CorrectServerEveryOrderVerified) {
  FakeFrontend server(Fault::kNone);
  const auto r = run_session(server.url(), options(1.0), 40);
  EXPECT_EQ(r.steps, StepOutcome::kOk);
  EXPECT_EQ(r.verify, StepOutcome::kOk);
  EXPECT_EQ(r.counters.lookups, 40u);
  EXPECT_GT(r.counters.orders_acknowledged, 5u);
  EXPECT_EQ(r.counters.verified, r.counters.orders_acknowledged);
  EXPECT_EQ(r.counters.mismatches, 0u);
  EXPECT_TRUE(r.messages.empty());
  // p = 1: every lookup that found stock (Tux) was followed by an order, the sold-out one never.
  const auto orders = server.orders();
  EXPECT_EQ(orders.size(), r.counters.orders_acknowledged);
  for (const auto& o : orders) {
    EXPECT_EQ(o.name, "Tux");
    EXPECT_EQ(o.type, "buy");  // toys edition: buys only
    EXPECT_GE(o.quantity, 1);
    EXPECT_LE(o.quantity, 3);
  }
  // Requests observed: a lookup per iteration, an order and (at the end) a query per order.
  std::size_t queries = 0;
  for (const auto& s : r.samples) queries += s.kind == RequestKind::kQuery;
  EXPECT_EQ(queries, orders.size());
}

TEST(ClientSession, ProbabilityZeroPlacesNoOrder) {
  FakeFrontend server(Fault::kNone);
  const auto r = run_session(server.url(), options(0.0), 20);
  EXPECT_EQ(r.counters.lookups, 20u);
  EXPECT_EQ(r.counters.orders_sent, 0u);
  EXPECT_TRUE(server.orders().empty());
}

TEST(ClientSession, SameSeedSameRequests) {
  FakeFrontend a(Fault::kNone);
  FakeFrontend b(Fault::kNone);
  run_session(a.url(), options(0.5, 99), 30);
  run_session(b.url(), options(0.5, 99), 30);
  EXPECT_EQ(a.targets(), b.targets());
  EXPECT_EQ(a.orders(), b.orders());
}

TEST(ClientSession, StocksEditionTradesBothWaysOnStocksRoutes) {
  FakeFrontend server(Fault::kNone);
  SessionOptions o = options(1.0);
  o.edition = Edition::kStocks;
  const auto r = run_session(server.url(), o, 60);
  EXPECT_EQ(r.counters.mismatches, 0u);
  int buys = 0, sells = 0;
  for (const auto& order : server.orders()) (order.type == "buy" ? buys : sells)++;
  EXPECT_GT(buys, 0);
  EXPECT_GT(sells, 0);
  for (const auto& t : server.targets()) {
    if (t.rfind("GET /products", 0) == 0) ADD_FAILURE() << "stocks client used " << t;
  }
}

struct FaultCase {
  Fault fault;
  const char* expect_in_message;
};

class ClientSessionFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(ClientSessionFault, WrongOrderReplyIsCaught) {
  FakeFrontend server(GetParam().fault);
  const auto r = run_session(server.url(), options(1.0), 20);
  EXPECT_EQ(r.steps, StepOutcome::kOk);
  EXPECT_EQ(r.verify, StepOutcome::kOk);
  ASSERT_GT(r.counters.orders_acknowledged, 0u);
  EXPECT_GT(r.counters.mismatches, 0u);
  // Every acknowledged order is either verified or a mismatch, never silently skipped.
  EXPECT_EQ(r.counters.verified + r.counters.mismatches, r.counters.orders_acknowledged);
  ASSERT_FALSE(r.messages.empty());
  EXPECT_NE(r.messages.front().find(GetParam().expect_in_message), std::string::npos)
      << r.messages.front();
}

INSTANTIATE_TEST_SUITE_P(Faults, ClientSessionFault,
                         ::testing::Values(FaultCase{Fault::kWrongQuantity, "server has #0 buy"},
                                           FaultCase{Fault::kWrongItem, "Elephant"},
                                           FaultCase{Fault::kWrongType, "server has #0 sell"},
                                           FaultCase{Fault::kMissingOrder, "404"},
                                           FaultCase{Fault::kSplitNumbers,
                                                     "transaction_number 1 and order_number 0"},
                                           FaultCase{Fault::kRepeatNumber, "acknowledged twice"}));

TEST(ClientSession, WrongQuantityEveryOrderIsAMismatch) {
  FakeFrontend server(Fault::kWrongQuantity);
  const auto r = run_session(server.url(), options(1.0), 20);
  EXPECT_EQ(r.counters.verified, 0u);
  EXPECT_EQ(r.counters.mismatches, r.counters.orders_acknowledged);
}

TEST(ClientSession, NotJsonReplyIsABadReply) {
  FakeFrontend server(Fault::kNotJson);
  HttpClient http(server.url(), 3000ms);
  SessionClient session(http, options(1.0));
  EXPECT_EQ(session.step(), StepOutcome::kBadReply);
  EXPECT_NE(session.last_error().find("not JSON"), std::string::npos) << session.last_error();
}

TEST(ClientSession, UnreachableServerIsATransportError) {
  unsigned short port = 0;
  {  // a port that was just free: nobody listens on it now
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  HttpClient http("http://127.0.0.1:" + std::to_string(port), 2000ms);
  SessionClient session(http, options(1.0));
  EXPECT_EQ(session.step(), StepOutcome::kTransportError);
  EXPECT_FALSE(session.last_error().empty());
}

TEST(ClientLoad, ParseMix) {
  std::string why;
  const auto m = parse_mix("lookup=80,order=15,query=5", why);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->lookup, 80);
  EXPECT_EQ(m->order, 15);
  EXPECT_EQ(m->query, 5);
  EXPECT_EQ(m->list, 0);
  EXPECT_FALSE(parse_mix("lookup=0", why));
  EXPECT_FALSE(parse_mix("lookup=-1", why));
  EXPECT_FALSE(parse_mix("nope=3", why));
  EXPECT_NE(why.find("nope"), std::string::npos);
  EXPECT_FALSE(parse_mix("lookup", why));
  EXPECT_FALSE(parse_mix("lookup=1x", why));
}

LoadOptions load_options(const std::string& url, double p) {
  LoadOptions lo;
  lo.url = url;
  lo.timeout = 3000ms;
  lo.clients = 3;
  lo.iterations = 30;
  lo.session = options(p);
  return lo;
}

TEST(ClientLoad, CountsEveryRequestAndVerifiesOrders) {
  FakeFrontend server(Fault::kNone);
  const LoadReport report = LoadGenerator(load_options(server.url(), 1.0)).run();
  const auto& lookups = report.figures(RequestKind::kLookup);
  const auto& orders = report.figures(RequestKind::kOrder);
  const auto& queries = report.figures(RequestKind::kQuery);
  EXPECT_EQ(lookups.count, 90u);
  EXPECT_EQ(lookups.latency.count(), 90u);
  EXPECT_EQ(lookups.error_count(), 0u);
  EXPECT_EQ(orders.count, server.orders().size());
  EXPECT_EQ(queries.count, orders.count);  // each acknowledged order fetched back at once
  EXPECT_EQ(report.orders().verified, orders.count);
  EXPECT_EQ(report.orders().mismatches, 0u);
  EXPECT_EQ(report.duplicates(), 0u);
  EXPECT_GT(lookups.latency.max(), 0u);
  // The outputs carry the same figures.
  EXPECT_NE(report.csv().find("\nlookup,90,0,"), std::string::npos) << report.csv();
  const auto j = nlohmann::json::parse(report.json());
  EXPECT_EQ(j["requests"]["lookup"]["count"], 90);
  EXPECT_EQ(j["orders"]["mismatches"], 0);
  EXPECT_NE(report.timeline_csv().find(",lookup,"), std::string::npos);
}

TEST(ClientLoad, WrongServerIsCaughtUnderLoad) {
  FakeFrontend server(Fault::kWrongQuantity);
  const LoadReport report = LoadGenerator(load_options(server.url(), 1.0)).run();
  EXPECT_GT(report.orders().mismatches, 0u);
  EXPECT_EQ(report.orders().verified, 0u);
  EXPECT_FALSE(report.mismatch_messages().empty());
}

TEST(ClientLoad, RepeatedNumbersAcrossClientsAreCaught) {
  // Each client sees number 0 once per order: the first repeat inside one client is already a
  // mismatch, and across clients the merged report counts duplicates too.
  FakeFrontend server(Fault::kRepeatNumber);
  const LoadReport report = LoadGenerator(load_options(server.url(), 1.0)).run();
  EXPECT_GT(report.orders().mismatches + report.duplicates(), 0u);
  EXPECT_GT(report.duplicates(), 0u);  // three clients were all told "order 0"
}

TEST(ClientLoad, ErrorsAreCountedByStatus) {
  FakeFrontend server(Fault::kNone);
  LoadOptions lo = load_options(server.url(), 0.0);
  lo.session.items = {"Tux", "Nope"};  // the fake says 404 for Nope
  lo.mix = RequestMix{1, 0, 0, 0};
  const LoadReport report = LoadGenerator(lo).run();
  const auto& lookups = report.figures(RequestKind::kLookup);
  EXPECT_EQ(lookups.count, 90u);
  ASSERT_EQ(lookups.errors.count("404"), 1u);
  EXPECT_GT(lookups.errors.at("404"), 0u);
  EXPECT_EQ(lookups.error_count(), lookups.errors.at("404"));
  EXPECT_NE(report.text().find("404:"), std::string::npos) << report.text();
}

TEST(ClientLoad, DurationBoundsTheRun) {
  FakeFrontend server(Fault::kNone);
  LoadOptions lo = load_options(server.url(), 0.5);
  lo.iterations = 0;
  lo.duration = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const LoadReport report = LoadGenerator(lo).run();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_GT(report.figures(RequestKind::kLookup).count, 0u);
}

}  // namespace
}  // namespace bazaar::client
