// proto_msgs: every message round-trips, and untrusted bytes never crash or throw.
#include <gtest/gtest.h>

#include <random>

#include "proto_msgs/codec.h"

namespace bazaar::proto {
namespace {

template <class T>
T round_trip(const T& in) {
  auto out = decode<T>(encode(in));
  EXPECT_TRUE(out) << to_string(out.error);
  return out ? *out : T{};
}

TEST(ProtoCodec, RequestsRoundTrip) {
  auto t = round_trip(TradeRequest{"req-1", "Tux", Side::kSell, 7});
  EXPECT_EQ(t.request_id, "req-1");
  EXPECT_EQ(t.name, "Tux");
  EXPECT_EQ(t.side, Side::kSell);
  EXPECT_EQ(t.quantity, 7);

  auto p = round_trip(PlaceOrderRequest{"k", "FishCo", Side::kBuy, kMaxQuantity});
  EXPECT_EQ(p.quantity, kMaxQuantity);
  EXPECT_EQ(round_trip(LookupRequest{"Whale"}).name, "Whale");
  EXPECT_EQ(round_trip(GetOrderRequest{42}).number, 42);
  round_trip(StatusRequest{});
  round_trip(ListRequest{});
}

TEST(ProtoCodec, RepliesRoundTrip) {
  LookupReply lr{Status::kOk, Item{"Tux", 2599, 100, 3, 12}, 77};
  auto l = round_trip(lr);
  EXPECT_EQ(l.item.price_cents, 2599);
  EXPECT_EQ(l.item.version, 3u);
  EXPECT_EQ(l.item.volume, 12);
  EXPECT_EQ(l.incarnation, 77u);

  ListReply list{Status::kOk, {Item{"A", 1, 2, 3, 4}, Item{"B", 5, 6, 7, 8}}, 9};
  auto li = round_trip(list);
  ASSERT_EQ(li.items.size(), 2u);
  EXPECT_EQ(li.items[1].name, "B");

  auto g = round_trip(GetOrderReply{Status::kOk, Order{7, "Tux", Side::kBuy, 2, "r"}});
  EXPECT_EQ(g.order.number, 7);
  auto pr = round_trip(PlaceOrderReply{Status::kNotLeader, -1, 3, "not leader"});
  EXPECT_EQ(pr.status, Status::kNotLeader);
  EXPECT_EQ(pr.leader_hint, 3);
  auto tr = round_trip(TradeReply{Status::kInsufficient, Item{}, true});
  EXPECT_TRUE(tr.duplicate);
  auto st = round_trip(StatusReply{"order", 3, "leader", 5, 3, 11, 100});
  EXPECT_EQ(st.role, "leader");
  EXPECT_EQ(round_trip(ErrorReply{Status::kBadRequest, "x"}).message, "x");
}

TEST(ProtoCodec, EventsRoundTrip) {
  // Built field by field: GCC 12 warns falsely on nested aggregate initialisers here.
  Invalidation in_inv;
  in_inv.header = {"catalog", 5, 9};
  in_inv.name = "Tux";
  in_inv.version = 4;
  auto inv = round_trip(in_inv);
  EXPECT_EQ(inv.header.seq, 9u);
  EXPECT_EQ(inv.version, 4u);
  LeaderAnnouncement in_ann;
  in_ann.header = {"order-3", 1, 2};
  in_ann.term = 6;
  in_ann.id = 3;
  in_ann.endpoint = "tcp://127.0.0.1:5564";
  auto ann = round_trip(in_ann);
  EXPECT_EQ(ann.endpoint, "tcp://127.0.0.1:5564");
  EXPECT_EQ(round_trip(Heartbeat{{"broker", 1, 2}, 250}).interval_ms, 250u);
}

TEST(ProtoCodec, RejectsGarbageAndWrongEnvelopes) {
  EXPECT_EQ(decode<LookupRequest>("").error, DecodeError::kGarbage);
  EXPECT_EQ(decode<LookupRequest>("\xc1").error, DecodeError::kGarbage);      // never-used byte
  EXPECT_EQ(decode<LookupRequest>("\x93\x01").error, DecodeError::kGarbage);  // truncated
  // Trailing bytes after a complete envelope.
  EXPECT_EQ(decode<LookupRequest>(encode(LookupRequest{"Tux"}) + "x").error, DecodeError::kGarbage);

  auto pack = [](auto&&... parts) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(sizeof...(parts));
    (pk.pack(parts), ...);
    return std::string(b.data(), b.size());
  };
  EXPECT_EQ(decode<LookupRequest>(pack(1, 10)).error, DecodeError::kBadEnvelope);
  EXPECT_EQ(decode<LookupRequest>(pack(std::string("1"), 10, 0)).error, DecodeError::kBadEnvelope);
  EXPECT_EQ(decode<LookupRequest>(pack(2, 10, std::vector<std::string>{"Tux"})).error,
            DecodeError::kBadVersion);
  EXPECT_EQ(decode<LookupRequest>(pack(1, 999, std::vector<std::string>{"Tux"})).error,
            DecodeError::kUnknownType);
  EXPECT_EQ(decode<LookupRequest>(pack(1, 70000, std::vector<std::string>{"Tux"})).error,
            DecodeError::kUnknownType);
  EXPECT_EQ(decode<LookupRequest>(encode(GetOrderRequest{1})).error, DecodeError::kWrongType);
}

TEST(ProtoCodec, RejectsWrongShapesAndOutOfBoundsFields) {
  auto body = [](auto&& b, std::uint16_t type) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(3);
    pk.pack(1);
    pk.pack(type);
    pk.pack(b);
    return std::string(buf.data(), buf.size());
  };
  const auto trade = static_cast<std::uint16_t>(MessageType::kTradeRequest);
  // Too few fields; wrong field types; not an array.
  EXPECT_EQ(decode<TradeRequest>(body(std::make_tuple(std::string("r"), std::string("Tux")), trade))
                .error,
            DecodeError::kWrongShape);
  EXPECT_EQ(decode<TradeRequest>(body(std::make_tuple(1, 2, 3, 4), trade)).error,
            DecodeError::kWrongShape);
  EXPECT_EQ(decode<TradeRequest>(body(std::string("Tux"), trade)).error, DecodeError::kWrongShape);
  // Side out of range, negative quantity, zero, too large, oversized name, empty id.
  auto t = [&](std::string id, std::string name, int side, std::int64_t q) {
    return decode<TradeRequest>(body(std::make_tuple(id, name, side, q), trade)).error;
  };
  EXPECT_EQ(t("r", "Tux", 0, 1), DecodeError::kNone);
  EXPECT_EQ(t("r", "Tux", 2, 1), DecodeError::kInvalidField);
  EXPECT_EQ(t("r", "Tux", 300, 1), DecodeError::kWrongShape);
  EXPECT_EQ(t("r", "Tux", -1, 1), DecodeError::kWrongShape);
  EXPECT_EQ(t("r", "Tux", 0, 0), DecodeError::kInvalidField);
  EXPECT_EQ(t("r", "Tux", 0, -5), DecodeError::kInvalidField);
  EXPECT_EQ(t("r", "Tux", 0, kMaxQuantity + 1), DecodeError::kInvalidField);
  EXPECT_EQ(t("r", std::string(kMaxNameBytes + 1, 'x'), 0, 1), DecodeError::kInvalidField);
  EXPECT_EQ(t("", "Tux", 0, 1), DecodeError::kInvalidField);
  EXPECT_EQ(t(std::string(kMaxRequestIdBytes + 1, 'k'), "Tux", 0, 1), DecodeError::kInvalidField);
  EXPECT_EQ(decode<GetOrderRequest>(encode(GetOrderRequest{-1})).error, DecodeError::kInvalidField);
}

TEST(ProtoCodec, RejectsOversizedInput) {
  EXPECT_EQ(decode<LookupRequest>(std::string(kMaxMessageBytes + 1, '\0')).error,
            DecodeError::kTooLarge);
  // A header claiming a 4-billion-element array must not allocate it.
  const std::string huge_array("\xdd\xff\xff\xff\xff", 5);
  EXPECT_NE(decode<LookupRequest>(huge_array).error, DecodeError::kNone);
  // Nesting deeper than the limit.
  std::string deep(64, '\x91');
  deep += '\x01';
  EXPECT_EQ(decode<LookupRequest>(deep).error, DecodeError::kTooLarge);
}

// An AppendReply as a build before `joining` sends it (seven fields). Missing fields are an
// error (extra ones are ignored), so a new replica refuses it while an old one takes a new reply:
// a rolling upgrade goes follower by follower and the leader last (docs/PROTOCOL.md).
struct AppendReplyWithoutJoining {
  static constexpr MessageType kType = MessageType::kAppendReply;
  std::uint64_t term = 0;
  std::uint32_t from = 0;
  bool success = false;
  std::uint64_t match_index = 0;
  std::uint64_t next_index = 0;
  std::uint64_t round = 0;
  bool healthy = true;
  MSGPACK_DEFINE(term, from, success, match_index, next_index, round, healthy)
};

TEST(ProtoCodec, AnAppendReplyWithoutJoiningIsRefusedAndJoiningRoundTrips) {
  const auto older = decode<AppendReply>(
      encode(AppendReplyWithoutJoining{.term = 4, .from = 2, .success = false, .next_index = 1}));
  EXPECT_EQ(older.error, DecodeError::kWrongShape);
  EXPECT_TRUE(round_trip(AppendReply{.term = 4, .from = 2, .joining = true}).joining);
  EXPECT_FALSE(round_trip(AppendReply{.term = 4, .from = 2}).joining);
}

TEST(ProtoCodec, ClusterProbesRoundTripAndNameAReplica) {
  const auto probe = round_trip(ClusterProbe{.from = 3, .cluster = 0xfeedULL});
  EXPECT_EQ(probe.from, 3u);
  EXPECT_EQ(probe.cluster, 0xfeedULL);
  const auto reply = round_trip(ClusterProbeReply{.from = 2, .cluster = 7, .knows_you = true});
  EXPECT_TRUE(reply.knows_you);
  EXPECT_EQ(reply.cluster, 7u);
  EXPECT_EQ(decode<ClusterProbe>(encode(ClusterProbe{.from = 0})).error,
            DecodeError::kInvalidField);
  EXPECT_EQ(decode<ClusterProbeReply>(encode(ClusterProbeReply{.from = kMaxReplicaId + 1})).error,
            DecodeError::kInvalidField);
  EXPECT_EQ(decode<ClusterProbeReply>(encode(ClusterProbe{.from = 1})).error,
            DecodeError::kWrongType);
}

TEST(ProtoCodec, ReplicationAndBatchMessages) {
  LogEntry order;
  order.term = 3;
  order.kind = LogEntry::kOrder;
  order.order_number = 5;
  order.request_id = "r";
  order.name = "Tux";
  order.quantity = 2;
  AppendEntries a;
  a.term = 3;
  a.leader = 2;
  a.prev_index = 9;
  a.prev_term = 2;
  a.entries = {LogEntry{3, LogEntry::kNoop, -1, "", "", Side::kBuy, 0}, order};
  a.commit = 8;
  auto got = round_trip(a);
  ASSERT_EQ(got.entries.size(), 2u);
  EXPECT_EQ(got.entries[1], order);
  EXPECT_EQ(round_trip(RequestVote{4, 3, 10, 3, true, false}).pre_vote, true);
  const auto forced = round_trip(RequestVote{5, 3, 10, 4, false, true});
  EXPECT_TRUE(forced.transfer);
  EXPECT_FALSE(forced.pre_vote);
  EXPECT_EQ(forced.last_term, 4u);
  const auto now = round_trip(TimeoutNow{7, 2});
  EXPECT_EQ(now.term, 7u);
  EXPECT_EQ(now.leader, 2u);
  EXPECT_EQ(round_trip(AppendReply{4, 1, true, 12, 13}).match_index, 12u);

  // Bounds: an order entry without a name, an entry from a later term, an unknown kind.
  AppendEntries bad = a;
  bad.entries[1].name = "";
  EXPECT_EQ(decode<AppendEntries>(encode(bad)).error, DecodeError::kInvalidField);
  bad = a;
  bad.entries[1].term = 4;
  EXPECT_EQ(decode<AppendEntries>(encode(bad)).error, DecodeError::kInvalidField);
  bad = a;
  bad.entries[0].kind = 7;
  EXPECT_EQ(decode<AppendEntries>(encode(bad)).error, DecodeError::kInvalidField);
  EXPECT_EQ(decode<RequestVote>(encode(RequestVote{1, 0, 0, 0, false, false})).error,
            DecodeError::kInvalidField);
  // A pre-vote is never a transfer election; TimeoutNow names a leader and a real term.
  EXPECT_EQ(decode<RequestVote>(encode(RequestVote{2, 3, 0, 0, true, true})).error,
            DecodeError::kInvalidField);
  EXPECT_EQ(decode<TimeoutNow>(encode(TimeoutNow{7, 0})).error, DecodeError::kInvalidField);
  EXPECT_EQ(decode<TimeoutNow>(encode(TimeoutNow{0, 2})).error, DecodeError::kInvalidField);
  // A RequestVote of the old shape (no transfer field) is missing a field: refused, not misread.
  {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(3);
    pk.pack(kProtocolVersion);
    pk.pack(static_cast<std::uint16_t>(MessageType::kRequestVote));
    pk.pack_array(5);
    pk.pack(std::uint64_t{4});
    pk.pack(std::uint32_t{3});
    pk.pack(std::uint64_t{10});
    pk.pack(std::uint64_t{3});
    pk.pack(false);
    EXPECT_EQ(decode<RequestVote>(std::string_view(buf.data(), buf.size())).error,
              DecodeError::kWrongShape);
  }
  // The types are told apart: a TimeoutNow is not an AppendReply.
  EXPECT_EQ(decode<AppendReply>(encode(TimeoutNow{7, 2})).error, DecodeError::kWrongType);

  TradeBatchRequest batch;
  batch.trades = {TradeRequest{"a", "Tux", Side::kBuy, 1},
                  TradeRequest{"b", "Uno", Side::kSell, 2}};
  EXPECT_EQ(round_trip(batch).trades[1].name, "Uno");
  EXPECT_EQ(decode<TradeBatchRequest>(encode(TradeBatchRequest{})).error,
            DecodeError::kInvalidField);
  batch.trades.assign(kMaxTradeBatch + 1, TradeRequest{"a", "Tux", Side::kBuy, 1});
  EXPECT_EQ(decode<TradeBatchRequest>(encode(batch)).error, DecodeError::kInvalidField);
  batch.trades = {TradeRequest{"a", "Tux", Side::kBuy, 0}};
  EXPECT_EQ(decode<TradeBatchRequest>(encode(batch)).error, DecodeError::kInvalidField);
}

TEST(ProtoCodec, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  const std::string valid = encode(PlaceOrderRequest{"id", "Tux", Side::kBuy, 3});
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    // Flip a few bytes of a valid message, or make a random one.
    if (i % 2 == 0) {
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    } else {
      bytes.resize(rng() % 64);
      for (auto& c : bytes) c = static_cast<char>(rng());
    }
    auto out = decode<PlaceOrderRequest>(bytes);
    if (out) {
      ++decoded;
      EXPECT_TRUE(validate(*out));
    }
  }
  EXPECT_LT(decoded, 20000);
}

}  // namespace
}  // namespace bazaar::proto
