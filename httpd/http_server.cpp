#include "httpd/http_server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "common/cli.h"

namespace bazaar::httpd {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

std::vector<std::unique_ptr<net::io_context>> make_iocs(std::size_t threads) {
  std::vector<std::unique_ptr<net::io_context>> v;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
    // Concurrency hint 1: only one thread runs each (other threads still post to it safely).
    v.push_back(std::make_unique<net::io_context>(1));
  }
  return v;
}

// How often an accept failure is logged at most (the rest are counted into the next line).
constexpr std::chrono::seconds kAcceptLogInterval{10};
constexpr std::chrono::milliseconds kAcceptBackoff{100};

// What a connection shed for want of a file descriptor gets, written without waiting.
constexpr std::string_view kNoDescriptorsReply =
    "HTTP/1.1 503 Service Unavailable\r\nServer: bazaar-frontend\r\n"
    "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
    "Content-Length: 75\r\n\r\n"
    R"({"error":{"code":503,"message":"front end out of file descriptors, retry"}})";
static_assert(kNoDescriptorsReply.size() - kNoDescriptorsReply.find("\r\n\r\n") - 4 == 75);

int open_spare_fd() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, HttpRequestHandler& handler)
    : shared_(std::make_unique<SessionShared>(std::move(options), handler)),
      iocs_(make_iocs(shared_->options.threads)),
      acceptor_(*iocs_[0]),
      retry_timer_(*iocs_[0]) {
  const auto& opts = shared_->options;
  const std::string where = opts.address + ":" + std::to_string(opts.port);
  beast::error_code ec;
  const auto address = net::ip::make_address(opts.address, ec);
  if (ec) throw common::StartupError("bad HTTP address '" + opts.address + "': " + ec.message());
  const tcp::endpoint endpoint(address, opts.port);
  auto check = [&](const char* what) {
    if (ec)
      throw common::StartupError("cannot " + std::string(what) + " " + where + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("open a socket for");
  // Restarting right after a stop must not fail on connections lingering in TIME_WAIT; a live
  // listener on the port still makes bind fail, as it should.
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  check("set SO_REUSEADDR on");
  acceptor_.bind(endpoint, ec);
  check("listen on");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  check("listen on");
  port_ = acceptor_.local_endpoint().port();
}

HttpServer::~HttpServer() {
  shutdown(std::chrono::milliseconds(0));
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void HttpServer::start() {
  spare_fd_ = open_spare_fd();
  for (auto& ioc : iocs_) work_.push_back(net::make_work_guard(*ioc));
  accept();
  threads_.reserve(iocs_.size());
  for (auto& ioc : iocs_) {
    threads_.emplace_back([io = ioc.get()] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep serving the other connections.
          spdlog::error("HTTP I/O thread: {}", e.what());
        }
      }
    });
  }
}

void HttpServer::accept() {
  // The connection is accepted straight onto the io_context of the thread that will serve it.
  net::io_context& target = *iocs_[next_ioc_];
  next_ioc_ = (next_ioc_ + 1) % iocs_.size();
  acceptor_.async_accept(target.get_executor(),
                         beast::bind_front_handler(&HttpServer::on_accept, this));
}

void HttpServer::on_accept(beast::error_code ec, SessionSocket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;  // shutting down
  if (ec) {
    log_accept_error(ec);
    if (ec == net::error::no_descriptors || ec == std::errc::too_many_files_open_in_system) {
      // The kernel keeps the connection queued; left there its client waits until it gives up.
      // Give up the spare descriptor to take it, answer 503 and close it, and take the spare
      // back. Only when even that fails: pause, instead of spinning on the same error.
      if (shed_one_connection()) {
        accept();
        return;
      }
    }
    if (ec == net::error::no_descriptors || ec == std::errc::too_many_files_open_in_system ||
        ec == net::error::no_buffer_space || ec == net::error::no_memory) {
      retry_timer_.expires_after(kAcceptBackoff);
      retry_timer_.async_wait([this](beast::error_code wec) {
        if (!wec && acceptor_.is_open()) accept();
      });
      return;
    }
    accept();
    return;
  }
  if (shared_->stopping.load()) {
    beast::error_code ignored;
    socket.close(ignored);
    accept();
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // small replies: do not wait for Nagle
  const auto peer = socket.remote_endpoint(ignored);
  const net::ip::address client = peer.address();
  const std::size_t* client_count = nullptr;
  std::string refusal = admit(client, client_count);
  if (refusal.empty()) {
    std::make_shared<HttpSession>(std::move(socket), *shared_, client, client_count)->start();
  } else if (shared_->rejecting.load() < kRejectSessions) {
    std::make_shared<HttpSession>(std::move(socket), *shared_, std::move(refusal))->start();
  } else {
    // Even the sessions that answer 503 are all taken: close without a word rather than grow.
    socket.close(ignored);
  }
  accept();
}

std::string HttpServer::admit(const net::ip::address& client, const std::size_t*& client_count) {
  const auto& opts = shared_->options;
  // Declared before the lock, so released after it: dropping what may be a session's last
  // reference runs its destructor, which takes the lock.
  std::vector<std::shared_ptr<HttpSession>> held;
  std::lock_guard<std::mutex> lock(shared_->mu);
  std::size_t& mine = shared_->per_client[client];
  if (opts.max_connections_per_client > 0 && mine >= opts.max_connections_per_client) {
    if (!evict_longest_idle(&client, held)) {
      if (mine == 0) shared_->per_client.erase(client);
      shared_->rejected_per_client.fetch_add(1, std::memory_order_relaxed);
      return "too many connections from your address, retry";
    }
    shared_->evicted_per_client.fetch_add(1, std::memory_order_relaxed);
  } else if (shared_->active.load() - shared_->rejecting.load() -
                 std::min(shared_->evicting.load(), kEvictingSlack) >=
             opts.max_connections) {
    // Why not count the refusing and (up to a bound) the evicted: they close within a second or
    // two without reading anything, and counted, a burst of them would make room look taken.
    if (!evict_longest_idle(nullptr, held)) {
      if (mine == 0) shared_->per_client.erase(client);
      shared_->rejected_full.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("connection limit {} reached and none idle: 503", opts.max_connections);
      return "every connection is busy, retry";
    }
    shared_->evicted_idle.fetch_add(1, std::memory_order_relaxed);
  }
  ++mine;
  client_count = &mine;  // a map node: stays put while the session lives
  return {};
}

bool HttpServer::evict_longest_idle(const net::ip::address* client,
                                    std::vector<std::shared_ptr<HttpSession>>& held) {
  // Why a scan and not an ordered index of idle sessions: the scan runs only when a bound is
  // reached, while an index would cost a lock on every request of every connection.
  std::vector<const HttpSession*> spoke;  // looked idle, but a request is waiting unread
  for (int round = 0; round < 8; ++round) {
    const HttpSession* victim_ptr = nullptr;
    const std::weak_ptr<HttpSession>* victim = nullptr;
    std::uint64_t victim_since = HttpSession::kEvicting;
    std::size_t victim_weight = 0;
    for (const auto& [ptr, weak] : shared_->sessions) {
      // A session being destroyed waits on the lock we hold, its members still intact.
      const std::uint64_t since = ptr->idle_since();
      if (since == HttpSession::kBusy || since == HttpSession::kEvicting) continue;
      if (client != nullptr && ptr->client() != *client) continue;
      // The heaviest client pays first: one with a single connection keeps it while another
      // holds hundreds idle. Then the longest idle.
      const std::size_t weight = ptr->client_connections();
      if (weight < victim_weight || (weight == victim_weight && since >= victim_since)) continue;
      if (std::find(spoke.begin(), spoke.end(), ptr) != spoke.end()) continue;
      victim_ptr = ptr;
      victim = &weak;
      victim_since = since;
      victim_weight = weight;
    }
    if (victim == nullptr) return false;
    // Idle by its state, but its request may be in the socket already, its handler queued
    // behind ours (a new connection that sent at once): that one is not idle.
    if (victim_ptr->has_unread_bytes()) {
      spoke.push_back(victim_ptr);
      continue;
    }
    auto session = victim->lock();
    if (!session) return true;  // being destroyed right now (it waits on our lock): room is made
    const bool evicted = session->try_evict(victim_since);
    held.push_back(std::move(session));
    if (evicted) return true;
    // It woke up with a request between the scan and the claim: look again.
    spoke.push_back(victim_ptr);
  }
  return false;
}

ConnectionCounts HttpServer::connection_counts() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  return ConnectionCounts{
      .evicted_idle = shared_->evicted_idle.load(kRelaxed),
      .evicted_per_client = shared_->evicted_per_client.load(kRelaxed),
      .rejected_full = shared_->rejected_full.load(kRelaxed),
      .rejected_per_client = shared_->rejected_per_client.load(kRelaxed),
      .shed_no_descriptors = shed_.load(kRelaxed),
  };
}

void HttpServer::log_accept_error(const beast::error_code& ec) {
  ++accept_errors_;
  const auto now = std::chrono::steady_clock::now();
  if (accept_errors_logged_ && now - last_accept_log_ < kAcceptLogInterval) return;
  if (accept_errors_ > 1) {
    spdlog::warn("accept: {} ({} accept failures in the last {} s)", ec.message(), accept_errors_,
                 kAcceptLogInterval.count());
  } else {
    spdlog::warn("accept: {}", ec.message());
  }
  accept_errors_ = 0;
  accept_errors_logged_ = true;
  last_accept_log_ = now;
}

bool HttpServer::shed_one_connection() {
  if (spare_fd_ < 0) spare_fd_ = open_spare_fd();
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  spare_fd_ = -1;
  const int fd =
      ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) {
    shed_.fetch_add(1, std::memory_order_relaxed);
    // Best effort: a fresh socket's send buffer takes these few bytes at once.
    (void)::send(fd, kNoDescriptorsReply.data(), kNoDescriptorsReply.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }
  spare_fd_ = open_spare_fd();
  return fd >= 0 && spare_fd_ >= 0;
}

void HttpServer::shutdown(std::chrono::milliseconds drain) {
  if (shut_down_) return;
  shut_down_ = true;
  shared_->stopping.store(true);
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  });
  std::vector<std::shared_ptr<HttpSession>> sessions;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    for (auto& [ptr, weak] : shared_->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->stop();
  sessions.clear();
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (shared_->active.load() > 0 && std::chrono::steady_clock::now() < deadline &&
         !threads_.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  work_.clear();
  for (auto& ioc : iocs_) ioc->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // The posted close may not have run before stop(); with every thread joined it is safe here,
  // and the port must stop accepting now, not when the server object goes away.
  beast::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace bazaar::httpd
