#include "order/trade_pipeline.h"

#include <algorithm>
#include <iterator>

namespace bazaar::order {

TradePipeline::TradePipeline(std::size_t max_batches, std::uint64_t confirm_delay_ms)
    : max_batches_(max_batches), confirm_delay_ms_(confirm_delay_ms) {}

PendingTrade* TradePipeline::find(const std::string& request_id) {
  auto it = pending_.find(request_id);
  return it == pending_.end() ? nullptr : &it->second;
}

void TradePipeline::add(PendingTrade pending) {
  const proto::PlaceOrderRequest& r = pending.request;
  unsent_.push_back({r.request_id, r.name, r.side, r.quantity});
  const std::string id = r.request_id;
  pending_[id] = std::move(pending);
}

std::optional<PendingTrade> TradePipeline::take(const std::string& request_id) {
  auto node = pending_.extract(request_id);
  if (node.empty()) return std::nullopt;
  return std::move(node.mapped());
}

void TradePipeline::confirm(std::string request_id, std::uint64_t now_ms) {
  if (to_confirm_.empty()) confirm_due_ms_ = now_ms + confirm_delay_ms_;
  to_confirm_.push_back(std::move(request_id));
}

std::vector<TradeBatch> TradePipeline::take_batches(std::uint64_t term, std::uint64_t now_ms,
                                                    std::uint64_t trade_timeout_ms) {
  const auto confirmations_due = [&] {
    return !to_confirm_.empty() &&
           (now_ms >= confirm_due_ms_ || to_confirm_.size() >= proto::kMaxTradeBatch);
  };
  std::vector<TradeBatch> out;
  // While a batch is in doubt, new trades wait (and time out if it lasts): the catalog is not
  // answering, and the doubt must be settled before the next batch can be judged.
  while (in_doubt_.empty() && batches_.size() < max_batches_ &&
         (!unsent_.empty() || confirmations_due())) {
    TradeBatch batch;
    batch.id = next_batch_++;
    batch.request.term = term;
    batch.request.batch = batch.id;
    SentBatch sent;
    sent.deadline_ms = now_ms + trade_timeout_ms;
    std::size_t taken = 0;
    for (; taken < unsent_.size() && batch.request.trades.size() < proto::kMaxTradeBatch; ++taken) {
      // Skipped: a trade that timed out while it waited; its client was answered.
      if (pending_.count(unsent_[taken].request_id) == 0) continue;
      sent.trades.push_back(unsent_[taken]);
      batch.request.trades.push_back(std::move(unsent_[taken]));
    }
    unsent_.erase(unsent_.begin(), unsent_.begin() + static_cast<std::ptrdiff_t>(taken));
    const std::size_t confirms = std::min(to_confirm_.size(), proto::kMaxTradeBatch);
    batch.request.confirmed.assign(std::make_move_iterator(to_confirm_.begin()),
                                   std::make_move_iterator(to_confirm_.begin() + confirms));
    to_confirm_.erase(to_confirm_.begin(), to_confirm_.begin() + confirms);
    if (batch.request.trades.empty() && batch.request.confirmed.empty()) break;
    batches_.emplace(batch.id, std::move(sent));
    out.push_back(std::move(batch));
  }
  return out;
}

BatchAnswer TradePipeline::on_answer(std::uint64_t batch,
                                     const std::optional<proto::TradeBatchReply>& reply,
                                     std::uint64_t now_ms) {
  BatchAnswer out;
  std::vector<proto::TradeRequest> trades;
  if (auto node = batches_.extract(batch); !node.empty()) {
    trades = std::move(node.mapped().trades);
    out.kind = AnswerKind::kAnswered;
  } else if (auto doubt = in_doubt_.find(batch); doubt != in_doubt_.end() && reply) {
    // A late answer settles the doubt as well as a ResolveRequest would.
    trades = std::move(doubt->second.trades);
    in_doubt_.erase(doubt);
    out.kind = AnswerKind::kSettledDoubt;
  } else {
    return out;  // from before a change of leadership, or settled already
  }
  out.trades = trades.size();
  if (reply && reply->replies.size() != trades.size()) {
    // Which of them applied is unknown: the same doubt as no answer at all.
    out.kind = AnswerKind::kMiscounted;
    if (!trades.empty()) in_doubt_[batch] = {std::move(trades), now_ms};
    return out;
  }
  out.outcomes.reserve(trades.size());
  for (std::size_t k = 0; k < trades.size(); ++k) {
    TradeOutcome o;
    o.trade = std::move(trades[k]);
    if (reply) o.answer = reply->replies[k];
    // Its order still waits only if it is the same order: a client whose request timed out
    // may have reused the id for another (which the catalog refuses).
    auto node = pending_.extract(o.trade.request_id);
    if (!node.empty() && same_order(node.mapped().request, o.trade)) {
      o.pending = std::move(node.mapped());
    } else if (!node.empty()) {
      pending_.insert(std::move(node));
    }
    out.outcomes.push_back(std::move(o));
  }
  return out;
}

std::vector<PendingTrade> TradePipeline::expire_orders(std::uint64_t now_ms) {
  std::vector<PendingTrade> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now_ms < it->second.deadline_ms) {
      ++it;
      continue;
    }
    out.push_back(std::move(it->second));
    it = pending_.erase(it);
  }
  return out;
}

std::vector<std::pair<std::uint64_t, std::size_t>> TradePipeline::doubt_overdue(
    std::uint64_t now_ms) {
  // A batch the catalog never answered is in doubt: it may still apply (a paused catalog, a
  // partition that heals), so it is resolved before anything else goes to the catalog.
  std::vector<std::pair<std::uint64_t, std::size_t>> out;
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (now_ms < it->second.deadline_ms) {
      ++it;
      continue;
    }
    if (!it->second.trades.empty()) {
      out.emplace_back(it->first, it->second.trades.size());
      trades_doubted_ += it->second.trades.size();
      in_doubt_[it->first] = {std::move(it->second.trades), now_ms};
    }
    it = batches_.erase(it);
  }
  return out;
}

std::vector<proto::ResolveRequest> TradePipeline::due_resolves(std::uint64_t term,
                                                               std::uint64_t now_ms,
                                                               std::uint64_t retry_ms) {
  std::vector<proto::ResolveRequest> out;
  for (auto& [id, doubt] : in_doubt_) {
    if (now_ms < doubt.ask_ms) continue;
    proto::ResolveRequest req{.term = term, .batch = id, .request_ids = {}};
    req.request_ids.reserve(doubt.trades.size());
    for (const auto& t : doubt.trades) req.request_ids.push_back(t.request_id);
    out.push_back(std::move(req));
    doubt.ask_ms = now_ms + retry_ms;
  }
  return out;
}

std::optional<std::size_t> TradePipeline::on_resolved(std::uint64_t batch) {
  auto it = in_doubt_.find(batch);
  if (it == in_doubt_.end()) return std::nullopt;
  const std::size_t asked = it->second.trades.size();
  in_doubt_.erase(it);
  return asked;
}

std::vector<PendingTrade> TradePipeline::drop_all() {
  // Trades of a term this replica no longer leads must not reach the catalog: their clients are
  // answered "leadership lost" and retry at the new leader. Confirmations are the next leader's
  // business (its reconciliation finds them); answers to batches still at the catalog are
  // ignored, and batches in doubt are the next leader's reconciliation's too (the catalog's
  // fence hands them over).
  unsent_.clear();
  to_confirm_.clear();
  batches_.clear();
  in_doubt_.clear();
  std::vector<PendingTrade> out;
  for (auto& [id, pending] : pending_) out.push_back(std::move(pending));
  pending_.clear();
  return out;
}

}  // namespace bazaar::order
