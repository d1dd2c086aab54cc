// One order replica's logic around the replication core: client requests, catalog trades, and
// replies held until their order commits. Sockets and timers stay outside (order_server.h); the
// disk is reached only through the persist callback, so tests drive it without I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "order/raft_core.h"
#include "proto_msgs/messages.h"

namespace bazaar::order {

struct ReplicaOptions {
  RaftConfig raft;
  std::uint64_t trade_timeout_ms = 1000;   // deadline of one catalog trade
  std::uint64_t reconcile_retry_ms = 200;  // a new leader asks the catalog again after this
  std::size_t max_pending = 10000;         // orders waiting on the catalog or on commit
};

/// Where a replica stands as leader. A new leader serves orders only once the catalog has
/// fenced off older terms and every trade they left unconfirmed has an order in the log (G2;
/// docs/REPLICATION.md "Reconciliation").
enum class LeaderPhase {
  kNotLeader,
  kAwaitingNoop,  // elected; its term's first entry has not committed yet
  kReconciling,   // asking the catalog for unconfirmed trades of older terms
  kServing,       // placing orders
};
const char* to_string(LeaderPhase p);

/// What the server must send after an input, in this order: nothing here is sent before the
/// records it depends on were persisted (the persist callback runs inside the inputs).
struct ReplicaOutputs {
  std::vector<std::pair<std::uint64_t, std::string>> replies;  // client token -> reply bytes
  std::vector<proto::TradeRequest> trades;                     // to the catalog ...
  std::uint64_t trade_term = 0;                                // ... as the leader of this term
  std::vector<std::string> confirmed;  // request ids whose orders committed: tell the catalog
  std::optional<proto::ReconcileRequest> reconcile;          // to the catalog
  std::vector<std::pair<std::uint32_t, std::string>> peers;  // replica id -> message bytes
};

/// Not thread-safe: the server's single thread owns it.
class Replica {
 public:
  using Persist = std::function<void(const Ready&)>;

  /// Starts from persisted state (see OrderLog). `persist` must make a Ready durable or throw.
  Replica(ReplicaOptions options, HardState hard, std::vector<proto::LogEntry> log,
          std::uint64_t commit, std::uint64_t now_ms, Persist persist);

  /// A client request (PlaceOrder, GetOrder, Status). `token` names the client for the reply,
  /// which may come now or, for an order, once it commits or fails.
  void on_client(std::uint64_t token, std::string_view request, std::uint64_t now_ms);
  /// A message from another replica (undecodable bytes are dropped).
  void on_peer(std::string_view message, std::uint64_t now_ms);
  /// The catalog's answer to the trade of `request_id`; nullopt when it could not be had.
  void on_trade(const std::string& request_id, const std::optional<proto::TradeReply>& reply,
                std::uint64_t now_ms);
  /// The catalog's answer to the ReconcileRequest of (`term`, `after`); nullopt when it could
  /// not be had. Answers to anything but the request now outstanding are ignored.
  void on_reconcile(std::uint64_t term, const std::string& after,
                    const std::optional<proto::ReconcileReply>& reply, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);

  /// Persists what the inputs since the last flush produced (one transaction: group commit),
  /// queues the peer messages, and answers orders that committed. Call after a batch of inputs
  /// and before take_outputs().
  void flush();
  ReplicaOutputs take_outputs();

  proto::StatusReply status() const;
  const RaftCore& core() const { return core_; }
  LeaderPhase phase() const { return phase_; }
  /// Orders this replica committed for trades a previous leader left unconfirmed.
  std::uint64_t rolled_forward() const { return rolled_forward_; }
  /// Committed orders (the count, and so the next committed number).
  std::int64_t committed_orders() const;

 private:
  struct PendingTrade {
    proto::PlaceOrderRequest request;
    std::vector<std::uint64_t> waiters;
    std::uint64_t deadline_ms = 0;
  };

  void place(std::uint64_t token, const proto::PlaceOrderRequest& req, std::uint64_t now_ms);
  proto::GetOrderReply get(const proto::GetOrderRequest& req) const;
  void reply(std::uint64_t token, const proto::PlaceOrderReply& r);
  void fail_all(proto::Status status, const std::string& message);
  void mirror(const Ready& ready);
  void follow_leadership();
  void ask_catalog(std::uint64_t now_ms);

  ReplicaOptions options_;
  RaftCore core_;
  Persist persist_;
  ReplicaOutputs out_;
  bool was_leader_ = false;
  std::uint64_t now_ms_ = 0;  // the latest time an input brought

  // Leadership bookkeeping (see LeaderPhase).
  LeaderPhase phase_ = LeaderPhase::kNotLeader;
  std::string reconcile_after_;            // cursor of the page asked for
  std::uint64_t reconcile_resend_ms_ = 0;  // ask again at this time if no answer came
  std::uint64_t confirmed_through_ = 0;    // log index up to which commits were reported
  std::uint64_t rolled_forward_ = 0;

  // Mirrors of the core's log, kept in step by mirror(): the request id of every entry, where
  // each request id sits, and where each order number sits.
  std::vector<std::string> ids_;                                // index-1 -> request id
  std::unordered_map<std::string, std::uint64_t> index_of_id_;  // request id -> log index
  std::vector<std::uint64_t> index_of_order_;                   // order number -> log index

  std::map<std::string, PendingTrade> trades_;                      // at the catalog (leader)
  std::map<std::uint64_t, std::vector<std::uint64_t>> committing_;  // log index -> waiters
  std::size_t waiting_ = 0;  // clients in trades_ and committing_ (bounded by max_pending)
};

}  // namespace bazaar::order
