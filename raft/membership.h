// A configuration of the replica set: which replicas hold the log, which of them vote, and where
// each accepts replication. It changes through the log one replica at a time (Raft thesis §4.1,
// as etcd raft applies it: a configuration entry is in force once it commits), so any two
// configurations in use at once have overlapping majorities. docs/REPLICATION.md, "Membership".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::raft {

struct Member {
  std::uint32_t id = 0;
  /// A voter counts towards elections and commits; a learner only receives the log (a new
  /// replica catching up: the leader makes it a voter once it has).
  bool voter = true;
  std::string endpoint;  // where it accepts replication (empty where nobody needs to know)
  bool operator==(const Member&) const = default;
};

/// How a proposed configuration differs from the one in force.
enum class ChangeKind : std::uint8_t {
  kNone,        // the same configuration
  kAddLearner,  // one new replica, as a learner
  kPromote,     // one learner becomes a voter
  kRemove,      // one replica (voter or learner) leaves
  kInvalid,     // anything else: more than one replica changes, a voter is added directly, a
                // voter becomes a learner, or no voter would be left
};
const char* to_string(ChangeKind k);

/// A value: members sorted by id, each id once.
class Membership {
 public:
  Membership() = default;
  /// Sorts `members` by id; a later duplicate of an id is dropped.
  explicit Membership(std::vector<Member> members);
  /// Every id a voter, with no endpoints (tests, and a replica started without --peers).
  static Membership of_voters(const std::vector<std::uint32_t>& ids);

  const std::vector<Member>& members() const { return members_; }
  std::vector<std::uint32_t> voters() const;
  std::size_t voter_count() const;
  bool contains(std::uint32_t id) const { return find(id) != nullptr; }
  bool is_voter(std::uint32_t id) const;
  /// The member with this id, or nullptr.
  const Member* find(std::uint32_t id) const;

  /// The configuration with `m` added (replacing a member of the same id).
  Membership with(Member m) const;
  /// The configuration without `id`.
  Membership without(std::uint32_t id) const;
  /// What changes from this configuration to `next` (one replica at a time, see ChangeKind).
  ChangeKind change_to(const Membership& next) const;

  /// "ID:ROLE:ENDPOINT" per member, ascending by id, separated by one space; ROLE is v (voter)
  /// or l (learner); the endpoint has no spaces and may be empty. docs/PROTOCOL.md, config-text.
  std::string encode() const;
  /// Parses encode()'s text; nullopt for anything else (ids outside 1..9 or repeated, an unknown
  /// role, no member at all).
  static std::optional<Membership> decode(std::string_view text);

  bool operator==(const Membership&) const = default;

 private:
  std::vector<Member> members_;
};

}  // namespace bazaar::raft
