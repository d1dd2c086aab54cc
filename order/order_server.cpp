#include "order/order_server.h"

#include <spdlog/spdlog.h>

#include <zmq_addon.hpp>

#include "common/stop_signal.h"
#include "common/zmq_util.h"
#include "proto_msgs/codec.h"

namespace bazaar::order {

namespace {
// Inputs taken from one socket before the replica is flushed: keeps one busy socket from
// starving the others and bounds the batch a single disk transaction covers.
constexpr int kMaxBatch = 512;
constexpr std::uint64_t kBatchExpiryMs = 60000;
// Cluster probes go to every replica that has not answered this often: a lost one costs one
// interval, and a replica waits for peers that start later without flooding them.
constexpr std::uint64_t kProbeIntervalMs = 200;
constexpr std::uint64_t kWaitingLogMs = 5000;

std::string_view view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}

// zmq::poll; false when a signal interrupted it (the caller checks the stop flag and polls again).
bool poll_once(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout) {
  try {
    zmq::poll(items.data(), items.size(), timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    throw;
  }
  return true;
}

// The catalog's reply as a T, or nullopt when it is not one (the Replica treats both alike).
template <class T>
std::optional<T> decoded(const zmq::message_t& m) {
  auto d = proto::decode<T>(view(m));
  if (!d) return std::nullopt;
  return std::move(*d);
}
}  // namespace

OrderServer::OrderServer(zmq::context_t& ctx, ServerOptions options, Replica& replica,
                         common::EventPublisher& bus, ClusterIdentity& identity)
    : options_(std::move(options)),
      replica_(replica),
      bus_(bus),
      identity_(identity),
      client_(ctx, zmq::socket_type::router),
      peer_in_(ctx, zmq::socket_type::router),
      catalog_(ctx, zmq::socket_type::dealer),
      ctx_(ctx) {
  common::configure_socket(client_);
  common::configure_socket(peer_in_);
  common::configure_socket(catalog_);
  common::bind_or_throw(client_, options_.endpoint, "--endpoint");
  const raft::Membership& members = replica_.core().membership();
  if (const raft::Member* self = members.find(options_.id); self && !self->endpoint.empty()) {
    common::bind_or_throw(peer_in_, self->endpoint, "--peers");
    peer_bound_ = true;
  }
  follow_membership();
  // No queueing for a catalog that is down: a trade held back and delivered minutes later,
  // after the replica gave up on it, would change stock nobody is waiting for.
  catalog_.set(zmq::sockopt::immediate, 1);
  common::connect_or_throw(catalog_, options_.catalog_endpoint, "--catalog");
}

void OrderServer::send_peer(std::uint32_t to, const std::string& bytes) {
  auto it = peer_out_.find(to);
  if (it != peer_out_.end()) {
    (void)it->second.socket->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  }
}

void OrderServer::follow_membership() {
  const raft::RaftCore& core = replica_.core();
  if (core.membership_index() == membership_index_) return;
  membership_index_ = core.membership_index();
  const raft::Membership& members = core.membership();
  std::erase_if(peer_out_, [&](const auto& p) {
    const raft::Member* m = members.find(p.first);
    return m == nullptr || m->endpoint != p.second.endpoint;
  });
  for (const auto& m : members.members()) {
    if (m.id == options_.id || m.endpoint.empty() || peer_out_.count(m.id) != 0) continue;
    auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
    common::configure_socket(*s);
    // Raft resends what matters; a message for a peer that is down is better dropped than
    // queued and delivered stale when it returns.
    s->set(zmq::sockopt::immediate, 1);
    s->set(zmq::sockopt::sndhwm, 1000);
    try {
      common::connect_or_throw(*s, m.endpoint, "peer endpoint of replica " + std::to_string(m.id));
    } catch (const std::exception& e) {
      // A configuration entry is committed whatever its endpoint says: this replica goes on
      // without that peer (the leader checked the endpoint's form before proposing it).
      spdlog::error("replica {}: {}", options_.id, e.what());
      continue;
    }
    peer_out_[m.id] = Peer{.endpoint = m.endpoint, .socket = std::move(s)};
    if (*membership_index_ > 0) {
      spdlog::info("replica {}: peer {} at {}", options_.id, m.id, m.endpoint);
    }
  }
}

std::uint64_t OrderServer::now_ms() const {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - start_)
                                        .count()) +
         1;
}

void OrderServer::read_clients() {
  for (int n = 0; n < kMaxBatch; ++n) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(client_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return;
    }
    if (frames.size() < 2) continue;  // not a REQ-shaped request: nothing to answer
    zmq::message_t body = std::move(frames.back());
    frames.pop_back();
    const std::uint64_t token = next_token_++;
    envelopes_.emplace(token, std::move(frames));
    replica_.on_client(token, view(body), now_ms());
  }
}

void OrderServer::read_peers() {
  for (int n = 0; n < kMaxBatch; ++n) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(peer_in_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return;
    }
    if (frames.size() != 2) continue;
    // Opened once: an AppendEntries during a catch-up carries thousands of entries.
    const auto env = proto::open_envelope(view(frames[1]));
    if (!env) {
      spdlog::warn("dropping an undecodable peer message ({} bytes)", frames[1].size());
      continue;
    }
    if (on_identity_message(*env)) continue;
    if (!identity_.confirmed()) continue;  // a new cluster's replica takes no part before the check
    const std::optional<std::uint32_t> from = replica_.on_peer(*env, now_ms());
    if (from && identity_.heard_from(*from) && options_.record_identity) {
      options_.record_identity(identity_);
    }
  }
}

bool OrderServer::on_identity_message(const proto::Envelope& env) {
  if (env.type == proto::MessageType::kClusterProbe) {
    if (auto probe = proto::decode_body<proto::ClusterProbe>(env)) {
      send_peer(probe->from, proto::encode(identity_.answer(*probe)));
    }
    return true;
  }
  if (env.type == proto::MessageType::kClusterProbeReply) {
    if (auto reply = proto::decode_body<proto::ClusterProbeReply>(env)) {
      if (identity_.on_reply(*reply) && options_.record_identity) {
        options_.record_identity(identity_);
      }
    }
    return true;
  }
  return false;
}

void OrderServer::probe_peers(std::uint64_t now) {
  if (now < next_identity_probe_ms_) return;
  next_identity_probe_ms_ = now + kProbeIntervalMs;
  const std::string bytes = proto::encode(identity_.probe());
  for (const std::uint32_t peer : identity_.to_probe()) send_peer(peer, bytes);
}

bool OrderServer::confirm_identity() {
  if (identity_.confirmed()) {
    // A new single replica: nobody to ask, and its id is recorded before it votes for itself.
    if (identity_.mode() == StartMode::kBootstrap && options_.record_identity) {
      options_.record_identity(identity_);
    }
    return true;
  }
  spdlog::info(
      "replica {}: empty database, a new cluster ({:016x}): waiting until every replica "
      "of --peers has answered that it never heard from this one",
      options_.id, identity_.cluster());
  std::vector<zmq::pollitem_t> items{{peer_in_.handle(), 0, ZMQ_POLLIN, 0}};
  std::uint64_t next_log = now_ms() + kWaitingLogMs;
  while (!common::stop_requested()) {
    if (!poll_once(items, std::chrono::milliseconds(20))) continue;
    if (items[0].revents & ZMQ_POLLIN) read_peers();
    if (identity_.check() == IdentityCheck::kRefused) return false;
    if (identity_.confirmed()) {
      spdlog::info("replica {}: every replica of --peers answered: cluster {:016x} starts",
                   options_.id, identity_.cluster());
      return true;
    }
    const std::uint64_t now = now_ms();
    probe_peers(now);
    if (now >= next_log) {
      next_log = now + kWaitingLogMs;
      std::string waiting;
      for (const std::uint32_t p : identity_.to_probe()) waiting += " " + std::to_string(p);
      spdlog::info("replica {}: still waiting for replicas{} to answer", options_.id, waiting);
    }
  }
  return false;
}

void OrderServer::read_catalog() {
  for (int n = 0; n < kMaxBatch; ++n) {
    // [call id, "", reply]: the catalog's REP workers hand our envelope back unchanged.
    const common::TaggedReply reply = common::recv_tagged(catalog_);
    if (reply.outcome == common::TaggedOutcome::kNone) return;
    if (reply.outcome == common::TaggedOutcome::kMalformed) continue;
    auto node = calls_.extract(reply.tag);
    if (node.empty()) continue;  // expired
    const CatalogCall& call = node.mapped();
    switch (call.kind) {
      case CatalogCall::Kind::kReconcile:
        replica_.on_reconcile(call.term, call.after, decoded<proto::ReconcileReply>(reply.body),
                              now_ms());
        break;
      case CatalogCall::Kind::kResolve:
        replica_.on_resolve(call.term, call.batch, decoded<proto::ResolveReply>(reply.body),
                            now_ms());
        break;
      case CatalogCall::Kind::kProbe:
        if (reply.tag == probe_call_) {
          probe_call_ = 0;
          replica_.on_catalog_probe(true, now_ms());
        }
        break;
      case CatalogCall::Kind::kTrades:
        // An answer that does not decode says nothing about what applied: the batch stays at
        // the Replica until its deadline, and is then resolved like any batch in doubt.
        if (auto r = decoded<proto::TradeBatchReply>(reply.body)) {
          replica_.on_trade_batch(call.batch, r, now_ms());
        } else {
          spdlog::warn("replica {}: undecodable answer to trade batch {}", options_.id, call.batch);
        }
        break;
    }
  }
}

void OrderServer::send_outputs() {
  replica_.flush();
  follow_membership();  // before the peer messages go: a new member's first append among them
  ReplicaOutputs out = replica_.take_outputs();
  for (auto& [token, bytes] : out.replies) {
    auto it = envelopes_.find(token);
    if (it == envelopes_.end()) continue;
    for (auto& frame : it->second) client_.send(frame, zmq::send_flags::sndmore);
    client_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    envelopes_.erase(it);
  }
  // The Replica paces its batches (one at the catalog at a time, by default): each is one
  // catalog transaction and one disk sync, however many trades and confirmations it carries.
  const std::uint64_t now = now_ms();
  for (const TradeBatch& batch : out.trade_batches) {
    CatalogCall call;
    call.batch = batch.id;
    call.sent_ms = now;
    send_catalog(proto::encode(batch.request), std::move(call));
  }
  for (const proto::ResolveRequest& resolve : out.resolves) {
    CatalogCall call;
    call.kind = CatalogCall::Kind::kResolve;
    call.batch = resolve.batch;
    call.term = resolve.term;
    call.sent_ms = now;
    send_catalog(proto::encode(resolve), std::move(call));
  }
  if (out.reconcile) {
    CatalogCall call;
    call.kind = CatalogCall::Kind::kReconcile;
    call.term = out.reconcile->term;
    call.after = out.reconcile->after;
    call.sent_ms = now;
    send_catalog(proto::encode(*out.reconcile), std::move(call));
  }
  while (!calls_.empty() && calls_.begin()->second.sent_ms + kBatchExpiryMs < now) {
    calls_.erase(calls_.begin());
  }
  for (auto& [to, bytes] : out.peers) send_peer(to, bytes);
}

bool OrderServer::send_catalog(const std::string& bytes, CatalogCall call) {
  const std::uint64_t id = next_batch_++;
  // Never block: with ZMQ_IMMEDIATE a DEALER whose catalog is down refuses the first frame, and a
  // blocked leader would stop heartbeating. The trades fail at once as "catalog unreachable"
  // (front ends retry them after a pause); a reconciliation is asked again by the Replica.
  if (!common::send_tagged(catalog_, id, bytes)) {
    if (call.kind == CatalogCall::Kind::kTrades) {
      replica_.on_trade_batch(call.batch, std::nullopt, now_ms());
    }
    return false;
  }
  if (call.kind == CatalogCall::Kind::kProbe) probe_call_ = id;
  calls_.emplace(id, std::move(call));
  return true;
}

void OrderServer::probe_catalog(std::uint64_t now) {
  const auto interval = static_cast<std::uint64_t>(options_.catalog_probe_interval.count());
  if (interval == 0) return;
  if (probe_call_ != 0 && now - probe_sent_ms_ >= 2 * interval) {
    calls_.erase(probe_call_);  // a late answer is then ignored
    probe_call_ = 0;
    replica_.on_catalog_probe(false, now);
  }
  if (probe_call_ != 0 || now < next_probe_ms_) return;
  next_probe_ms_ = now + interval;
  probe_sent_ms_ = now;
  if (!send_catalog(proto::encode(proto::StatusRequest{}),
                    {.kind = CatalogCall::Kind::kProbe, .sent_ms = now})) {
    replica_.on_catalog_probe(false, now);
  }
}

void OrderServer::announce() {
  const auto& core = replica_.core();
  if (core.role() != raft::RaftRole::kLeader) return;
  proto::LeaderAnnouncement ann;
  ann.term = core.term();
  ann.id = core.id();
  ann.endpoint = options_.endpoint;
  bus_.publish(proto::kTopicLeader, ann);
}

RunOutcome OrderServer::run() {
  if (!confirm_identity()) {
    return identity_.check() == IdentityCheck::kRefused ? RunOutcome::kRefused
                                                        : RunOutcome::kStopped;
  }
  spdlog::info("replica {} serving on {} (configuration \"{}\")", options_.id, options_.endpoint,
               replica_.core().membership().encode());
  std::uint64_t next_announce = 0;
  std::uint64_t last_term_announced = 0;
  bool was_leader = false;
  std::vector<zmq::pollitem_t> items{{client_.handle(), 0, ZMQ_POLLIN, 0},
                                     {catalog_.handle(), 0, ZMQ_POLLIN, 0}};
  if (peer_bound_) items.push_back({peer_in_.handle(), 0, ZMQ_POLLIN, 0});
  while (!common::stop_requested()) {
    if (!poll_once(items, std::chrono::milliseconds(5))) continue;
    if (items.size() > 2 && (items[2].revents & ZMQ_POLLIN)) read_peers();
    if (items[1].revents & ZMQ_POLLIN) read_catalog();
    if (items[0].revents & ZMQ_POLLIN) read_clients();
    const std::uint64_t now = now_ms();
    replica_.tick(now);
    probe_catalog(now);
    probe_peers(now);
    send_outputs();
    // Announce at once on taking office, then every announce_interval.
    const bool leader = replica_.core().role() == raft::RaftRole::kLeader;
    if (leader &&
        (!was_leader || replica_.core().term() != last_term_announced || now >= next_announce)) {
      announce();
      last_term_announced = replica_.core().term();
      next_announce = now + static_cast<std::uint64_t>(options_.announce_interval.count());
    }
    was_leader = leader;
    if (options_.after_iteration) options_.after_iteration(replica_, now);
  }
  spdlog::info("replica {} stopping: term {}, {} committed orders", options_.id,
               replica_.core().term(), replica_.committed_orders());
  return RunOutcome::kStopped;
}

}  // namespace bazaar::order
