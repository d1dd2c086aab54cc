#include "order/cluster_identity.h"

#include <spdlog/fmt/fmt.h>

namespace bazaar::order {

namespace {
std::uint32_t bit(std::uint32_t id) {
  return id >= 1 && id <= proto::kMaxReplicaId ? std::uint32_t{1} << id : 0;
}
}  // namespace

std::uint64_t ClusterIdentity::derive(const raft::Membership& initial) {
  // FNV-1a, 64 bits: stable across builds and machines, which std::hash is not.
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : initial.encode()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h == 0 ? 1 : h;
}

ClusterIdentity::ClusterIdentity(Options options) : options_(std::move(options)) {
  if (options_.mode == StartMode::kBootstrap && options_.peers.empty()) {
    check_ = IdentityCheck::kConfirmed;  // a single replica: nobody to ask
  }
}

std::vector<std::uint32_t> ClusterIdentity::to_probe() const {
  std::vector<std::uint32_t> out;
  const bool probing =
      (options_.mode == StartMode::kBootstrap && check_ == IdentityCheck::kWaiting) ||
      (options_.mode == StartMode::kJoin && options_.cluster == 0);
  if (!probing) return out;
  for (const std::uint32_t p : options_.peers) {
    if (p != options_.self && answered_.count(p) == 0) out.push_back(p);
  }
  return out;
}

proto::ClusterProbeReply ClusterIdentity::answer(const proto::ClusterProbe& probe) const {
  return {.from = options_.self,
          .cluster = options_.cluster,
          .knows_you = (options_.known_peers & bit(probe.from)) != 0};
}

bool ClusterIdentity::on_reply(const proto::ClusterProbeReply& reply) {
  if (reply.from == options_.self) return false;
  if (options_.mode == StartMode::kJoin) {
    if (options_.cluster != 0 || reply.cluster == 0) return false;
    options_.cluster = reply.cluster;
    return true;
  }
  if (options_.mode != StartMode::kBootstrap || check_ != IdentityCheck::kWaiting) return false;
  if (reply.knows_you) {
    check_ = IdentityCheck::kRefused;
    refusal_ = fmt::format(
        "replica {} has had Raft messages from replica {} before, so this empty database means "
        "replica {} lost its data; start it with --join to rejoin as a new copy (launch/bazaar "
        "replace order-{})",
        reply.from, options_.self, options_.self, options_.self);
    return false;
  }
  if (reply.cluster != 0 && reply.cluster != options_.cluster) {
    check_ = IdentityCheck::kRefused;
    refusal_ = fmt::format(
        "replica {} belongs to cluster {:016x}, not to the new cluster {:016x} that this "
        "replica's --peers describe; start it with --join to join that cluster",
        reply.from, reply.cluster, options_.cluster);
    return false;
  }
  answered_.insert(reply.from);
  if (!to_probe().empty()) return false;
  check_ = IdentityCheck::kConfirmed;
  return true;
}

bool ClusterIdentity::heard_from(std::uint32_t peer) {
  const std::uint32_t b = bit(peer);
  if (b == 0 || peer == options_.self || (options_.known_peers & b) != 0) return false;
  options_.known_peers |= b;
  return true;
}

}  // namespace bazaar::order
