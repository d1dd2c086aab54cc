// A new leader's reconciliation with the catalog: it asks for the trades that older terms left
// unconfirmed, page by page, until the catalog has none left, asking again when an answer does
// not come. What to do with each trade is the Replica's (docs/REPLICATION.md "Reconciliation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proto_msgs/messages.h"

namespace bazaar::order {

/// The cursor and the resend timer of one reconciliation; pure state, not thread-safe.
class Reconciler {
 public:
  /// An unanswered request is asked again `retry_ms` after it was sent.
  explicit Reconciler(std::uint64_t retry_ms) : retry_ms_(retry_ms) {}

  /// Starts over from the first page as the leader of `term`: the request to send.
  proto::ReconcileRequest start(std::uint64_t term, std::uint64_t now_ms);
  /// The outstanding request again, once it has waited retry_ms; nullopt otherwise, and when no
  /// reconciliation runs.
  std::optional<proto::ReconcileRequest> due(std::uint64_t now_ms);
  /// Whether an answer for (`term`, `after`) answers the request outstanding (anything else is
  /// an answer to an earlier request, or of a term this replica no longer leads).
  bool expects(std::uint64_t term, const std::string& after) const {
    return running_ && term == term_ && after == after_;
  }
  /// The page in `reply` was handled: the request for the next page, or nullopt when it was the
  /// last (the reconciliation is over).
  std::optional<proto::ReconcileRequest> next(const proto::ReconcileReply& reply,
                                              std::uint64_t now_ms);
  /// Leadership ended: no request is outstanding any more.
  void stop() { running_ = false; }

 private:
  proto::ReconcileRequest ask(std::uint64_t now_ms);

  std::uint64_t retry_ms_;
  bool running_ = false;
  std::uint64_t term_ = 0;
  std::string after_;            // cursor of the page asked for
  std::uint64_t resend_ms_ = 0;  // ask again at this time if no answer came
};

}  // namespace bazaar::order
