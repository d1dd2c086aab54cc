// Test scaffolding: a ROUTER socket on a loopback port, served by its own thread, standing in for
// a service (the catalog, an order replica) that a front end link talks to.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <zmq_addon.hpp>

#include "common/zmq_util.h"

namespace bazaar::fakes {

/// Each round takes every request waiting, then hands them to `answer` one by one (so
/// max_batch shows how many were in flight together). Declare it as the last member of the
/// fake that owns it: its thread starts when it is made and is joined when it goes, so the
/// fake's other members are alive the whole time `answer` can run.
class FakeRouter {
 public:
  /// `parts` is the whole request, routing id first; answer with reply().
  using Answer = std::function<void(std::vector<zmq::message_t>& parts)>;

  FakeRouter(zmq::context_t& ctx, Answer answer)
      : answer_(std::move(answer)), socket_(ctx, zmq::socket_type::router) {
    common::configure_socket(socket_);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeRouter() {
    stop_ = true;
    thread_.join();
  }
  FakeRouter(const FakeRouter&) = delete;
  FakeRouter& operator=(const FakeRouter&) = delete;

  const std::string& endpoint() const { return endpoint_; }

  /// Sends `body` back behind the first `envelope` frames of `parts` (the routing id and
  /// whatever the client put before its request). The router's thread only.
  void reply(const std::vector<zmq::message_t>& parts, std::size_t envelope,
             std::string_view body) {
    for (std::size_t i = 0; i < envelope; ++i) {
      socket_.send(zmq::buffer(parts[i].to_string_view()), zmq::send_flags::sndmore);
    }
    socket_.send(zmq::buffer(body), zmq::send_flags::none);
  }

  std::atomic<int> max_batch{0};  // most requests waiting at once

 private:
  void run() {
    using namespace std::chrono_literals;
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_) {
      if (zmq::poll(&item, 1, 20ms) <= 0) continue;
      std::vector<std::vector<zmq::message_t>> batch;
      for (;;) {
        std::vector<zmq::message_t> parts;
        if (!zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
          break;
        }
        batch.push_back(std::move(parts));
      }
      max_batch = std::max<int>(max_batch, static_cast<int>(batch.size()));
      for (auto& parts : batch) answer_(parts);
    }
  }

  const Answer answer_;
  zmq::socket_t socket_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace bazaar::fakes
