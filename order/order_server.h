// The order replica's I/O edge: client ROUTER, peer ROUTER/DEALERs, the catalog DEALER and the
// bus. Everything runs on the calling thread; the logic is in Replica.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/event_publisher.h"
#include "order/cluster_identity.h"
#include "order/replica.h"
#include "proto_msgs/codec.h"

namespace bazaar::order {

/// One request the server has at the catalog.
struct CatalogCall {
  enum class Kind : std::uint8_t { kTrades, kReconcile, kResolve, kProbe };
  Kind kind = Kind::kTrades;
  std::uint64_t batch = 0;  // a trade batch's id (TradeBatch::id), also of a resolution
  std::uint64_t term = 0;   // a reconciliation's or resolution's term
  std::string after;        // a reconciliation's cursor
  std::uint64_t sent_ms = 0;
};

struct ServerOptions {
  std::string endpoint;          // bind: client requests (frontends)
  std::string catalog_endpoint;  // connect: trades
  std::uint32_t id = 1;
  std::chrono::milliseconds announce_interval{500};
  /// Every replica asks the catalog for its status this often (one probe at a time; a probe
  /// unanswered after two intervals is a miss: Replica::on_catalog_probe). 0: no probes.
  std::chrono::milliseconds catalog_probe_interval{250};
  /// Called at the end of every loop iteration, after the replica was flushed (metrics).
  std::function<void(const Replica&, std::uint64_t now_ms)> after_iteration;
  /// Persists the identity's cluster() and known_peers() (main writes them to the store); called
  /// whenever they change, before the server reads another message.
  std::function<void(const ClusterIdentity&)> record_identity;
};

/// How run() ended.
enum class RunOutcome : std::uint8_t {
  kStopped,  // common::stop_requested()
  kRefused,  // the start check refused (ClusterIdentity::refusal() says why)
};

/// Polls every socket with a short timeout, feeds the Replica, flushes it once per batch of
/// inputs (so one disk transaction covers every order that arrived together), and sends what
/// it produced. Not thread-safe; run() owns the thread.
class OrderServer {
 public:
  /// Binds the client endpoint and, when the replica's configuration names one for it, its peer
  /// endpoint; connects to the other members' peer endpoints. Throws common::StartupError when
  /// one cannot be bound.
  OrderServer(zmq::context_t& ctx, ServerOptions options, Replica& replica,
              common::EventPublisher& bus, ClusterIdentity& identity);

  /// Runs until common::stop_requested(). A replica whose identity is not confirmed yet (a new
  /// cluster's, ClusterIdentity) first only probes its peers and answers theirs, reading
  /// nothing else, until the check passes (then it serves) or refuses (kRefused, at once).
  [[nodiscard]] RunOutcome run();

 private:
  std::uint64_t now_ms() const;
  void read_clients();
  void read_peers();
  /// Answers a ClusterProbe or takes a ClusterProbeReply; false for any other message.
  bool on_identity_message(const proto::Envelope& message);
  /// Sends the identity's probes when they are due (every kProbeIntervalMs).
  void probe_peers(std::uint64_t now);
  /// The start check of a new cluster's replica: probes until ClusterIdentity confirms or refuses
  /// (or a stop is requested). Returns whether the replica may serve.
  bool confirm_identity();
  void read_catalog();
  void send_outputs();
  /// Returns whether the catalog socket took the request (it refuses at once when not connected).
  bool send_catalog(const std::string& bytes, CatalogCall call);
  /// Sends the next catalog probe when one is due, and reports a probe past its deadline.
  void probe_catalog(std::uint64_t now);
  void send_peer(std::uint32_t to, const std::string& bytes);
  /// Connects to every member of the replica's configuration in force and closes the sockets
  /// of replicas no longer in it (after each flush: the configuration changes only there).
  void follow_membership();
  void announce();

  ServerOptions options_;
  Replica& replica_;
  common::EventPublisher& bus_;
  ClusterIdentity& identity_;
  std::uint64_t next_identity_probe_ms_ = 0;
  zmq::socket_t client_;
  zmq::socket_t peer_in_;
  zmq::socket_t catalog_;
  zmq::context_t& ctx_;
  bool peer_bound_ = false;
  struct Peer {
    std::string endpoint;
    std::unique_ptr<zmq::socket_t> socket;  // DEALER
  };
  std::map<std::uint32_t, Peer> peer_out_;         // replica id -> its connection
  std::optional<std::uint64_t> membership_index_;  // of the configuration peer_out_ follows
  // Routing frames of each client waiting for a reply, by token. Bounded by the Replica's
  // max_pending plus the requests of one poll batch.
  std::map<std::uint64_t, std::vector<zmq::message_t>> envelopes_;
  // Requests at the catalog by call id: a trade batch, a reconciliation page (its term and
  // cursor) or the resolution of a batch in doubt, and when it was sent. Entries the catalog never
  // answers are dropped after kBatchExpiryMs (the Replica has given up on them long before), so the
  // map stays bounded.
  std::map<std::uint64_t, CatalogCall> calls_;
  std::uint64_t next_batch_ = 1;
  std::uint64_t next_token_ = 1;
  std::uint64_t probe_call_ = 0;     // call id of the probe at the catalog; 0: none
  std::uint64_t probe_sent_ms_ = 0;  // when it went
  std::uint64_t next_probe_ms_ = 0;  // when the next goes
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace bazaar::order
