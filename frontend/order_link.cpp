#include "frontend/order_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>

#include "common/cli.h"
#include "common/overloaded.h"
#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {

namespace {

// The longest the link sleeps when nothing is due: bounds how late stop() is noticed even if a
// wake-up were lost.
constexpr std::chrono::milliseconds kIdlePoll{100};
// Replies taken off one replica's socket per round before looking at the queue and timers again.
constexpr int kReceiveBatch = 256;

constexpr const char* kShuttingDown = "front end shutting down";

}  // namespace

OrderLink::OrderLink(zmq::context_t& ctx, OrderLinkOptions options, LeaderTracker& tracker,
                     Metrics* metrics)
    : ctx_(ctx),
      options_(std::move(options)),
      tracker_(tracker),
      inbox_(options_.queue_limit),
      placement_(options_.timeouts, tracker, metrics) {
  const auto replicas = static_cast<std::uint32_t>(options_.endpoints.size());
  if (replicas == 0) throw common::StartupError("order link: no order replica endpoint");
  if (replicas > proto::kMaxReplicaId) {
    throw common::StartupError("order link: at most " + std::to_string(proto::kMaxReplicaId) +
                               " order replica endpoints");
  }
  // Replica ids must mean the same to the tracker and to the link.
  if (tracker.replicas() != replicas) {
    throw common::StartupError("order link: the leader tracker counts " +
                               std::to_string(tracker.replicas()) + " replicas, the link " +
                               std::to_string(replicas));
  }
  endpoints_.resize(proto::kMaxReplicaId);
  sockets_.resize(proto::kMaxReplicaId);
  for (std::uint32_t id = 1; id <= replicas; ++id) {
    endpoints_[id - 1] = options_.endpoints[id - 1];
    make_socket(id);
  }
}

void OrderLink::connect_new_replicas() {
  for (auto& [id, endpoint] : tracker_.take_new_endpoints()) {
    if (sockets_[id - 1]) continue;
    endpoints_[id - 1] = endpoint;
    try {
      make_socket(id);
    } catch (const std::exception& e) {
      spdlog::warn("order link: cannot connect to replica {} at {} ({})", id, endpoint, e.what());
      endpoints_[id - 1].clear();
      continue;
    }
    // Known only once its socket exists: the state machine may route to it from now on.
    tracker_.learn(id);
    spdlog::info("order link: replica {} at {} (announced as leader), now one of {}", id, endpoint,
                 tracker_.replicas());
  }
}

OrderLink::~OrderLink() {
  stop();
  sockets_.clear();
}

void OrderLink::make_socket(std::uint32_t id) {
  // Made whole before it replaces the old one, so a failure leaves the link as it was.
  auto socket = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  common::configure_socket(*socket);
  common::connect_or_throw(*socket, endpoints_[id - 1],
                           "order replica " + std::to_string(id) + " endpoint");
  sockets_[id - 1] = std::move(socket);
}

void OrderLink::start() {
  thread_ = std::thread([this] { run(); });
}

bool OrderLink::try_place(proto::PlaceOrderRequest request, PlaceDone done) {
  // Encoded here, on the caller's thread, once: every attempt sends these bytes.
  return inbox_.push(Job{.done = std::move(done),
                         .body = proto::encode(request),
                         .deadline = Clock::now() + options_.timeouts.request});
}

bool OrderLink::try_get(std::int64_t number, GetDone done) {
  return inbox_.push(Job{.done = std::move(done),
                         .number = number,
                         .deadline = Clock::now() + options_.timeouts.request});
}

bool OrderLink::try_find_leader(std::chrono::milliseconds budget, FindLeaderDone done) {
  return inbox_.push(Job{.done = std::move(done), .deadline = Clock::now() + budget});
}

std::size_t OrderLink::queued() const {
  return inbox_.size();
}

void OrderLink::stop() {
  inbox_.close();
  if (thread_.joinable()) thread_.join();
  // The thread answered what it had; this is what a link never started still holds.
  for (auto& job : inbox_.take_all()) finish_shutting_down(job.done);
}

void OrderLink::finish(Done& done, OrderEffects::Answer::Result result) {
  try {
    // Each request's answer is of its own kind (OrderPlacement answers as it was asked).
    std::visit(common::Overloaded{
                   [&](PlaceDone& d) { d(std::get<PlaceOrderResult>(std::move(result))); },
                   [&](GetDone& d) { d(std::get<GetOrderResult>(std::move(result))); },
                   [&](FindLeaderDone& d) { d(std::get<FindLeaderResult>(std::move(result))); },
               },
               done);
  } catch (const std::exception& e) {
    // The callback must answer its client itself; this only keeps a bug from killing the link.
    spdlog::error("order link callback failed: {}", e.what());
  }
}

void OrderLink::finish_shutting_down(Done& done) {
  OrderEffects::Answer::Result result = FindLeaderResult{};
  if (std::holds_alternative<PlaceDone>(done)) {
    result = PlaceOrderResult{.status = proto::Status::kUnavailable, .message = kShuttingDown};
  } else if (std::holds_alternative<GetDone>(done)) {
    // Assigned, not designated: GCC 12 warns falsely (-Wmaybe-uninitialized) about the skipped
    // order's strings.
    GetOrderResult get;
    get.status = proto::Status::kUnavailable;
    get.message = kShuttingDown;
    result = std::move(get);
  }
  finish(done, std::move(result));
}

void OrderLink::admit(Job job, Clock::time_point now) {
  const std::uint64_t key = std::visit(
      common::Overloaded{
          [&](PlaceDone&) {
            return placement_.place(std::move(job.body), job.deadline, now, effects_);
          },
          [&](GetDone&) { return placement_.get(job.number, job.deadline, now, effects_); },
          [&](FindLeaderDone&) { return placement_.find_leader(job.deadline, now, effects_); },
      },
      job.done);
  // Before apply(): the answer may be among the effects already.
  callbacks_.emplace(key, std::move(job.done));
  apply();
}

void OrderLink::apply() {
  // Reconnects first: what the same input sends is newer than what the old socket queues.
  for (const std::uint32_t id : effects_.reconnects) {
    spdlog::debug("order link: nothing from replica {} for an attempt period, reconnecting", id);
    try {
      make_socket(id);
    } catch (const std::exception& e) {
      // Out of file descriptors, most likely (zmq_socket needs one for its mailbox). Throwing
      // here would end the link's thread and the process; the old socket still works as well as
      // it did, and the next silent attempt period tries again.
      spdlog::warn("order link: cannot make a new socket for replica {} ({}); keeping the old one",
                   id, e.what());
    }
  }
  for (const auto& send : effects_.sends) {
    if (send.replica < 1 || send.replica > sockets_.size() || !sockets_[send.replica - 1]) {
      spdlog::error("order link: no socket for replica {}", send.replica);
      continue;
    }
    try {
      // Never blocks the link; a refused send is an attempt that times out like a lost one.
      common::send_tagged(*sockets_[send.replica - 1], send.attempt, send.body);
    } catch (const zmq::error_t& e) {
      spdlog::warn("order link: send to replica {} failed: {}", send.replica, e.what());
    }
  }
  for (auto& answer : effects_.answers) {
    const auto it = callbacks_.find(answer.key);
    if (it == callbacks_.end()) continue;
    Done done = std::move(it->second);
    callbacks_.erase(it);
    finish(done, std::move(answer.result));
  }
  effects_.clear();
}

void OrderLink::receive_replies(std::uint32_t id) {
  for (int i = 0; i < kReceiveBatch; ++i) {
    // Expected [attempt id, "", reply].
    const common::TaggedReply reply = common::recv_tagged(*sockets_[id - 1]);
    if (reply.outcome == common::TaggedOutcome::kNone) return;
    const auto now = Clock::now();
    if (reply.outcome == common::TaggedOutcome::kMalformed) {
      spdlog::debug("order link: reply of unexpected shape from replica {} dropped", id);
      placement_.on_malformed(id, now);
      continue;
    }
    placement_.on_reply(id, reply.tag, reply.body.to_string_view(), now, effects_);
    apply();
  }
}

void OrderLink::run() {
  std::deque<Job> batch;
  std::vector<zmq::pollitem_t> items;
  for (;;) {
    connect_new_replicas();
    const std::size_t in_flight = placement_.in_flight();
    const std::size_t room =
        options_.max_in_flight > in_flight ? options_.max_in_flight - in_flight : 0;
    if (!inbox_.take(room, batch)) break;  // stopping; what is queued is answered below
    const auto now = Clock::now();
    for (auto& job : batch) admit(std::move(job), now);
    batch.clear();
    for (std::uint32_t id = 1; id <= proto::kMaxReplicaId; ++id) {
      if (!sockets_[id - 1]) continue;
      try {
        receive_replies(id);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) spdlog::warn("order link: receive failed: {}", e.what());
      }
    }
    placement_.on_timers(Clock::now(), effects_);
    apply();

    auto timeout = kIdlePoll;
    if (const auto next = placement_.next_timer()) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now());
      timeout = std::clamp(until, std::chrono::milliseconds(0), kIdlePoll);
    }
    const bool busy = inbox_.about_to_sleep(placement_.in_flight() < options_.max_in_flight);
    // Sockets may have been made anew, or added, since the last round.
    items.clear();
    for (std::uint32_t id = 1; id <= proto::kMaxReplicaId; ++id) {
      if (!sockets_[id - 1]) continue;
      items.push_back({sockets_[id - 1]->handle(), 0, ZMQ_POLLIN, 0});
    }
    items.push_back({nullptr, inbox_.fd(), ZMQ_POLLIN, 0});
    try {
      zmq::poll(items.data(), items.size(), busy ? std::chrono::milliseconds(0) : timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("order link: poll failed: {}", e.what());
    }
    inbox_.woke((items.back().revents & ZMQ_POLLIN) != 0);
  }
  // Stopping: nobody waits on a reply any more. Answer everything, queued and taken up. An
  // order whose attempt is out may still commit: 503 says only that its outcome is unknown, and
  // a retry with its Idempotency-Key is safe.
  for (const std::uint64_t key : placement_.abandon_all()) {
    const auto it = callbacks_.find(key);
    if (it != callbacks_.end()) finish_shutting_down(it->second);
  }
  callbacks_.clear();
  for (auto& job : inbox_.take_all()) finish_shutting_down(job.done);
}

}  // namespace bazaar::frontend
