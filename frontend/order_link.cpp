#include "frontend/order_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/cli.h"
#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {

namespace {

// The longest the link sleeps when nothing is due: bounds how late stop() is noticed even if a
// wake-up were lost.
constexpr std::chrono::milliseconds kIdlePoll{100};
// Replies taken off one replica's socket per round before looking at the queue and timers again.
constexpr int kReceiveBatch = 256;

PlaceOrderResult shutting_down() {
  return {proto::Status::kUnavailable, -1, "front end shutting down"};
}

template <class Rep>
common::CallResult<Rep> timed_out() {
  common::CallResult<Rep> result;
  result.outcome = common::CallOutcome::kTimeout;
  result.error = common::to_string(result.outcome);
  return result;
}

}  // namespace

OrderLink::OrderLink(zmq::context_t& ctx, OrderLinkOptions options, LeaderTracker& tracker,
                     Metrics* metrics)
    : ctx_(ctx),
      options_(std::move(options)),
      tracker_(tracker),
      metrics_(metrics),
      replicas_(static_cast<std::uint32_t>(options_.endpoints.size())),
      status_body_(proto::encode(proto::StatusRequest{})),
      inbox_(options_.queue_limit) {
  if (replicas_ == 0) throw common::StartupError("order link: no order replica endpoint");
  // Replica ids must mean the same to the tracker and to the link.
  if (tracker_.replicas() != replicas_) {
    throw common::StartupError("order link: the leader tracker counts " +
                               std::to_string(tracker_.replicas()) + " replicas, the link " +
                               std::to_string(replicas_));
  }
  sockets_.resize(replicas_);
  for (std::uint32_t id = 1; id <= replicas_; ++id) make_socket(id);
}

OrderLink::~OrderLink() {
  stop();
  sockets_.clear();
}

void OrderLink::make_socket(std::uint32_t id) {
  auto socket = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  common::configure_socket(*socket);
  common::connect_or_throw(*socket, options_.endpoints[id - 1],
                           "order replica " + std::to_string(id) + " endpoint");
  sockets_[id - 1].socket = std::move(socket);
}

void OrderLink::start() {
  thread_ = std::thread([this] { run(); });
}

bool OrderLink::try_place(proto::PlaceOrderRequest request, Done done) {
  // Encoded here, on the caller's thread, once: every attempt sends these bytes.
  Job job;
  job.body = proto::encode(request);
  job.request_id = std::move(request.request_id);
  job.done = std::move(done);
  job.deadline = Clock::now() + options_.timeouts.request;
  return inbox_.push(std::move(job));
}

std::size_t OrderLink::queued() const {
  return inbox_.size();
}

void OrderLink::stop() {
  inbox_.close();
  if (thread_.joinable()) thread_.join();
  // The thread answered what it had; this is what a link never started still holds.
  for (auto& job : inbox_.take_all()) finish(job.done, shutting_down());
}

void OrderLink::finish(Done& done, PlaceOrderResult result) {
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    // The callback must answer its client itself; this only keeps a bug from killing the link.
    spdlog::error("order link callback failed: {}", e.what());
  }
}

// ---- sockets --------------------------------------------------------------------------------

void OrderLink::send_to(std::uint32_t id, std::uint64_t attempt, std::string_view body,
                        Clock::time_point now) {
  Replica& r = sockets_[id - 1];
  // A replica nobody waited on was not silent, just idle: its silence counts from now.
  if (r.outstanding == 0) r.last_heard = now;
  ++r.outstanding;
  try {
    // Never blocks the link; a refused send is an attempt that times out like a lost one.
    common::send_tagged(*r.socket, attempt, body);
  } catch (const zmq::error_t& e) {
    spdlog::warn("order link: send to replica {} failed: {}", id, e.what());
  }
}

void OrderLink::settle(std::uint32_t id) {
  Replica& r = sockets_[id - 1];
  if (r.outstanding > 0) --r.outstanding;
}

void OrderLink::on_silence(std::uint32_t id, Clock::time_point now) {
  Replica& r = sockets_[id - 1];
  if (now - r.last_heard < options_.timeouts.attempt) return;
  // Nothing heard for a whole attempt: the replica may be gone for good (killed, restarted on a
  // new connection, or wedged). Drop the socket and whatever it still queues, and start afresh;
  // what else is outstanding there times out like a lost attempt.
  spdlog::debug("order link: nothing from replica {} for {} ms, reconnecting", id,
                std::chrono::duration_cast<std::chrono::milliseconds>(now - r.last_heard).count());
  try {
    make_socket(id);
  } catch (const std::exception& e) {
    // Out of file descriptors, most likely (zmq_socket needs one for its mailbox). Throwing here
    // would end the link's thread and the process; the old socket still works as well as it
    // did, and the next silent attempt period tries again.
    spdlog::warn("order link: cannot make a new socket for replica {} ({}); keeping the old one",
                 id, e.what());
  }
  r.last_heard = now;
}

void OrderLink::receive_replies(std::uint32_t id) {
  zmq::socket_t& socket = *sockets_[id - 1].socket;
  for (int i = 0; i < kReceiveBatch; ++i) {
    // Expected [attempt id, "", reply].
    const common::TaggedReply reply = common::recv_tagged(socket);
    if (reply.outcome == common::TaggedOutcome::kNone) return;
    const auto now = Clock::now();
    sockets_[id - 1].last_heard = now;
    if (reply.outcome == common::TaggedOutcome::kMalformed) {
      spdlog::debug("order link: reply of unexpected shape from replica {} dropped", id);
      continue;
    }
    const std::uint64_t attempt = reply.tag;
    if (attempts_.count(attempt) != 0) {
      on_place_reply(attempt, reply.body.to_string_view(), now);
    } else if (discovery_.active && attempt == discovery_.attempt) {
      on_probe_reply(reply.body.to_string_view(), now);
    }
    // Else an attempt given up on already: not ours to answer.
  }
}

// ---- timers ---------------------------------------------------------------------------------

void OrderLink::arm(std::uint64_t key, Clock::time_point& slot, Clock::time_point at) {
  timers_.erase({slot, key});
  slot = at;
  timers_.emplace(at, key);
}

void OrderLink::disarm(std::uint64_t key, Clock::time_point slot) {
  timers_.erase({slot, key});
}

void OrderLink::fire_timers(Clock::time_point now) {
  // Every handler arms its next timer strictly after `now`, so this loop ends.
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const std::uint64_t key = timers_.begin()->second;
    timers_.erase(timers_.begin());
    if (key == kDiscoveryKey) {
      on_probe_timer(now);
    } else if (orders_.count(key) != 0) {
      on_order_timer(key, now);
    }
  }
}

// ---- orders ---------------------------------------------------------------------------------

void OrderLink::admit(Job job, Clock::time_point now) {
  const std::uint64_t key = next_key_++;
  auto [it, inserted] = orders_.emplace(key, Order{});
  it->second.job = std::move(job);
  route(key, it->second, -1, now);
}

void OrderLink::route(std::uint64_t key, Order& order, std::int32_t target, Clock::time_point now) {
  if (now >= order.job.deadline) {
    answer(key, place_deadline_result(order.progress, options_.timeouts.request));
    return;
  }
  if (target < 1) target = tracker_.routable_leader(now);
  if (target < 1) {
    // The known leader is suspect: this front end may be cut off from it while a follower is
    // not, and a follower that hears its leader forwards the order. Meanwhile probes look for
    // a leader this front end can reach.
    target = tracker_.relay(now);
    if (target >= 1 && !discovery_.active) start_discovery(now);
  }
  if (target >= 1) {
    send_attempt(key, order, static_cast<std::uint32_t>(target), now);
    return;
  }
  order.stage = Stage::kWaiting;
  arm(key, order.timer, order.job.deadline);
  // Orders that expired while waiting leave their key behind until the next probe; keep the
  // list within the in-flight bound even if a probe takes long.
  if (waiting_.size() >= options_.max_in_flight) prune_waiting();
  waiting_.push_back(key);
  if (!discovery_.active) start_discovery(now);
}

void OrderLink::prune_waiting() {
  std::erase_if(waiting_, [&](std::uint64_t key) {
    const auto it = orders_.find(key);
    return it == orders_.end() || it->second.stage != Stage::kWaiting;
  });
}

void OrderLink::send_attempt(std::uint64_t key, Order& order, std::uint32_t target,
                             Clock::time_point now) {
  count_attempt(order.progress.tries, metrics_);
  const std::uint64_t attempt = next_attempt_++;
  attempts_.emplace(attempt, key);
  order.stage = Stage::kSent;
  order.replica = target;
  order.attempt = attempt;
  send_to(target, attempt, order.job.body, now);
  // Each attempt is capped so one dead leader cannot use the whole budget (OrderClient::slice).
  const auto left = order.job.deadline - now;
  arm(key, order.timer,
      now + std::clamp<Clock::duration>(left, std::chrono::milliseconds(1),
                                        options_.timeouts.attempt));
}

void OrderLink::apply(std::uint64_t key, Order& order, PlaceStep step, Clock::time_point now) {
  switch (step.next) {
    case PlaceStep::Next::kAnswer:
      answer(key, std::move(step.result));
      return;
    case PlaceStep::Next::kRetry:
      route(key, order, step.target, now);
      return;
    case PlaceStep::Next::kPause:
      pause(key, order, now);
      return;
  }
}

void OrderLink::pause(std::uint64_t key, Order& order, Clock::time_point now) {
  if (now >= order.job.deadline) {
    answer(key, place_deadline_result(order.progress, options_.timeouts.request));
    return;
  }
  order.stage = Stage::kPaused;
  arm(key, order.timer,
      now + std::min<Clock::duration>(options_.timeouts.backoff, order.job.deadline - now));
}

void OrderLink::answer(std::uint64_t key, PlaceOrderResult result) {
  const auto it = orders_.find(key);
  if (it == orders_.end()) return;
  Order& order = it->second;
  disarm(key, order.timer);
  if (order.attempt != 0) {
    attempts_.erase(order.attempt);
    settle(order.replica);
  }
  Done done = std::move(order.job.done);
  orders_.erase(it);
  finish(done, std::move(result));
}

void OrderLink::on_place_reply(std::uint64_t attempt, std::string_view body,
                               Clock::time_point now) {
  const auto a = attempts_.find(attempt);
  const std::uint64_t key = a->second;
  attempts_.erase(a);
  const auto it = orders_.find(key);
  if (it == orders_.end()) return;
  Order& order = it->second;
  order.attempt = 0;
  settle(order.replica);
  const auto r = common::decode_reply<proto::PlaceOrderReply>(body);
  if (!r.ok())
    spdlog::debug("order {}: replica {} {}", order.job.request_id, order.replica, r.error);
  apply(key, order, judge_place_attempt(tracker_, replicas_, order.replica, r, order.progress, now),
        now);
}

void OrderLink::on_order_timer(std::uint64_t key, Clock::time_point now) {
  Order& order = orders_.at(key);
  switch (order.stage) {
    case Stage::kSent: {
      attempts_.erase(order.attempt);
      order.attempt = 0;
      settle(order.replica);
      on_silence(order.replica, now);
      spdlog::debug("order {}: replica {} timeout", order.job.request_id, order.replica);
      const auto r = timed_out<proto::PlaceOrderReply>();
      apply(key, order,
            judge_place_attempt(tracker_, replicas_, order.replica, r, order.progress, now), now);
      return;
    }
    case Stage::kPaused:
      route(key, order, -1, now);
      return;
    case Stage::kWaiting:
      // Its deadline, with no leader found yet. Its key stays in waiting_ until the round ends.
      answer(key, place_deadline_result(order.progress, options_.timeouts.request));
      return;
  }
}

// ---- leader discovery -----------------------------------------------------------------------

void OrderLink::start_discovery(Clock::time_point now) {
  discovery_.active = true;
  discovery_.order = probe_order(tracker_, replicas_, now);
  discovery_.next = 0;
  discovery_.named = -1;
  next_probe(now);
}

void OrderLink::next_probe(Clock::time_point now) {
  // Orders that reached their deadline meanwhile no longer wait; with nobody left, stop.
  prune_waiting();
  if (waiting_.empty()) {
    discovery_.active = false;
    return;
  }
  if (discovery_.next >= discovery_.order.size()) {
    end_discovery(discovery_.named, now);
    return;
  }
  const std::uint32_t id = discovery_.order[discovery_.next++];
  discovery_.replica = id;
  discovery_.attempt = next_attempt_++;
  send_to(id, discovery_.attempt, status_body_, now);
  arm(kDiscoveryKey, discovery_.timer, now + options_.timeouts.probe);
}

void OrderLink::on_probe_reply(std::string_view body, Clock::time_point now) {
  disarm(kDiscoveryKey, discovery_.timer);
  discovery_.attempt = 0;
  settle(discovery_.replica);
  const ProbeVerdict v = judge_probe(tracker_, replicas_, discovery_.replica,
                                     common::decode_reply<proto::StatusReply>(body), now);
  if (v.leader >= 1) {
    end_discovery(v.leader, now);
    return;
  }
  if (discovery_.named < 0) discovery_.named = v.named;
  next_probe(now);
}

void OrderLink::on_probe_timer(Clock::time_point now) {
  discovery_.attempt = 0;
  settle(discovery_.replica);
  on_silence(discovery_.replica, now);
  judge_probe(tracker_, replicas_, discovery_.replica, timed_out<proto::StatusReply>(), now);
  next_probe(now);
}

void OrderLink::end_discovery(std::int32_t target, Clock::time_point now) {
  discovery_.active = false;
  discovery_.attempt = 0;
  std::vector<std::uint64_t> waiting;
  waiting.swap(waiting_);
  for (const std::uint64_t key : waiting) {
    const auto it = orders_.find(key);
    if (it == orders_.end() || it->second.stage != Stage::kWaiting) continue;
    if (target >= 1) {
      route(key, it->second, target, now);
    } else {
      pause(key, it->second, now);  // then route again, which may start the next round
    }
  }
}

// ---- the loop -------------------------------------------------------------------------------

void OrderLink::run() {
  std::deque<Job> batch;
  std::vector<zmq::pollitem_t> items(replicas_ + 1);
  for (;;) {
    const std::size_t room =
        options_.max_in_flight > orders_.size() ? options_.max_in_flight - orders_.size() : 0;
    if (!inbox_.take(room, batch)) break;  // stopping; what is queued is answered below
    const auto now = Clock::now();
    for (auto& job : batch) admit(std::move(job), now);
    batch.clear();
    for (std::uint32_t id = 1; id <= replicas_; ++id) {
      try {
        receive_replies(id);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) spdlog::warn("order link: receive failed: {}", e.what());
      }
    }
    fire_timers(Clock::now());

    auto timeout = kIdlePoll;
    if (!timers_.empty()) {
      const auto until =
          std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - Clock::now());
      timeout = std::clamp(until, std::chrono::milliseconds(0), kIdlePoll);
    }
    const bool busy = inbox_.about_to_sleep(orders_.size() < options_.max_in_flight);
    // Sockets may have been made anew since the last round.
    for (std::uint32_t id = 1; id <= replicas_; ++id) {
      items[id - 1] = {sockets_[id - 1].socket->handle(), 0, ZMQ_POLLIN, 0};
    }
    items[replicas_] = {nullptr, inbox_.fd(), ZMQ_POLLIN, 0};
    try {
      zmq::poll(items.data(), items.size(), busy ? std::chrono::milliseconds(0) : timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("order link: poll failed: {}", e.what());
    }
    inbox_.woke((items[replicas_].revents & ZMQ_POLLIN) != 0);
  }
  // Stopping: nobody waits on a reply any more. Answer everything, queued and taken up. An
  // order whose attempt is out may still commit: 503 says only that its outcome is unknown, and
  // a retry with its Idempotency-Key is safe.
  std::deque<Job> left = inbox_.take_all();
  for (auto& [key, order] : orders_) left.push_back(std::move(order.job));
  orders_.clear();
  attempts_.clear();
  timers_.clear();
  waiting_.clear();
  discovery_.active = false;
  for (auto& job : left) finish(job.done, shutting_down());
}

}  // namespace bazaar::frontend
