// The catalog's requests as a pure function: request bytes in, reply bytes (and what changed) out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog_metrics.h"
#include "catalog/item_store.h"
#include "proto_msgs/messages.h"

namespace bazaar::catalog {

/// What handling one request produced.
struct HandlerResult {
  std::string reply;                 // encoded reply envelope, always set
  std::vector<proto::Item> changed;  // items this request modified: publish an invalidation each
};

/// Answers one catalog request against a store. No sockets, no threads: the service feeds it the
/// bytes of a request and sends back `reply`.
///
/// Answers StatusRequest, LookupRequest, ListRequest, TradeBatchRequest, ReconcileRequest and
/// ResolveRequest with their replies (a trade travels in a batch, of one if need be). Bytes
/// that do not decode (garbage, another protocol version, an unknown or unexpected message type,
/// a wrong shape or a field out of bounds) get an ErrorReply with status kBadRequest and the
/// reason; nothing changes. Never throws on any input.
///
/// Not thread-safe (it uses its store): one handler per worker thread.
class RequestHandler {
 public:
  /// `store` must outlive the handler. `incarnation` is this catalog process's incarnation,
  /// carried in Lookup/List/Status replies so caches notice a restarted catalog.
  /// `metrics`, when given, must outlive the handler.
  RequestHandler(ItemStore& store, std::uint64_t incarnation, CatalogMetrics* metrics = nullptr);

  HandlerResult handle(std::string_view request_bytes);

 private:
  HandlerResult on_status();
  HandlerResult on_lookup(const proto::LookupRequest& req);
  HandlerResult on_list();
  HandlerResult on_trade_batch(const proto::TradeBatchRequest& req);
  HandlerResult on_reconcile(const proto::ReconcileRequest& req);
  HandlerResult on_resolve(const proto::ResolveRequest& req);

  ItemStore& store_;
  const std::uint64_t incarnation_;
  CatalogMetrics* const metrics_;  // null: no metrics
};

/// An encoded ErrorReply: the answer to a request that could not be understood.
std::string encode_error(proto::Status status, const std::string& message);

}  // namespace bazaar::catalog
