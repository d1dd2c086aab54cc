#include "frontend/catalog_link.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/cli.h"
#include "common/overloaded.h"
#include "common/rpc_client.h"
#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {

namespace {

// The longest the link sleeps when nothing is due: bounds how late stop() is noticed even if a
// wake-up were lost.
constexpr std::chrono::milliseconds kIdlePoll{100};
// Replies taken off the socket per round before looking at the queue and deadlines again.
constexpr int kReceiveBatch = 256;

constexpr const char* kShuttingDown = "front end shutting down";

// The callback must answer its client itself; this only keeps a bug from killing the link.
template <class F>
void guarded(F&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    spdlog::error("catalog link callback failed: {}", e.what());
  }
}

LookupResult lookup_result(std::string_view body, std::uint64_t& incarnation) {
  LookupResult result;
  auto env = proto::open_envelope(body);
  if (env && env->type == proto::MessageType::kErrorReply) {
    auto err = proto::decode_body<proto::ErrorReply>(*env);
    result.status = proto::Status::kInternal;
    result.message = "catalog rejected the request: " + (err ? err->message : "?");
  } else if (auto rep = env ? proto::decode_body<proto::LookupReply>(*env)
                            : proto::Decoded<proto::LookupReply>{{}, env.error}) {
    result.status = rep->status;
    result.item = std::move(rep->item);
    incarnation = rep->incarnation;
  } else {
    result.status = proto::Status::kInternal;
    result.message = "catalog: " + std::string(proto::to_string(rep.error));
  }
  return result;
}

ListResult list_result(std::string_view body) {
  auto r = common::decode_reply<proto::ListReply>(body);
  if (!r.ok()) return {.status = proto::Status::kInternal, .message = "catalog: " + r.error};
  return {.status = r.reply.status, .items = std::move(r.reply.items)};
}

}  // namespace

CatalogLink::CatalogLink(zmq::context_t& ctx, CatalogLinkOptions options, Metrics* metrics)
    : ctx_(ctx), options_(std::move(options)), metrics_(metrics), inbox_(options_.queue_limit) {
  make_socket();
}

CatalogLink::~CatalogLink() {
  stop();
  socket_.reset();
}

void CatalogLink::make_socket() {
  // Made whole before it replaces the old one, so a failure leaves the link as it was.
  auto socket = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  common::configure_socket(*socket);
  common::connect_or_throw(*socket, options_.endpoint, "catalog endpoint");
  socket_ = std::move(socket);
}

bool CatalogLink::remake_socket() {
  try {
    make_socket();
    return true;
  } catch (const std::exception& e) {
    // Out of file descriptors, most likely (zmq_socket needs one for its mailbox). Throwing here
    // would end the link's thread and the process; the old socket still works as well as it
    // did, and the next silent attempt period tries again.
    spdlog::warn("catalog link: cannot make a new socket ({}); keeping the old one", e.what());
    return false;
  }
}

void CatalogLink::start() {
  thread_ = std::thread([this] { run(); });
}

bool CatalogLink::try_lookup(std::string name, LookupDone done) {
  return inbox_.push(Job{.done = std::move(done),
                         .name = std::move(name),
                         .deadline = Clock::now() + options_.timeouts.request});
}

bool CatalogLink::try_list(ListDone done) {
  return inbox_.push(
      Job{.done = std::move(done), .deadline = Clock::now() + options_.timeouts.request});
}

bool CatalogLink::try_status(std::chrono::milliseconds budget, StatusDone done) {
  return inbox_.push(Job{.done = std::move(done), .deadline = Clock::now() + budget});
}

std::size_t CatalogLink::queued() const {
  return inbox_.size();
}

void CatalogLink::stop() {
  inbox_.close();
  if (thread_.joinable()) thread_.join();
  // The thread answered what it had; this is what a link never started still holds.
  for (auto& job : inbox_.take_all()) fail(job, kShuttingDown);
}

void CatalogLink::fail(Job& job, const std::string& message) {
  guarded([&] {
    std::visit(common::Overloaded{
                   [&](LookupDone& d) {
                     // Assigned, not designated: GCC 12 warns falsely (-Wmaybe-uninitialized)
                     // about the skipped item's strings.
                     LookupResult result;
                     result.status = proto::Status::kUnavailable;
                     result.message = message;
                     d(std::move(result), 0);
                   },
                   [&](ListDone& d) {
                     d(ListResult{.status = proto::Status::kUnavailable, .message = message});
                   },
                   [&](StatusDone& d) { d(false); },
               },
               job.done);
  });
}

void CatalogLink::send_attempt(Job job, Clock::time_point now) {
  const std::uint64_t id = next_id_++;
  const std::string request =
      std::visit(common::Overloaded{
                     [&](LookupDone&) { return proto::encode(proto::LookupRequest{job.name}); },
                     [&](ListDone&) { return proto::encode(proto::ListRequest{}); },
                     [&](StatusDone&) { return proto::encode(proto::StatusRequest{}); },
                 },
                 job.done);
  try {
    // Never blocks the link. A refused send (queue to the catalog full) is just an attempt that
    // will time out and go again, like a lost one.
    common::send_tagged(*socket_, id, request);
  } catch (const zmq::error_t& e) {
    spdlog::warn("catalog link: send failed: {}", e.what());
  }
  const auto left = job.deadline - now;
  const auto attempt_deadline =
      now +
      std::min<Clock::duration>(options_.timeouts.attempt, std::max<Clock::duration>(left, {}));
  deadlines_.emplace(attempt_deadline, id);
  pending_.emplace(id, Pending{std::move(job), attempt_deadline});
}

void CatalogLink::on_reply(std::uint64_t id, std::string_view body) {
  const auto it = pending_.find(id);
  if (it == pending_.end()) return;  // an attempt given up on already: not ours to answer
  Pending p = std::move(it->second);
  pending_.erase(it);
  deadlines_.erase({p.attempt_deadline, id});

  guarded([&] {
    std::visit(common::Overloaded{
                   [&](LookupDone& d) {
                     std::uint64_t incarnation = 0;
                     LookupResult result = lookup_result(body, incarnation);
                     d(std::move(result), incarnation);
                   },
                   [&](ListDone& d) { d(list_result(body)); },
                   [&](StatusDone& d) { d(common::decode_reply<proto::StatusReply>(body).ok()); },
               },
               p.job.done);
  });
}

void CatalogLink::receive_replies(Clock::time_point& last_reply) {
  for (int i = 0; i < kReceiveBatch; ++i) {
    // Expected [id, "", reply].
    const common::TaggedReply reply = common::recv_tagged(*socket_);
    if (reply.outcome == common::TaggedOutcome::kNone) return;
    last_reply = Clock::now();
    if (reply.outcome == common::TaggedOutcome::kMalformed) {
      spdlog::debug("catalog link: reply of unexpected shape dropped");
      continue;
    }
    on_reply(reply.tag, reply.body.to_string_view());
  }
}

void CatalogLink::expire(Clock::time_point now, Clock::time_point& last_reply) {
  std::deque<Job> again;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::uint64_t id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    const auto it = pending_.find(id);
    if (it == pending_.end()) continue;
    Job job = std::move(it->second.job);
    pending_.erase(it);
    if (now >= job.deadline) {
      // The lookups' wording; a list says what the blocking call it replaced said.
      fail(job, std::holds_alternative<ListDone>(job.done)
                    ? std::string("catalog unavailable (timed out)")
                    : "catalog unavailable (no reply within " +
                          std::to_string(options_.timeouts.request.count()) + " ms)");
    } else {
      again.push_back(std::move(job));
    }
  }
  if (again.empty()) return;
  if (now - last_reply >= options_.timeouts.attempt) {
    // Nothing heard for a whole attempt: the catalog may be gone for good (restarted on a new
    // connection, or wedged). Drop the socket and whatever it still queues, and start afresh.
    spdlog::debug("catalog link: no reply for {} ms, reconnecting",
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - last_reply).count());
    (void)remake_socket();
    last_reply = now;
  }
  for (auto& job : again) {
    // /health's status check is not a request of the API's: its resends are no retries.
    if (metrics_ != nullptr && !std::holds_alternative<StatusDone>(job.done)) {
      metrics_->count_retry();
    }
    send_attempt(std::move(job), now);
  }
}

void CatalogLink::run() {
  Clock::time_point last_reply = Clock::now();
  std::deque<Job> batch;
  for (;;) {
    const std::size_t room =
        options_.max_in_flight > pending_.size() ? options_.max_in_flight - pending_.size() : 0;
    if (!inbox_.take(room, batch)) break;  // stopping; what is queued is answered below
    const auto now = Clock::now();
    // A quiet link has heard nothing for a while without anything being wrong.
    if (pending_.empty()) last_reply = now;
    for (auto& job : batch) send_attempt(std::move(job), now);
    batch.clear();
    try {
      receive_replies(last_reply);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("catalog link: receive failed: {}", e.what());
    }
    expire(Clock::now(), last_reply);

    auto timeout = kIdlePoll;
    if (!deadlines_.empty()) {
      const auto until =
          std::chrono::ceil<std::chrono::milliseconds>(deadlines_.begin()->first - Clock::now());
      timeout = std::clamp(until, std::chrono::milliseconds(0), kIdlePoll);
    }
    const bool busy = inbox_.about_to_sleep(pending_.size() < options_.max_in_flight);
    zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, inbox_.fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, busy ? std::chrono::milliseconds(0) : timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::warn("catalog link: poll failed: {}", e.what());
    }
    inbox_.woke((items[1].revents & ZMQ_POLLIN) != 0);
  }
  // Stopping: nobody waits on a reply any more. Answer everything, queued and outstanding.
  std::deque<Job> left = inbox_.take_all();
  for (auto& [id, p] : pending_) left.push_back(std::move(p.job));
  pending_.clear();
  deadlines_.clear();
  for (auto& job : left) fail(job, kShuttingDown);
}

}  // namespace bazaar::frontend
