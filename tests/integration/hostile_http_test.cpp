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
#include <fstream>
#include <sstream>
#include <thread>

#include "cluster.h"

namespace bazaar::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A blocking client socket to 127.0.0.1:port whose reads and writes give up after `timeout`.
int connect_to(int port, std::chrono::milliseconds timeout = 3000ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
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

// One request on a fresh connection; the reply's status (0: none).
int request_once(int port, const std::string& request, std::chrono::milliseconds timeout = 3000ms) {
  const int fd = connect_to(port, timeout);
  if (fd < 0) return 0;
  std::string pending;
  const int status = send_all(fd, request) ? read_reply(fd, pending).status : 0;
  ::close(fd);
  return status;
}

// A field of /proc/PID/status in kB ("VmHWM", "VmRSS"), or -1.
long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
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

}  // namespace
}  // namespace bazaar::testing
