// Hostile HTTP clients against a real bazaar-frontend process (issue 14): what one connection
// can make the process hold, a full file-descriptor table, and one client holding every
// connection. The front end runs alone: its catalog and order replicas are ports nobody answers
// on (a silent backend), so it serves /metrics itself and answers the rest 503 at the deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cluster.h"
#include "common/fd_limit.h"

namespace bazaar::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A blocking client socket to 127.0.0.1:port whose reads and writes give up after `timeout`,
// from source address `from` (any 127.x.y.z is loopback: another "client address").
int connect_to(int port, std::chrono::milliseconds timeout = 3000ms,
               const char* from = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, from, &local.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `bytes`; false once the peer closed or the write timed out.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct RawReply {
  int status = 0;  // 0: no reply (closed, reset or timed out first)
  std::string head;
  std::string body;
};

// Reads one reply with a Content-Length body (every reply of the front end has one).
RawReply read_reply(int fd, std::string& pending) {
  RawReply r;
  char buf[4096];
  auto fill = [&] {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return r;
  }
  r.head = pending.substr(0, end + 4);
  std::size_t length = 0;
  std::string lower = r.head;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (const auto cl = lower.find("content-length:"); cl != std::string::npos) {
    length = std::stoul(lower.substr(cl + 15));
  }
  while (pending.size() < end + 4 + length) {
    if (!fill()) return r;
  }
  r.body = pending.substr(end + 4, length);
  pending.erase(0, end + 4 + length);
  if (r.head.size() > 12) r.status = std::stoi(r.head.substr(9, 3));
  return r;
}

// One request on a fresh connection; the reply's status (0: none; -1: no connection; -2: the
// request could not be sent).
int request_once(int port, const std::string& request, std::chrono::milliseconds timeout = 3000ms) {
  const int fd = connect_to(port, timeout);
  if (fd < 0) return -1;
  std::string pending;
  const int status = send_all(fd, request) ? read_reply(fd, pending).status : -2;
  ::close(fd);
  return status;
}

const std::string kMetrics = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
const std::string kChunkedHead =
    "POST /orders HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";

// The front end alone (see the file comment), up once it answers /metrics.
class LoneFrontend {
 public:
  explicit LoneFrontend(std::vector<std::string> args, std::vector<std::string> prefix = {})
      : cluster_([&] {
          ClusterOptions o;
          o.replicas = 1;
          o.frontend_args = std::move(args);
          o.frontend_prefix = std::move(prefix);
          return o;
        }()) {
    cluster_.launch("frontend-1");
    up_ = time_until([&] { return request_once(port(), kMetrics, 500ms) == 200; }, 10s) <= 10s;
  }
  bool up() const { return up_; }
  int port() const { return cluster_.http_port(1); }
  pid_t pid() const { return cluster_.pid("frontend-1"); }
  bool running() { return cluster_.running("frontend-1"); }
  std::string log() const { return cluster_.log_of("frontend-1"); }

 private:
  Cluster cluster_;
  bool up_ = false;
};

// Shape A of issue 14: a request whose chunk framing never ends (or never stops) must cost the
// front end no more than a bounded buffer, and get 413. Before the fix each of these was
// buffered until the read deadline (a 200 MiB trailer took the process from 11 to 218 MB).
TEST(HostileHttp, EndlessChunkFramingGets413AndMemoryStaysFlat) {
  LoneFrontend fe({});
  ASSERT_TRUE(fe.up()) << fe.log();
  const long base_kb = proc_status_kb(fe.pid(), "VmHWM");
  ASSERT_GT(base_kb, 0);

  const std::string filler(1 << 20, 'a');
  struct Shape {
    const char* what;
    std::string start;  // then filler without end
  };
  const Shape shapes[] = {
      {"chunk-size line", kChunkedHead + "1"},
      {"chunk extension", kChunkedHead + "1;ext="},
      {"trailer field", kChunkedHead + "1\r\nx\r\n0\r\nX-Trailer: "},
  };
  constexpr std::size_t kPerConnection = 64 << 20;  // 64 MiB each, on four connections at once
  for (const auto& shape : shapes) {
    std::atomic<int> answered{0};
    std::vector<std::thread> attackers;
    for (int c = 0; c < 4; ++c) {
      attackers.emplace_back([&] {
        const int fd = connect_to(fe.port(), 12000ms);
        ASSERT_GE(fd, 0);
        bool open = send_all(fd, shape.start);
        for (std::size_t sent = 0; open && sent < kPerConnection; sent += filler.size()) {
          open = send_all(fd, filler);
        }
        std::string pending;
        const RawReply r = read_reply(fd, pending);
        if (r.status == 413) answered.fetch_add(1);
        ::close(fd);
      });
    }
    for (auto& t : attackers) t.join();
    EXPECT_EQ(answered.load(), 4) << shape.what;
  }
  // Many chunks, each with an extension of 1 KiB: every piece ends, but framing is counted.
  std::string many = kChunkedHead;
  for (int i = 0; i < 200; ++i) many += "1;e=" + std::string(1024, 'e') + "\r\nx\r\n";
  EXPECT_EQ(request_once(fe.port(), many), 413);

  EXPECT_TRUE(fe.running());
  const long peak_kb = proc_status_kb(fe.pid(), "VmHWM");
  std::printf("frontend peak RSS %ld kB at start, %ld kB after 3 x 4 x 64 MiB of endless framing\n",
              base_kb, peak_kb);
  EXPECT_LT(peak_kb - base_kb, 32 * 1024) << "peak RSS grew by " << (peak_kb - base_kb) << " kB";
  EXPECT_EQ(request_once(fe.port(), kMetrics), 200);
}

std::string order_request() {
  const std::string body = R"({"name":"Tux","quantity":1})";
  return "POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Shape B of issue 14: under a low `ulimit -n` the front end fits --max-connections under its
// limit and keeps its own descriptors in reserve. With the order leader and the catalog killed
// and every connection taken by idle clients, an order and an uncached lookup still get their
// 503 and the process lives. Before the fix the idle clients took every descriptor, the links'
// socket rebuild after a silent attempt threw zmq::error_t and the process aborted (and
// "accept: Too many open files" was logged every 100 ms).
TEST(HostileHttp, LowFdLimitAndEveryConnectionTakenTheFrontEndKeepsServing) {
  ClusterOptions o;
  o.replicas = 1;
  o.frontend_args = {"--request-timeout", "2000"};
  o.frontend_prefix = {"/usr/bin/prlimit", "--nofile=256:256", "--"};
  Cluster cluster(o);
  cluster.start_all();
  const int port = cluster.http_port(1);
  EXPECT_NE(cluster.log_of("frontend-1").find("serving at most"), std::string::npos)
      << cluster.log_of("frontend-1");

  cluster.kill("order-1");
  cluster.kill("catalog");
  const int order = connect_to(port, 6000ms);
  const int lookup = connect_to(port, 6000ms);
  ASSERT_GE(order, 0);
  ASSERT_GE(lookup, 0);
  ASSERT_TRUE(send_all(order, order_request()));
  ASSERT_TRUE(send_all(lookup, "GET /products/Whale HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::vector<int> idle;
  for (int i = 0; i < 400; ++i) {
    const int fd = connect_to(port, 1000ms, "127.0.0.2");
    if (fd >= 0) idle.push_back(fd);
  }
  for (const int fd : {order, lookup}) {
    std::string pending;
    const RawReply r = read_reply(fd, pending);
    EXPECT_EQ(r.status, 503) << r.head << r.body;
    EXPECT_NE(r.head.find("Retry-After"), std::string::npos) << r.head;
    ::close(fd);
  }
  std::this_thread::sleep_for(1500ms);  // more silent attempt periods, more socket rebuilds
  EXPECT_TRUE(cluster.running("frontend-1")) << cluster.log_of("frontend-1");
  EXPECT_EQ(request_once(port, kMetrics), 200);
  for (int fd : idle) ::close(fd);
  EXPECT_EQ(request_once(port, "GET /products/Bird HTTP/1.1\r\nHost: t\r\n\r\n"), 503);
  EXPECT_TRUE(cluster.running("frontend-1")) << cluster.log_of("frontend-1");
  EXPECT_LE(count_of(cluster.log_of("frontend-1"), "accept:"), 2) << cluster.log_of("frontend-1");
}

// The same check at start: more connections asked for than the limit allows is one clear line
// and exit 1; the other services refuse a limit below their floor.
TEST(HostileHttp, MaxConnectionsOverTheFdLimitIsAStartupError) {
  auto [rc, out] = Cluster::run_binary(
      {"/usr/bin/prlimit", "--nofile=256:256", "--", Cluster::bin("bazaar-frontend"), "--port", "0",
       "--max-connections", "10000"},
      std::chrono::seconds(5));
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("bazaar-frontend: error: --max-connections 10000 needs"), std::string::npos)
      << out;
  auto [rc2, out2] = Cluster::run_binary(
      {"/usr/bin/prlimit", "--nofile=100:100", "--", Cluster::bin("bazaar-broker")},
      std::chrono::seconds(5));
  EXPECT_EQ(rc2, 1) << out2;
  EXPECT_NE(out2.find("file descriptors needed"), std::string::npos) << out2;
}

// Descriptors open in process `pid`.
long open_fds_of(pid_t pid) {
  long n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

// A legitimate client beside the attack: a lookup and an order on a fresh connection every
// `period`, each with its own deadline; counts successes and keeps every latency.
class LegitClient {
 public:
  LegitClient(int port, std::chrono::milliseconds period) : port_(port), period_(period) {
    thread_ = std::thread([this] { run(); });
  }
  ~LegitClient() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int attempts() const { return attempts_; }
  int successes() const { return successes_; }
  double success_percent() const { return attempts_ == 0 ? 0 : 100.0 * successes_ / attempts_; }
  const std::string& failures() const { return failures_; }
  double p99_ms() {
    if (latencies_.empty()) return 0;
    std::sort(latencies_.begin(), latencies_.end());
    return latencies_[std::min(latencies_.size() - 1, latencies_.size() * 99 / 100)];
  }

 private:
  void run() {
    int n = 0;
    while (!done_) {
      const auto next = Clock::now() + period_;
      one("GET /products/Tux HTTP/1.1\r\nHost: t\r\n\r\n");
      const std::string body = R"({"name":"Tux","quantity":1,"type":)" +
                               std::string(++n % 2 ? R"("buy"})" : R"("sell"})");
      one("POST /orders HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n\r\n" + body);
      std::this_thread::sleep_until(next);
    }
  }
  void one(const std::string& request) {
    const auto t0 = Clock::now();
    const int status = request_once(port_, request, 3000ms);
    latencies_.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++attempts_;
    if (status == 200) {
      ++successes_;
    } else {
      failures_ += std::to_string(status) + " ";
    }
  }

  const int port_;
  const std::chrono::milliseconds period_;
  std::atomic<bool> done_{false};
  std::atomic<int> attempts_{0};
  std::atomic<int> successes_{0};
  std::vector<double> latencies_;  // the client thread's until stop()
  std::string failures_;           // likewise: the status of each failure (0: no reply)
  std::thread thread_;
};

// Shape C of issue 14: one client opens connection after connection and holds them; from a
// second address, slow requests hold the rest. A legitimate client beside them (a lookup and an
// order every 50 ms) keeps >= 99 % success: a new connection closes the one idle the longest,
// and the per-client cap keeps the slow requests from taking every place. Before the fix the
// table filled and the legitimate client got nothing (new connections closed unanswered).
TEST(HostileHttp, AttackerHoldingEveryConnectionLeavesRoomForALegitimateClient) {
  common::raise_fd_limit();  // the attacker's own sockets
  constexpr int kMax = 300;
  constexpr int kPerClient = 200;
  ClusterOptions o;
  o.replicas = 1;
  o.frontend_args = {"--max-connections", std::to_string(kMax), "--max-connections-per-client",
                     std::to_string(kPerClient)};
  Cluster cluster(o);
  cluster.start_all();
  const int port = cluster.http_port(1);
  const pid_t pid = cluster.pid("frontend-1");
  ASSERT_EQ(request_once(port, "GET /products/Tux HTTP/1.1\r\nHost: t\r\n\r\n"), 200);

  std::atomic<bool> stop{false};
  std::atomic<long> peak_fds{0};
  // Slow requests from 127.0.0.2: a head begun and never finished, reopened when closed.
  std::thread slow([&] {
    std::vector<int> fds;
    while (!stop) {
      while (static_cast<int>(fds.size()) < 2 * kPerClient && !stop) {
        const int fd = connect_to(port, 200ms, "127.0.0.2");
        if (fd < 0) break;
        send_all(fd, "GET /products/Tux HTTP/1.1\r\nX-Slow: ");
        fds.push_back(fd);
      }
      // Drop the ones the server closed (answered 503 or at its read deadline).
      std::erase_if(fds, [](int fd) {
        char c;
        const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN) || n > 0) {
          ::close(fd);
          return true;
        }
        return false;
      });
      std::this_thread::sleep_for(20ms);
    }
    for (int fd : fds) ::close(fd);
  });
  // Idle connections from 127.0.0.3, as many as the table holds and more, reopened at once.
  std::thread idle([&] {
    std::vector<int> fds;
    while (!stop) {
      while (static_cast<int>(fds.size()) < 2 * kMax && !stop) {
        const int fd = connect_to(port, 200ms, "127.0.0.3");
        if (fd < 0) break;
        fds.push_back(fd);
      }
      std::erase_if(fds, [](int fd) {
        char c;
        const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN) || n > 0) {
          ::close(fd);
          return true;
        }
        return false;
      });
      peak_fds = std::max(peak_fds.load(), open_fds_of(pid));
      std::this_thread::sleep_for(5ms);
    }
    for (int fd : fds) ::close(fd);
  });
  std::this_thread::sleep_for(500ms);  // the table is full
  LegitClient legit(port, 50ms);
  std::this_thread::sleep_for(6s);
  legit.stop();
  stop = true;
  slow.join();
  idle.join();

  std::printf(
      "legitimate client: %d/%d ok (%.1f %%), p99 %.1f ms; front end peak %ld fds, "
      "peak RSS %ld kB\n",
      legit.successes(), legit.attempts(), legit.success_percent(), legit.p99_ms(), peak_fds.load(),
      proc_status_kb(pid, "VmHWM"));
  EXPECT_GE(legit.attempts(), 100);
  EXPECT_GE(legit.success_percent(), 99.0) << "failures: " << legit.failures();
  EXPECT_TRUE(cluster.running("frontend-1"));
  const int m = connect_to(port);
  std::string pending;
  send_all(m, kMetrics);
  const RawReply metrics = read_reply(m, pending);
  ::close(m);
  for (const auto& line : lines_of(metrics.body)) {
    if (line.rfind("bazaar_http_connections", 0) == 0) std::printf("%s\n", line.c_str());
  }
}

}  // namespace
}  // namespace bazaar::testing
