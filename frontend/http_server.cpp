#include "frontend/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "common/cli.h"

namespace bazaar::frontend {

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

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, RequestHandler& handler)
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
}

void HttpServer::start() {
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
    spdlog::warn("accept: {}", ec.message());
    if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
        ec == net::error::no_memory) {
      // Out of resources: back off instead of spinning on the same error.
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](beast::error_code wec) {
        if (!wec && acceptor_.is_open()) accept();
      });
      return;
    }
    accept();
    return;
  }
  if (shared_->stopping.load() || shared_->active.load() >= shared_->options.max_connections) {
    spdlog::debug("connection limit {} reached: closing a new connection",
                  shared_->options.max_connections);
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // small replies: do not wait for Nagle
    std::make_shared<HttpSession>(std::move(socket), *shared_)->start();
  }
  accept();
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

}  // namespace bazaar::frontend
