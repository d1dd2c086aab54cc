// The messages every Bazaar service speaks, and nothing else.
//
// Each message is a plain struct packed as a msgpack array (MSGPACK_DEFINE), carried inside the
// envelope of codec.h. The grammar of every message is in docs/PROTOCOL.md; keep the two in step.
// Field order is the wire order: append new fields at the end, never reorder or remove.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace bazaar::proto {

/// Version carried in every envelope. A receiver refuses any other version.
inline constexpr std::uint8_t kProtocolVersion = 1;

/// Bounds checked by validate(); the decoder refuses anything larger.
inline constexpr std::size_t kMaxMessageBytes = 1 << 20;  // whole envelope
inline constexpr std::size_t kMaxNameBytes = 64;          // item names
inline constexpr std::size_t kMaxRequestIdBytes = 128;    // request ids / idempotency keys
inline constexpr std::size_t kMaxTextBytes = 1024;        // free text: roles, endpoints, messages
inline constexpr std::size_t kMaxListItems = 10000;       // items in a ListReply
inline constexpr std::int64_t kMaxQuantity = 2147483647;  // quantities are 1 .. 2^31-1
inline constexpr std::uint32_t kMaxReplicaId = 9;         // order replica ids are 1 .. 9

/// Every message type on the wire. Numbers are fixed forever; gaps leave room per service.
enum class MessageType : std::uint16_t {
  kErrorReply = 1,
  kStatusRequest = 2,
  kStatusReply = 3,
  kLookupRequest = 10,
  kLookupReply = 11,
  kListRequest = 12,
  kListReply = 13,
  kTradeRequest = 14,
  kTradeReply = 15,
  kTradeBatchRequest = 16,
  kTradeBatchReply = 17,
  kReconcileRequest = 18,
  kReconcileReply = 19,
  kResolveRequest = 24,
  kResolveReply = 25,
  kPlaceOrderRequest = 20,
  kPlaceOrderReply = 21,
  kGetOrderRequest = 22,
  kGetOrderReply = 23,
  kMembershipRequest = 26,
  kMembershipReply = 27,
  kRequestVote = 30,
  kVoteReply = 31,
  kAppendEntries = 32,
  kAppendReply = 33,
  kTimeoutNow = 34,
  kForwardRequest = 35,
  kForwardReply = 36,
  kClusterProbe = 37,
  kClusterProbeReply = 38,
  kInvalidation = 40,
  kLeaderAnnouncement = 41,
  kHeartbeat = 42,
};

/// Outcome of a request, shared by every reply.
enum class Status : std::uint8_t {
  kOk = 0,
  kUnknownItem = 1,   // no item of that name
  kInsufficient = 2,  // a buy of more than is left
  kBadRequest = 3,    // the request was malformed; nothing changed
  kNotLeader = 4,     // this order replica does not lead; see the leader hint
  kUnavailable = 5,   // a dependency (catalog, majority) is unreachable; nothing changed
  kNotFound = 6,      // no order with that number
  kConflict = 7,      // request id reused with a different body
  kInternal = 8,      // a bug or a disk error; logged by the service
};
inline constexpr std::uint8_t kMaxStatus = 8;

enum class Side : std::uint8_t { kBuy = 0, kSell = 1 };
inline constexpr std::uint8_t kMaxSide = 1;

const char* to_string(Status s);
const char* to_string(Side s);
const char* to_string(MessageType t);

/// One catalog item as the catalog knows it. `version` grows by one with every change to the
/// item (trade or restock), so caches can order what they see.
struct Item {
  std::string name;
  std::int64_t price_cents = 0;
  std::int64_t quantity = 0;
  std::uint64_t version = 0;
  std::int64_t volume = 0;  // units traded so far, buys and sells
  MSGPACK_DEFINE(name, price_cents, quantity, version, volume)
};

/// One committed order.
struct Order {
  std::int64_t number = 0;
  std::string name;
  Side side = Side::kBuy;
  std::int64_t quantity = 0;
  std::string request_id;
  MSGPACK_DEFINE(number, name, side, quantity, request_id)
};

// ---- generic -------------------------------------------------------------------------------

/// Sent instead of the expected reply when a request could not be decoded at all.
struct ErrorReply {
  static constexpr MessageType kType = MessageType::kErrorReply;
  Status status = Status::kBadRequest;
  std::string message;
  MSGPACK_DEFINE(status, message)
};

/// Asks any service how it is. Used by launch/bazaar status and health checks.
struct StatusRequest {
  static constexpr MessageType kType = MessageType::kStatusRequest;
  MSGPACK_DEFINE()
};

struct StatusReply {
  static constexpr MessageType kType = MessageType::kStatusReply;
  std::string service;   // "broker", "catalog", "order"
  std::uint32_t id = 0;  // replica id for order, 0 otherwise
  std::string role;      // "leader", "follower", "joining", "candidate", "pre_candidate", "serving"
  std::uint64_t term = 0;
  std::int32_t leader_id = -1;  // -1: unknown
  std::uint64_t incarnation = 0;
  std::uint64_t log_size = 0;  // committed orders (order) or items (catalog)
  // Order replicas: the Raft commit index and the index of the last entry in the log (0 for
  // the other services). Appended for the cluster page.
  std::uint64_t commit_index = 0;
  std::uint64_t last_index = 0;
  MSGPACK_DEFINE(service, id, role, term, leader_id, incarnation, log_size, commit_index,
                 last_index)
};

// ---- catalog -------------------------------------------------------------------------------

struct LookupRequest {
  static constexpr MessageType kType = MessageType::kLookupRequest;
  std::string name;
  MSGPACK_DEFINE(name)
};

struct LookupReply {
  static constexpr MessageType kType = MessageType::kLookupReply;
  Status status = Status::kOk;
  Item item;
  std::uint64_t incarnation = 0;  // the catalog process's incarnation
  MSGPACK_DEFINE(status, item, incarnation)
};

struct ListRequest {
  static constexpr MessageType kType = MessageType::kListRequest;
  MSGPACK_DEFINE()
};

struct ListReply {
  static constexpr MessageType kType = MessageType::kListReply;
  Status status = Status::kOk;
  std::vector<Item> items;
  std::uint64_t incarnation = 0;
  MSGPACK_DEFINE(status, items, incarnation)
};

/// Applies one order to the stock. The catalog applies a request id at most once: a repeat gets
/// the first outcome back with `duplicate` set.
struct TradeRequest {
  static constexpr MessageType kType = MessageType::kTradeRequest;
  std::string request_id;
  std::string name;
  Side side = Side::kBuy;
  std::int64_t quantity = 0;
  MSGPACK_DEFINE(request_id, name, side, quantity)
};

struct TradeReply {
  static constexpr MessageType kType = MessageType::kTradeReply;
  Status status = Status::kOk;
  Item item;  // the item after the trade (valid when status is kOk)
  bool duplicate = false;
  MSGPACK_DEFINE(status, item, duplicate)
};

inline constexpr std::size_t kMaxTradeBatch = 1024;

/// From the order leader: several trades applied in one catalog transaction (one disk sync for
/// all: group commit), each exactly as a TradeRequest alone would be; the replies come in the
/// same order. `term` is the leader's Raft term: the catalog refuses (kNotLeader) every trade of
/// a batch whose term is below the highest term a leader reconciled with (the fence), so a
/// deposed leader can no longer change stock. `confirmed` lists request ids whose orders have
/// committed: the catalog marks those trades confirmed in the same transaction (G2 bookkeeping,
/// see ReconcileRequest). A batch may carry only confirmations. `batch` names the batch among the
/// leader's batches of its term (0: unnamed); the catalog refuses every trade of a batch that a
/// ResolveRequest abandoned, whenever the batch arrives.
struct TradeBatchRequest {
  static constexpr MessageType kType = MessageType::kTradeBatchRequest;
  std::vector<TradeRequest> trades;
  std::uint64_t term = 0;
  std::vector<std::string> confirmed;
  std::uint64_t batch = 0;
  MSGPACK_DEFINE(trades, term, confirmed, batch)
};

struct TradeBatchReply {
  static constexpr MessageType kType = MessageType::kTradeBatchReply;
  std::vector<TradeReply> replies;
  MSGPACK_DEFINE(replies)
};

inline constexpr std::size_t kMaxReconcilePage = 1024;

/// From a new order leader before it serves: raises the catalog's fence to `term` (no trade of
/// an older term applies after this), then lists the trades that were applied under an older
/// term and never confirmed, in request-id order after `after`, at most `limit`. The leader
/// commits an order for each one its log lacks (roll forward) and confirms the rest.
struct ReconcileRequest {
  static constexpr MessageType kType = MessageType::kReconcileRequest;
  std::uint64_t term = 0;
  std::string after;  // request-id cursor: "" for the first page
  std::uint32_t limit = kMaxReconcilePage;
  MSGPACK_DEFINE(term, after, limit)
};

struct ReconcileReply {
  static constexpr MessageType kType = MessageType::kReconcileReply;
  Status status = Status::kOk;  // kNotLeader when `term` is below the fence already
  std::vector<TradeRequest> unconfirmed;
  bool more = false;  // another page follows `unconfirmed.back().request_id`
  MSGPACK_DEFINE(status, unconfirmed, more)
};

/// From the order leader of `term`, for a trade batch it sent and gave up waiting for (the batch
/// is in doubt: the catalog may have applied it, may apply it later, or never). In one
/// transaction the catalog abandons batch (`term`, `batch`) for good (if it has not arrived yet,
/// its trades are refused when it does) and lists which of `request_ids` are applied, by this
/// batch or any other, with the trade as recorded. The leader logs an order for each of those; the
/// rest never change stock. Refused (kNotLeader, nothing changed) when `term` is below the fence:
/// a newer leader's reconciliation owns that term's trades.
struct ResolveRequest {
  static constexpr MessageType kType = MessageType::kResolveRequest;
  std::uint64_t term = 0;
  std::uint64_t batch = 0;
  std::vector<std::string> request_ids;
  MSGPACK_DEFINE(term, batch, request_ids)
};

struct ResolveReply {
  static constexpr MessageType kType = MessageType::kResolveReply;
  Status status = Status::kOk;
  std::vector<TradeRequest> applied;  // those of the request ids that changed stock
  MSGPACK_DEFINE(status, applied)
};

// ---- order ---------------------------------------------------------------------------------

struct PlaceOrderRequest {
  static constexpr MessageType kType = MessageType::kPlaceOrderRequest;
  std::string request_id;
  std::string name;
  Side side = Side::kBuy;
  std::int64_t quantity = 0;
  MSGPACK_DEFINE(request_id, name, side, quantity)
};

struct PlaceOrderReply {
  static constexpr MessageType kType = MessageType::kPlaceOrderReply;
  Status status = Status::kOk;
  std::int64_t order_number = -1;
  std::int32_t leader_hint = -1;  // kNotLeader: the id believed to lead, or -1; kOk: the leader's
  std::string message;            // human-readable detail for errors
  MSGPACK_DEFINE(status, order_number, leader_hint, message)
};

struct GetOrderRequest {
  static constexpr MessageType kType = MessageType::kGetOrderRequest;
  std::int64_t number = 0;
  MSGPACK_DEFINE(number)
};

struct GetOrderReply {
  static constexpr MessageType kType = MessageType::kGetOrderReply;
  Status status = Status::kOk;
  Order order;
  MSGPACK_DEFINE(status, order)
};

/// An operator reads or changes the set of order replicas (docs/REPLICATION.md, "Membership").
/// Only the leader changes it, one replica at a time: kAdd adds `id` as a learner at
/// `peer_endpoint` (it receives the log, does not vote, and the leader makes it a voter once it
/// has caught up); kRemove takes `id` out, voter or learner. The reply comes once the entry of the
/// change has committed (or at once for kShow, and for a change that is already in force).
struct MembershipRequest {
  static constexpr MessageType kType = MessageType::kMembershipRequest;
  enum Op : std::uint8_t { kShow = 0, kAdd = 1, kRemove = 2 };
  std::uint8_t op = kShow;
  std::uint32_t id = 0;
  std::string peer_endpoint;  // kAdd only
  MSGPACK_DEFINE(op, id, peer_endpoint)
};

struct MembershipReply {
  static constexpr MessageType kType = MessageType::kMembershipReply;
  Status status = Status::kOk;
  std::string message;            // why, when status is not kOk
  std::int32_t leader_hint = -1;  // kNotLeader: the leader this replica follows, if known
  /// The configuration in force at the replier (after the change, on success), as
  /// raft::Membership::encode() writes it: "1:v:tcp://... 2:v:tcp://... 4:l:tcp://...".
  std::string configuration;
  std::uint64_t config_index = 0;  // log index of its entry; 0: the one --peers gave
  MSGPACK_DEFINE(status, message, leader_hint, configuration, config_index)
};

// ---- replication (DEALER -> ROUTER between order replicas) ----------------------------------

inline constexpr std::size_t kMaxEntriesPerAppend = 4096;

/// One entry of the replicated log. Index i (1-based) is the entry's position. A leader opens its
/// term with a no-op entry so it can commit what earlier terms left behind; orders carry their
/// order number, which is their position among the log's orders (0, 1, 2, ...).
struct LogEntry {
  /// kConfig: a new configuration of the replica set, as text in `name` (raft::Membership; at
  /// most kMaxTextBytes); it is in force once it commits. Its other fields are unused.
  enum Kind : std::uint8_t { kNoop = 0, kOrder = 1, kConfig = 2 };
  std::uint64_t term = 0;
  std::uint8_t kind = kNoop;
  /// -1: numbered as it commits, by each replica (order::Replica). Replicas of schema 2 numbered
  /// at propose time and sent that number; it is the same number, and is not read.
  std::int64_t order_number = -1;
  std::string request_id;
  std::string name;
  Side side = Side::kBuy;
  std::int64_t quantity = 0;
  MSGPACK_DEFINE(term, kind, order_number, request_id, name, side, quantity)
  bool operator==(const LogEntry&) const = default;
};

/// A candidate asks for a vote. With `pre_vote` it only asks whether it could win (term is then
/// the term it would campaign in); nobody changes state for a pre-vote. With `transfer` the
/// candidate campaigns because the leader of its previous term told it to (TimeoutNow): voters
/// then set aside their leader lease, and apply every other rule as usual. Never both.
struct RequestVote {
  static constexpr MessageType kType = MessageType::kRequestVote;
  std::uint64_t term = 0;
  std::uint32_t candidate = 0;
  std::uint64_t last_index = 0;
  std::uint64_t last_term = 0;
  bool pre_vote = false;
  bool transfer = false;
  MSGPACK_DEFINE(term, candidate, last_index, last_term, pre_vote, transfer)
};

struct VoteReply {
  static constexpr MessageType kType = MessageType::kVoteReply;
  std::uint64_t term = 0;
  std::uint32_t from = 0;
  bool granted = false;
  bool pre_vote = false;
  MSGPACK_DEFINE(term, from, granted, pre_vote)
};

/// The leader replicates entries (none: a heartbeat) after prev_index/prev_term.
struct AppendEntries {
  static constexpr MessageType kType = MessageType::kAppendEntries;
  std::uint64_t term = 0;
  std::uint32_t leader = 0;
  std::uint64_t prev_index = 0;
  std::uint64_t prev_term = 0;
  std::vector<LogEntry> entries;
  std::uint64_t commit = 0;
  std::uint64_t round = 0;  // the leader's latest read-confirmation round; echoed in the reply
  MSGPACK_DEFINE(term, leader, prev_index, prev_term, entries, commit, round)
};

/// success: the follower's log now matches the leader's up to match_index.
/// failure: next_index is where the leader should try next (the follower's hint).
struct AppendReply {
  static constexpr MessageType kType = MessageType::kAppendReply;
  std::uint64_t term = 0;
  std::uint32_t from = 0;
  bool success = false;
  std::uint64_t match_index = 0;
  std::uint64_t next_index = 0;
  std::uint64_t round = 0;  // AppendEntries.round of the message this answers
  /// The sender could serve as leader now (for an order replica: the catalog answers it). A
  /// leader hands office only to a healthy peer (RaftCore::set_healthy).
  bool healthy = true;
  /// The sender started on an empty store to join (RaftConfig::joining) and has not caught up:
  /// its log really ends where next_index says, whatever the leader matched for it before it
  /// lost its data.
  bool joining = false;
  MSGPACK_DEFINE(term, from, success, match_index, next_index, round, healthy, joining)
};

/// Leadership transfer (Raft thesis §3.10): the leader of `term` has made the receiver's log
/// match its own and stopped taking proposals; the receiver campaigns at once, without pre-vote,
/// with RequestVote.transfer set. Sent once per transfer, to a replica of a higher id.
struct TimeoutNow {
  static constexpr MessageType kType = MessageType::kTimeoutNow;
  std::uint64_t term = 0;
  std::uint32_t leader = 0;
  MSGPACK_DEFINE(term, leader)
};

/// A client's request (PlaceOrderRequest or GetOrderRequest, its bytes as the client sent them)
/// that follower `from` passes to its leader, because the client reached it and perhaps not the
/// leader (a partition between a front end and the leader). The leader answers it as if the
/// client had asked it directly, in a ForwardReply with the same ticket; it never forwards it on.
struct ForwardRequest {
  static constexpr MessageType kType = MessageType::kForwardRequest;
  std::uint32_t from = 0;
  std::uint64_t ticket = 0;  // the follower's name for the waiting client
  std::string request;
  MSGPACK_DEFINE(from, ticket, request)
};

/// The leader's reply to a ForwardRequest: the reply's bytes, which the follower hands to its
/// client unchanged.
struct ForwardReply {
  static constexpr MessageType kType = MessageType::kForwardReply;
  std::uint64_t ticket = 0;
  std::string reply;
  MSGPACK_DEFINE(ticket, reply)
};
inline constexpr std::size_t kMaxForwardedBytes = 4096;

/// Cluster identity (docs/REPLICATION.md, "Cluster identity"). A replica that starts on an empty
/// database asks every replica of its --peers what it knows of it: a new cluster's replica before
/// it may vote, a joining one for the id of the cluster it joins. Every replica answers, in any
/// state; the answer goes back over the answerer's own peer link.
struct ClusterProbe {
  static constexpr MessageType kType = MessageType::kClusterProbe;
  std::uint32_t from = 0;
  std::uint64_t cluster = 0;  // the id the sender has or would found (0: none, it joins)
  MSGPACK_DEFINE(from, cluster)
};

struct ClusterProbeReply {
  static constexpr MessageType kType = MessageType::kClusterProbeReply;
  std::uint32_t from = 0;
  std::uint64_t cluster = 0;  // the answerer's cluster id (0: it does not know one)
  /// The answerer has had Raft messages from the prober before: the prober ran in this cluster
  /// with state, so an empty database means it lost that state.
  bool knows_you = false;
  MSGPACK_DEFINE(from, cluster, knows_you)
};

// ---- events (PUB/SUB through the broker) ---------------------------------------------------

/// Every event names its publisher, the publisher's incarnation (new at every process start) and
/// a sequence number that grows by one per event of that publisher incarnation, so a subscriber
/// can tell a restart (new incarnation) and a loss (gap) from a quiet period.
struct EventHeader {
  std::string publisher;
  std::uint64_t incarnation = 0;
  std::uint64_t seq = 0;
  MSGPACK_DEFINE(publisher, incarnation, seq)
};

/// Topic frames: subscribers filter on these prefixes.
inline constexpr const char* kTopicInvalidation = "inv";
inline constexpr const char* kTopicLeader = "leader";
inline constexpr const char* kTopicHeartbeat = "hb";

/// The catalog changed `name`; any cached copy older than `version` is stale.
struct Invalidation {
  static constexpr MessageType kType = MessageType::kInvalidation;
  EventHeader header;
  std::string name;
  std::uint64_t version = 0;
  MSGPACK_DEFINE(header, name, version)
};

/// An order replica leads `term`; clients send orders to `endpoint`.
struct LeaderAnnouncement {
  static constexpr MessageType kType = MessageType::kLeaderAnnouncement;
  EventHeader header;
  std::uint64_t term = 0;
  std::uint32_t id = 0;
  std::string endpoint;
  MSGPACK_DEFINE(header, term, id, endpoint)
};

/// The broker is alive. Published every --heartbeat-interval.
struct Heartbeat {
  static constexpr MessageType kType = MessageType::kHeartbeat;
  EventHeader header;
  std::uint32_t interval_ms = 0;
  MSGPACK_DEFINE(header, interval_ms)
};

}  // namespace bazaar::proto

MSGPACK_ADD_ENUM(bazaar::proto::Status);
MSGPACK_ADD_ENUM(bazaar::proto::Side);
