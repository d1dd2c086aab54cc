// One order replica's logic around the replication core: client requests, catalog trades, and
// replies held until their order commits. Sockets and timers stay outside (order_server.h); the
// disk is the replica's SqliteLogStore, written once per flush() (tests give it a file of their
// own or an in-memory database).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "order/commit_waiters.h"
#include "order/order_index.h"
#include "order/reconciler.h"
#include "order/sqlite_log_store.h"
#include "order/trade_pipeline.h"
#include "proto_msgs/codec.h"
#include "proto_msgs/messages.h"
#include "raft/raft_core.h"

namespace bazaar::order {

struct ReplicaOptions {
  raft::RaftConfig raft;
  std::uint64_t trade_timeout_ms = 1000;   // deadline of one catalog trade
  std::uint64_t reconcile_retry_ms = 200;  // a new leader asks the catalog again after this
                                           // (and a batch in doubt is resolved again)
  std::size_t max_pending = 10000;         // orders waiting on the catalog or on commit
  /// Trade batches at the catalog at once. One: the catalog applies batches one at a time
  /// anyway (one writer, one disk sync each), so while it works the next batch grows instead of
  /// queueing behind it in many small transactions (group commit; docs/PERFORMANCE.md).
  std::size_t max_trade_batches = 1;
  /// Confirmations ride on the next trade batch; without trades they go alone once the oldest
  /// has waited this long (they only shorten a future reconciliation, so they can wait).
  std::uint64_t confirm_delay_ms = 100;
  /// Catalog probes in a row left unanswered (on_catalog_probe) after which this replica calls
  /// itself unable to lead (RaftCore::set_healthy(false)): as leader it then hands office to a
  /// follower the catalog answers. More than one, so a single slow answer moves nothing.
  std::uint32_t catalog_misses_unhealthy = 2;
  /// A follower that hears its leader passes on requests it cannot answer (on_client); off, it
  /// answers them "not leader" with a hint (for comparison runs: docs/CHAOS.md).
  bool forward = true;
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
/// records it depends on were persisted (flush() writes them first).
struct ReplicaOutputs {
  std::vector<std::pair<std::uint64_t, std::string>> replies;  // client token -> reply bytes
  std::vector<TradeBatch> trade_batches;                       // to the catalog
  std::optional<proto::ReconcileRequest> reconcile;            // to the catalog
  std::vector<proto::ResolveRequest> resolves;                 // to the catalog
  std::vector<std::pair<std::uint32_t, std::string>> peers;    // replica id -> message bytes
};

/// Not thread-safe: the server's single thread owns it. It coordinates its parts, each with its
/// own contract: the core (raft::RaftCore), the order index (OrderIndex: numbers and finds
/// orders, writes each Ready), the trade pipeline to the catalog (TradePipeline), the new
/// leader's reconciliation (Reconciler), and the clients waiting for a commit (CommitWaiters).
///
/// Orders are numbered as their entries commit (the core never numbers them): the n-th order
/// entry of the committed log is order n-1, on every replica alike. flush() writes each Ready
/// and the numbers of the orders it commits in one transaction, so the store's commit index and
/// its committed orders never disagree, also across a crash. In memory the replica keeps only
/// the request ids of orders not yet committed; a committed order, and the dedupe of a retry
/// that names one, are read from the store's indexes.
class Replica {
 public:
  /// Starts from what `store` holds, reading its hard state, its last index and term, its commit
  /// index and the (uncommitted) entries past it, nothing else. `store` must outlive the
  /// replica. A write the store refuses (a rule of raft::WriteOutcome broken) or a disk error
  /// throws from the input that caused it: the replica cannot go on, and its process must stop.
  Replica(ReplicaOptions options, SqliteLogStore& store, std::uint64_t now_ms);

  /// A client request (PlaceOrder, GetOrder, Status). `token` names the client for the reply,
  /// which may come now or, for an order, once it commits or fails. A follower that hears its
  /// leader passes orders, and reads it cannot answer, on to it (ForwardRequest over the peer
  /// link) and relays the answer: a client that reaches a follower but not the leader (a
  /// partition) is still served. Tokens must stay below 2^63 (the ones above name requests
  /// forwarded to this replica).
  void on_client(std::uint64_t token, std::string_view request, std::uint64_t now_ms);
  /// A message from another replica, its envelope opened (OrderServer::read_peers opens it and
  /// drops undecodable bytes). Returns the replica a Raft message came from (nullopt for
  /// anything else): it runs with state (ClusterIdentity).
  std::optional<std::uint32_t> on_peer(const proto::Envelope& message, std::uint64_t now_ms);
  /// The same from raw bytes, for the tests and the simulation, which hold encoded messages;
  /// undecodable bytes are dropped (and logged).
  std::optional<std::uint32_t> on_peer(std::string_view message, std::uint64_t now_ms);
  /// The catalog's answer to trade batch `batch` (ReplicaOutputs::trade_batches); nullopt when
  /// the batch never left (the catalog's socket refused it), so the catalog cannot have it. A
  /// batch sent and not answered by its deadline is *in doubt*: the catalog may apply it late.
  /// The leader then stops sending trades and resolves it (ReplicaOutputs::resolves) until the
  /// catalog answers; every trade the catalog applied, late answers included, gets its order
  /// whether or not its client still waits (G2). Answers from before a change of leadership are
  /// ignored: the next leader's reconciliation owns those trades.
  void on_trade_batch(std::uint64_t batch, const std::optional<proto::TradeBatchReply>& reply,
                      std::uint64_t now_ms);
  /// The catalog's answer to the ResolveRequest for batch `batch` of `term`; nullopt when it could
  /// not be had (it is asked again). Answers for a batch no longer in doubt are ignored.
  void on_resolve(std::uint64_t term, std::uint64_t batch,
                  const std::optional<proto::ResolveReply>& reply, std::uint64_t now_ms);
  /// The catalog's answer to the ReconcileRequest of (`term`, `after`); nullopt when it could
  /// not be had. Answers to anything but the request now outstanding are ignored.
  void on_reconcile(std::uint64_t term, const std::string& after,
                    const std::optional<proto::ReconcileReply>& reply, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  /// The fate of one probe of the catalog (any role probes, on a timer of the server's): answered,
  /// or not within its deadline. ReplicaOptions::catalog_misses_unhealthy misses in a row make
  /// the replica unhealthy for leadership; one answer makes it healthy again (the leader's
  /// transfer rule then waits for a stable while before it trusts that).
  void on_catalog_probe(bool answered, std::uint64_t now_ms);

  /// Persists what the inputs since the last flush produced (one transaction: group commit),
  /// queues the peer messages, and answers orders that committed. Call after a batch of inputs
  /// and before take_outputs().
  void flush();
  ReplicaOutputs take_outputs();

  proto::StatusReply status() const;
  const raft::RaftCore& core() const { return core_; }
  LeaderPhase phase() const { return phase_; }
  /// Orders this replica committed for trades a previous leader left unconfirmed.
  std::uint64_t rolled_forward() const { return rolled_forward_; }
  /// Orders this leader logged for trades the catalog applied after their clients stopped
  /// waiting (a late answer, or a batch in doubt resolved as applied).
  std::uint64_t adopted() const { return adopted_; }
  /// Trade batches sent and not answered in time, not yet resolved with the catalog.
  std::size_t in_doubt() const { return trades_.in_doubt(); }
  /// Trades that went in doubt, since start (a running total, for the metrics).
  std::uint64_t trades_doubted() const { return trades_.trades_doubted(); }
  /// The catalog answered this replica's latest probes (see on_catalog_probe).
  bool catalog_reachable() const { return core_.healthy(); }
  /// Client orders waiting on the catalog or on commit (bounded by max_pending).
  std::size_t waiting() const { return waiting_; }
  /// Committed orders (the count, and so the next committed number), as stored.
  std::int64_t committed_orders() const { return index_.committed_orders(); }

 private:
  void handle_client(std::uint64_t token, std::string_view request, std::uint64_t now_ms,
                     bool may_forward);
  /// As a follower that hears its leader: passes the request on and returns true; false when it
  /// cannot (no leader heard lately, too many forwarded already, too large).
  bool forward(std::uint64_t token, std::string_view request, proto::MessageType type,
               std::uint64_t now_ms);
  void on_forward_request(const proto::ForwardRequest& m, std::uint64_t now_ms);
  void on_forward_reply(const proto::ForwardReply& m);
  /// Answers the forwarded requests whose leader changed or whose deadline passed.
  void expire_forwards(std::uint64_t now_ms);
  void place(std::uint64_t token, const proto::PlaceOrderRequest& req, std::uint64_t now_ms);
  /// An operator's MembershipRequest: answered at once (kShow, a refusal, a change in force
  /// already) or once the change's entry has committed (answer_membership()).
  void change_membership(std::uint64_t token, const proto::MembershipRequest& req);
  /// Answers the membership requests whose change committed, or whose leader lost office.
  void answer_membership();
  proto::MembershipReply membership_reply(proto::Status status, std::string message) const;
  /// Acts on the catalog's answer to one trade: logs the order of an applied trade, answers the
  /// clients of a refused one.
  void on_trade(TradeOutcome outcome);
  /// Logs the order of a trade the catalog applied, unless the log has it already or its order
  /// is on its way (parked). Clients waiting on the same request id (a retry) join it.
  void adopt(const proto::TradeRequest& trade);
  /// Logs the parked trades once no transfer refuses entries any more (leader only).
  void propose_parked();
  /// Proposes the order of an applied trade. Accepted: its waiters move to the commit waiters
  /// (they stay counted in waiting_); otherwise `pending` is left as it was.
  raft::ProposeOutcome propose_applied(PendingTrade& pending);
  /// Answers `pending`'s clients with `r` (they stop counting in waiting_).
  void answer(const PendingTrade& pending, const proto::PlaceOrderReply& r);
  /// The answer to a read of order `number`, or nullopt when only a leader that has confirmed
  /// its office since the read arrived may give it ("not found": see RaftCore::confirm_leadership).
  /// A replica that holds the order but does not know it committed never says "not found".
  std::optional<proto::GetOrderReply> read_order(std::int64_t number, bool confirmed) const;
  /// Starts a confirmation round for the reads that wait without one, and answers those whose
  /// round is confirmed (or that no longer can be: off office).
  void serve_reads();
  void reply(std::uint64_t token, const proto::PlaceOrderReply& r);
  void fail_all(proto::Status status, const std::string& message);
  /// Reacts to a change of role or of the commit: confirmations of the orders that committed
  /// (`committed`, leader only), the leader's phases, and the end of office.
  void follow_leadership(const std::vector<OrderIndex::Committed>& committed);

  ReplicaOptions options_;
  raft::RaftCore core_;
  OrderIndex index_;  // the only writer of the log (the identity: ServerOptions::record_identity)
  ReplicaOutputs out_;
  bool was_leader_ = false;
  std::optional<std::uint32_t> transfer_logged_;  // the transfer target last logged
  std::uint64_t now_ms_ = 0;                      // the latest time an input brought

  // Leadership bookkeeping (see LeaderPhase).
  LeaderPhase phase_ = LeaderPhase::kNotLeader;
  Reconciler reconciler_;
  std::uint64_t confirmed_through_ = 0;  // log index up to which commits were reported
  std::uint64_t rolled_forward_ = 0;
  std::uint64_t adopted_ = 0;
  std::uint32_t catalog_misses_ = 0;  // catalog probes unanswered in a row

  // Reads that wait for the leader to confirm its office before it says "not found" (leader
  // only; answered "not leader" when office ends, "unavailable" past their deadline). Bounded by
  // options_.max_pending.
  struct PendingRead {
    std::uint64_t token = 0;
    std::int64_t number = 0;
    std::uint64_t round = 0;  // its confirmation round; 0: not started yet
    std::uint64_t deadline_ms = 0;
  };
  std::vector<PendingRead> reads_;

  // Operators waiting for a configuration entry to commit (leader only; bounded by max_pending):
  // the client and the entry's index.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> membership_waiters_;

  // Requests this follower forwarded to its leader, by ticket (bounded by max_pending; answered
  // "not leader" when the leader changes, "unavailable" after trade_timeout_ms).
  struct Forwarded {
    std::uint64_t token = 0;
    proto::MessageType type = proto::MessageType::kPlaceOrderRequest;
    std::int32_t leader = -1;  // where it went
    std::uint64_t deadline_ms = 0;
  };
  std::map<std::uint64_t, Forwarded> forwarded_;
  std::uint64_t next_ticket_ = 1;
  // Requests forwarded to this replica, by the token they run under (from 2^63 up): the follower
  // that sent each and its ticket. Each gets one reply (every request is answered, within its
  // deadline at most), which take_outputs() turns into a ForwardReply.
  static constexpr std::uint64_t kForwardedTokens = std::uint64_t{1} << 63;
  std::map<std::uint64_t, std::pair<std::uint32_t, std::uint64_t>> forwarded_in_;
  std::uint64_t next_forwarded_token_ = kForwardedTokens;

  TradePipeline trades_;  // leader only: orders waiting for their trade, batches, doubts
  // Trades the catalog applied while a leadership transfer refused new entries, by request id.
  // Their clients wait: if the transfer is abandoned they are logged here (propose_parked()); if
  // it succeeds this replica steps down, answers them "leadership lost", and the new leader's
  // reconciliation rolls the trades forward. Either way no applied trade is left without an order.
  std::map<std::string, PendingTrade> parked_;
  CommitWaiters committing_;  // leader only
  std::size_t waiting_ = 0;   // clients in trades_, parked_ and committing_ (max_pending bounds)
};

}  // namespace bazaar::order
