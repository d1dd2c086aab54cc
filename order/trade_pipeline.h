// The leader's conversation with the catalog about trades: orders waiting for their trade,
// batches at the catalog, batches in doubt, and the confirmations that ride along. Pure state:
// the Replica feeds it requests, answers and the time, and sends what it hands out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto_msgs/messages.h"

namespace bazaar::order {

/// One message for the catalog: trades to check and apply, and the request ids of orders that
/// committed since the last batch (confirmations), as the leader of `request.term`. Its answer
/// goes to Replica::on_trade_batch() under `id` (also `request.batch`, unique within the term).
struct TradeBatch {
  std::uint64_t id = 0;
  proto::TradeBatchRequest request;
};

/// An order waiting for the catalog's answer to its trade, with the clients waiting on it (the
/// first request and its retries under the same request id).
struct PendingTrade {
  proto::PlaceOrderRequest request;
  std::vector<std::uint64_t> waiters;
  std::uint64_t deadline_ms = 0;  // its clients are answered "unavailable" after this
};

/// True when two orders (a LogEntry, PlaceOrderRequest or TradeRequest: each carries these three
/// fields) are the same order: what one request id must always name.
template <class A, class B>
bool same_order(const A& a, const B& b) {
  return a.name == b.name && a.side == b.side && a.quantity == b.quantity;
}

/// A trade the catalog answered (or could not have received), with the order that waited for
/// it when it still waits for the same order: the caller logs the order of an applied trade,
/// and answers the waiters of a refused one.
struct TradeOutcome {
  proto::TradeRequest trade;
  std::optional<proto::TradeReply> answer;  // nullopt: the batch never left
  std::optional<PendingTrade> pending;      // nullopt: no client waits for this trade any more
};

enum class AnswerKind : std::uint8_t {
  kStale,         // no such batch (from before a change of leadership, or settled): ignored
  kAnswered,      // the answer to a batch at the catalog
  kSettledDoubt,  // a late answer to a batch in doubt: it settles the doubt
  kMiscounted,    // answers and trades do not match: which applied is unknown, so in doubt
};

struct BatchAnswer {
  AnswerKind kind = AnswerKind::kStale;
  std::size_t trades = 0;              // in the batch
  std::vector<TradeOutcome> outcomes;  // one a trade, in order (kAnswered, kSettledDoubt)
};

/// Not thread-safe: the Replica owns it, and counts the clients it holds (ReplicaOptions::
/// max_pending bounds them). Every container is bounded: pending trades by that count, batches
/// at the catalog by `max_batches`, batches in doubt by one more.
class TradePipeline {
 public:
  /// `max_batches`: batches at the catalog at once; `confirm_delay_ms`: how long confirmations
  /// wait for a trade batch to ride on before they go alone.
  TradePipeline(std::size_t max_batches, std::uint64_t confirm_delay_ms);

  /// The order waiting for its trade under `request_id`, or nullptr.
  PendingTrade* find(const std::string& request_id);
  /// Queues a new order's trade for the next batch.
  void add(PendingTrade pending);
  /// Removes and returns the order waiting under `request_id` (to adopt its waiters).
  std::optional<PendingTrade> take(const std::string& request_id);
  /// Queues the confirmation of a committed order: with the next trade batch, or alone once it
  /// has waited confirm_delay_ms.
  void confirm(std::string request_id, std::uint64_t now_ms);

  /// The batches to send now, as the leader of `term` (none while a batch is in doubt: the
  /// doubt must be settled before the next batch can be judged). `trade_timeout_ms` is their
  /// deadline, after which they go in doubt (see expire()).
  std::vector<TradeBatch> take_batches(std::uint64_t term, std::uint64_t now_ms,
                                       std::uint64_t trade_timeout_ms);
  /// The catalog's answer to batch `batch` (nullopt: the batch never left, so the catalog
  /// cannot have it). See AnswerKind; a miscounted answer puts the batch in doubt.
  BatchAnswer on_answer(std::uint64_t batch, const std::optional<proto::TradeBatchReply>& reply,
                        std::uint64_t now_ms);

  /// Removes and returns the orders whose deadline passed (their clients get "unavailable").
  std::vector<PendingTrade> expire_orders(std::uint64_t now_ms);
  /// Batches past their deadline go in doubt (a batch of confirmations only is dropped: nothing
  /// in it can apply late, and reconciliation repeats a lost confirmation). Returns each batch
  /// that went in doubt with its number of trades (added to trades_doubted()).
  std::vector<std::pair<std::uint64_t, std::size_t>> doubt_overdue(std::uint64_t now_ms);
  /// The ResolveRequests due now, as the leader of `term`; each is asked again `retry_ms` later
  /// until on_resolved().
  std::vector<proto::ResolveRequest> due_resolves(std::uint64_t term, std::uint64_t now_ms,
                                                  std::uint64_t retry_ms);
  /// The catalog settled batch `batch`; returns how many trades it held, or nullopt when it was
  /// not in doubt (settled already).
  std::optional<std::size_t> on_resolved(std::uint64_t batch);

  /// Leadership ended: drops unsent trades, confirmations, batches and doubts (the next leader's
  /// reconciliation owns them) and returns the waiting orders, to be answered.
  std::vector<PendingTrade> drop_all();

  std::size_t in_doubt() const { return in_doubt_.size(); }
  bool doubts(std::uint64_t batch) const { return in_doubt_.count(batch) != 0; }
  /// Trades that went in doubt, since start.
  std::uint64_t trades_doubted() const { return trades_doubted_; }

 private:
  struct SentBatch {
    std::vector<proto::TradeRequest> trades;  // in order, as sent
    std::uint64_t deadline_ms = 0;            // after this it is in doubt
  };
  // A batch whose answer did not come in time: the catalog may have applied it, may apply it
  // late, or never. Resolved (ResolveRequest) before any new trade goes out.
  struct DoubtfulBatch {
    std::vector<proto::TradeRequest> trades;
    std::uint64_t ask_ms = 0;  // send the ResolveRequest (again) at this time
  };

  std::size_t max_batches_;
  std::uint64_t confirm_delay_ms_;
  std::map<std::string, PendingTrade> pending_;  // waiting to be sent or at the catalog
  // Trades not yet sent, in arrival order (one that timed out meanwhile is skipped when the
  // batch is made), confirmations not yet sent, and the batches at the catalog.
  std::vector<proto::TradeRequest> unsent_;
  std::vector<std::string> to_confirm_;
  std::uint64_t confirm_due_ms_ = 0;  // when to_confirm_ goes alone, if no trade takes it first
  std::map<std::uint64_t, SentBatch> batches_;
  std::map<std::uint64_t, DoubtfulBatch> in_doubt_;
  std::uint64_t next_batch_ = 1;
  std::uint64_t trades_doubted_ = 0;
};

}  // namespace bazaar::order
