// Writes the seed corpus of fuzz_proto_decode: one valid encoding of every message, plus a few
// near misses. Run by hand when messages change (the output is checked in):
//   g++ -std=c++20 -I. tests/fuzz/make_proto_seeds.cpp -o /tmp/make_proto_seeds &&
//     /tmp/make_proto_seeds tests/fuzz/corpus/proto_decode
#include <fstream>
#include <string>

#include "proto_msgs/codec.h"

namespace proto = bazaar::proto;

namespace {

std::string g_dir;

void put(const std::string& name, const std::string& bytes) {
  std::ofstream(g_dir + "/seed-" + name, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  g_dir = argv[1];
  const proto::Item tux{"Tux", 2599, 100, 3, 7};
  const proto::TradeRequest trade{"rid-1", "Tux", proto::Side::kBuy, 2};
  proto::LogEntry entry;
  entry.term = 2;
  entry.kind = proto::LogEntry::kOrder;
  entry.order_number = 0;
  entry.request_id = "rid-1";
  entry.name = "Tux";
  entry.quantity = 2;
  put("error", proto::encode(proto::ErrorReply{proto::Status::kBadRequest, "bad"}));
  put("status-req", proto::encode(proto::StatusRequest{}));
  put("status-rep", proto::encode(proto::StatusReply{"order", 3, "leader", 5, 3, 42, 9}));
  put("lookup-req", proto::encode(proto::LookupRequest{"Tux"}));
  put("lookup-rep", proto::encode(proto::LookupReply{proto::Status::kOk, tux, 42}));
  put("list-req", proto::encode(proto::ListRequest{}));
  put("list-rep", proto::encode(proto::ListReply{proto::Status::kOk, {tux, tux}, 42}));
  put("trade-req", proto::encode(trade));
  put("trade-rep", proto::encode(proto::TradeReply{proto::Status::kOk, tux, false}));
  put("batch-req", proto::encode(proto::TradeBatchRequest{{trade, trade}, 4, {"rid-0"}, 9}));
  put("batch-rep", proto::encode(proto::TradeBatchReply{{proto::TradeReply{}}}));
  put("reconcile-req", proto::encode(proto::ReconcileRequest{4, "rid-0", 16}));
  put("reconcile-rep",
      proto::encode(proto::ReconcileReply{proto::Status::kOk, {trade, trade}, true}));
  put("resolve-req", proto::encode(proto::ResolveRequest{4, 9, {"rid-0", "rid-1"}}));
  put("resolve-rep", proto::encode(proto::ResolveReply{proto::Status::kOk, {trade}}));
  put("place-req", proto::encode(proto::PlaceOrderRequest{"rid-1", "Tux", proto::Side::kSell, 1}));
  put("place-rep", proto::encode(proto::PlaceOrderReply{proto::Status::kNotLeader, -1, 2, "x"}));
  put("get-req", proto::encode(proto::GetOrderRequest{7}));
  put("get-rep", proto::encode(proto::GetOrderReply{
                     proto::Status::kOk, proto::Order{7, "Tux", proto::Side::kBuy, 2, "rid"}}));
  put("vote-req", proto::encode(proto::RequestVote{5, 3, 10, 4, true, false}));
  put("vote-req-transfer", proto::encode(proto::RequestVote{6, 3, 10, 5, false, true}));
  put("vote-rep", proto::encode(proto::VoteReply{5, 2, true, false}));
  put("append", proto::encode(proto::AppendEntries{5, 3, 0, 0, {entry, entry}, 1}));
  put("append-rep", proto::encode(proto::AppendReply{5, 2, true, 2, 3}));
  put("timeout-now", proto::encode(proto::TimeoutNow{5, 2}));
  put("cluster-probe",
      proto::encode(proto::ClusterProbe{.from = 1, .cluster = 0x9e3779b97f4a7c15ULL}));
  put("cluster-probe-rep",
      proto::encode(proto::ClusterProbeReply{.from = 3, .cluster = 7, .knows_you = true}));
  put("inv", proto::encode(proto::Invalidation{{"catalog", 42, 1}, "Tux", 3}));
  put("leader", proto::encode(proto::LeaderAnnouncement{{"order-3", 42, 1}, 5, 3, "tcp://x:1"}));
  put("hb", proto::encode(proto::Heartbeat{{"broker", 42, 1}, 250}));
  // Near misses: wrong version, unknown type, truncated, trailing byte.
  std::string lookup = proto::encode(proto::LookupRequest{"Tux"});
  std::string bad_version = lookup;
  bad_version[1] = 9;
  put("bad-version", bad_version);
  std::string unknown = lookup;
  unknown[2] = 99;
  put("unknown-type", unknown);
  put("truncated", lookup.substr(0, lookup.size() - 1));
  put("trailing", lookup + "x");
  return 0;
}
