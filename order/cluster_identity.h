// Which cluster an order replica belongs to, and whether a replica that starts on an empty
// database may vote: the check that keeps a replica that lost its disk from voting with state it
// no longer has (Raft's safety argument assumes a vote, once cast, is never forgotten).
// docs/REPLICATION.md, "Cluster identity". Pure: the server sends the probes and persists what
// this says to.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "proto_msgs/messages.h"
#include "raft/membership.h"

namespace bazaar::order {

/// How a replica starts, from its database and its flags.
enum class StartMode : std::uint8_t {
  kMember,     // the database holds a cluster id, a vote or a log: it is a member already
  kBootstrap,  // empty, no --join: one of a new cluster's replicas, once the others agree
  kJoin,       // empty, --join: joins the running cluster (raft::RaftConfig::joining)
};

/// Where the start check of a kBootstrap replica stands.
enum class IdentityCheck : std::uint8_t {
  kWaiting,    // some replica of the initial configuration has not answered yet
  kConfirmed,  // every other one answered that it never heard from this replica
  kRefused,    // one has heard from it (it lost its data) or belongs to another cluster
};

/// Not thread-safe: the server's thread owns it.
///
/// A replica with a database (kMember) answers probes and notes which peers it has had Raft
/// messages from (they had state then); that set is persisted, so it survives restarts.
///
/// A new cluster's replica (kBootstrap) may not take part in Raft until every other replica of
/// its initial configuration has answered its probe: if any has had Raft messages from it, the
/// replica ran before and its empty database means its disk was lost, and it refuses to start
/// (it must rejoin with --join); if any belongs to another cluster it refuses too. All must
/// answer, not a majority, because followers never hear from one another unless one campaigns:
/// only the leader of the time may know that this replica held entries. The price: a new
/// cluster's first election waits until all its replicas are up. A replica whose initial peers
/// have never heard from it (it is new and simply late) starts as any member of the cluster.
///
/// A joining replica (kJoin) needs no permission (it does not vote until caught up); it probes
/// only to learn the cluster's id, which it then records.
class ClusterIdentity {
 public:
  struct Options {
    std::uint32_t self = 1;
    StartMode mode = StartMode::kMember;
    /// The id recorded in the database (0: none; a kBootstrap replica gets derive()'s).
    std::uint64_t cluster = 0;
    std::uint32_t known_peers = 0;  // as recorded: bit k for replica k
    /// The other replicas of the configuration this replica starts with (whom it probes).
    std::vector<std::uint32_t> peers;
  };

  /// The id a new cluster gets: a hash of its initial configuration (ids and replication
  /// endpoints), so that every initial replica computes the same one without a round of
  /// messages. Never 0.
  static std::uint64_t derive(const raft::Membership& initial);

  explicit ClusterIdentity(Options options);

  StartMode mode() const { return options_.mode; }
  /// The cluster id to record and to answer with (0: not known yet, a joiner before an answer).
  std::uint64_t cluster() const { return options_.cluster; }
  std::uint32_t known_peers() const { return options_.known_peers; }
  /// kBootstrap: the check has passed, the replica may take part in Raft (always true otherwise).
  bool confirmed() const {
    return options_.mode != StartMode::kBootstrap || check_ == IdentityCheck::kConfirmed;
  }
  IdentityCheck check() const { return check_; }
  /// Why the check refused (one sentence, for the operator), once check() is kRefused.
  const std::string& refusal() const { return refusal_; }

  /// The replicas to probe now: a bootstrapping replica's peers that have not answered, a
  /// joiner's until one names the cluster; none otherwise.
  std::vector<std::uint32_t> to_probe() const;
  proto::ClusterProbe probe() const { return {.from = options_.self, .cluster = options_.cluster}; }
  /// The answer to `probe` from another replica.
  proto::ClusterProbeReply answer(const proto::ClusterProbe& probe) const;

  /// An answer to this replica's probe. Returns whether the identity to record changed (a
  /// joiner learnt the cluster id, or a bootstrapping replica's check passed): the caller
  /// persists cluster() and known_peers() before it goes on.
  [[nodiscard]] bool on_reply(const proto::ClusterProbeReply& reply);
  /// A Raft message came from `peer`. Returns whether that is news (the caller persists
  /// known_peers() before it answers any probe on the strength of it).
  [[nodiscard]] bool heard_from(std::uint32_t peer);

 private:
  Options options_;
  IdentityCheck check_ = IdentityCheck::kWaiting;
  std::set<std::uint32_t> answered_;
  std::string refusal_;
};

}  // namespace bazaar::order
