// The replication core: Raft (terms, votes, majority commit, log matching) with pre-vote, check-
// quorum, a priority rule and leadership transfer to the highest id, as a pure state machine.
// Messages and clock ticks go in; messages to send, records to persist and committed entries to
// apply come out. No sockets, clock or disk writes inside: the durable log is read through a
// LogStore the caller owns and writes, so the simulation in tests/unit/order_raft_sim_test.cpp
// can drive it deterministically over a MemoryLogStore. docs/REPLICATION.md describes the states,
// transitions and what is persisted when.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <variant>
#include <vector>

#include "proto_msgs/messages.h"
#include "raft/log_store.h"
#include "raft/membership.h"

namespace bazaar::raft {

enum class RaftRole : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* to_string(RaftRole r);

struct RaftConfig {
  std::uint32_t id = 1;
  /// The voters of the configuration the replica starts with while its store holds no committed
  /// configuration entry (LogStore::config_index() is 0): a new cluster's replicas, from --peers.
  /// Once one has committed, the log's configuration is the one in force (membership()).
  std::vector<std::uint32_t> members;
  /// Where each of `members` accepts replication (may be empty: the core only passes them on
  /// in membership(), for the I/O shell).
  std::map<std::uint32_t, std::string> endpoints;
  std::uint64_t heartbeat_ms = 50;
  /// A follower that hears no leader for election_ms (plus its priority delay and a random
  /// jitter below jitter_ms) campaigns. Replicas with a higher id get a shorter delay: each id
  /// above this one adds priority_step_ms, so the highest live up-to-date replica campaigns first.
  std::uint64_t election_ms = 300;
  std::uint64_t priority_step_ms = 150;
  std::uint64_t jitter_ms = 100;
  std::size_t max_batch = 2048;  // entries per AppendEntries
  /// Appends with entries in flight to one peer at once while it lacks a full batch or more (it
  /// is catching up): its disk writes one batch while the leader reads and sends the next. A
  /// peer that keeps up has one in flight, so the entries proposed meanwhile go as one batch.
  std::size_t max_inflight = 4;
  /// Entries kept in memory once persisted and applied (the newest ones): appends to followers
  /// that keep up, and term checks near the end of the log, never touch the store. Older entries
  /// are read from the store, in batches of max_batch. Entries not yet persisted or not yet
  /// applied stay in memory whatever this says.
  std::size_t cache_entries = 50000;
  std::uint64_t seed = 1;  // for the jitter
  /// A replica that starts with an empty store to join a running cluster (it lost its disk, or
  /// it is new: docs/REPLICATION.md, "Replacing a replica"). Until it has caught up with a
  /// leader (it holds that leader's commit index) it neither campaigns nor grants a vote, and it
  /// records a vote for each leader it follows, so that in that leader's term it cannot vote
  /// again, whatever it voted before it lost its state. The leader counts its acknowledgements
  /// as any follower's: they stand for entries on its new disk.
  bool joining = false;
  /// Leadership transfer (Raft thesis §3.10), so the highest live up-to-date id leads also after
  /// it rejoins: a leader hands office to the highest peer above its own id that is alive (a
  /// reply within two heartbeats) and has kept up (never behind the commit index for more than
  /// two heartbeats) for transfer_stable_ms without a break. An attempt that has not ended
  /// within election_ms is abandoned; after any attempt the leader waits transfer_backoff_ms
  /// before the next, so a target that cannot win costs at most one pause per back-off.
  bool transfer = true;
  std::uint64_t transfer_stable_ms = 500;
  std::uint64_t transfer_backoff_ms = 5000;
};

using PeerMessage = std::variant<proto::RequestVote, proto::VoteReply, proto::AppendEntries,
                                 proto::AppendReply, proto::TimeoutNow>;

struct Outgoing {
  std::uint32_t to = 0;
  PeerMessage message;
};

/// The work the I/O shell must do, in this order: write log_write() to the store (hard state,
/// truncation, entries from `first_index`, commit index: one durable write), together with the
/// caller's own effects of applying `committed` (the order replica numbers its orders in the
/// same transaction); then send `messages` and act on the commit (answer clients); then call
/// RaftCore::advance(). Sending before persisting would let a replica promise what a crash could
/// take back; the core refuses any input until advance() (see RaftCore).
struct Ready {
  std::optional<HardState> hard_state;
  std::optional<std::uint64_t> truncate_from;
  std::uint64_t first_index = 0;  // index of entries[0]
  std::vector<proto::LogEntry> entries;
  std::vector<Outgoing> messages;
  std::uint64_t commit_index = 0;
  bool commit_changed = false;
  /// Entries newly committed, to apply in order: committed_first, committed_first + 1, ...
  /// Every committed entry is handed out once, in exactly one Ready. They may include entries of
  /// this same Ready's `entries` (written in the same store write).
  std::uint64_t committed_first = 0;
  std::vector<proto::LogEntry> committed;
  /// The latest configuration entry among `committed`, if any: the latest committed
  /// configuration, which the store keeps (LogStore::config_index()) for a restart.
  std::optional<std::uint64_t> config_index;
  bool empty() const {
    return !hard_state && !truncate_from && entries.empty() && messages.empty() &&
           !commit_changed && committed.empty() && !config_index;
  }
  /// What the store must make durable (nothing when the Ready only sends).
  LogWrite log_write() const;
};

enum class ProposeOutcome : std::uint8_t {
  kAccepted,
  kNotLeader,
  kTransferring,  // this leader is handing office to another replica: nothing was appended
};

enum class MembershipOutcome : std::uint8_t {
  kAccepted,   // appended: in force once it commits
  kUnchanged,  // the configuration in force is that one already: nothing was appended
  kNotLeader,
  kTransferring,  // as ProposeOutcome::kTransferring
  kPending,       // a change (or this leader's first entry) has not committed yet: retry later
  kInvalid,       // not a change of one replica (ChangeKind::kInvalid)
};
const char* to_string(MembershipOutcome o);

/// One replica's Raft state. Not thread-safe: one owner. Times are milliseconds on any monotonic
/// clock the caller chooses.
///
/// The log lives in two places: entries up to some index in the caller's LogStore, which the
/// core only reads, and a bounded tail in memory (RaftConfig::cache_entries) that holds every
/// entry not yet persisted. The caller writes each Ready into that store before advance(); the
/// core checks at advance() that it did, and throws std::logic_error on any input (tick,
/// receive, propose, confirm_leadership, set_healthy) or take_ready() between a take_ready() and
/// its advance(): "persist before the next input" is checked, not promised. A store that throws
/// on a read (a disk error) throws through the core; its owner must then stop.
class RaftCore {
 public:
  /// Restarts from what `store` holds (its hard state, log and commit index), which the caller
  /// has applied up to its commit index. `store` must outlive the core; the core keeps nothing
  /// of the log in memory at start, so a restart costs the same whatever the history.
  RaftCore(RaftConfig config, const LogStore& store, std::uint64_t now_ms);

  /// Advances the clock: election timeouts, heartbeats, check-quorum.
  void tick(std::uint64_t now_ms);
  /// Delivers a message from a peer.
  void receive(const PeerMessage& message, std::uint64_t now_ms);
  /// As leader, appends `entry` (its term is set here; nothing else of it is read); `index` gets
  /// its position. The entry goes to the peers with the next take_ready(), together with
  /// everything else proposed meanwhile. During a leadership transfer: kTransferring (retry
  /// shortly: the transfer ends within an election timeout, one way or the other). Anywhere else:
  /// kNotLeader.
  ProposeOutcome propose(proto::LogEntry entry, std::uint64_t& index);
  /// As leader, appends a configuration entry that changes the configuration in force to `next`
  /// (one replica added as a learner, promoted, or removed: Membership::change_to), in force at
  /// once, and sets `index` to its position. One change at a time: refused (kPending) until the
  /// last one has committed and, after an election, until this leader's first entry has (the
  /// rule that keeps single-server changes safe across leader changes, Raft thesis §4.1 and its
  /// errata).
  /// The leader proposes the promotion of a learner itself, once the learner has kept up with
  /// the commit index for two heartbeats. A leader that removes itself does not count itself
  /// from then on; once the removal has committed it stays in office only to hand it over: it
  /// takes no proposals (kTransferring) and sends TimeoutNow to the voter holding most of the
  /// log once that voter holds all of it.
  MembershipOutcome propose_membership(const Membership& next, std::uint64_t& index);
  /// Hands over (and clears) what has accumulated since the last call; as leader, first queues
  /// one append per peer for the entries proposed since the last call. The next input must wait
  /// for advance().
  Ready take_ready();
  /// The last Ready was written to the store and its messages handed on. Throws
  /// std::logic_error when no Ready is outstanding, or when the store does not hold what the
  /// Ready asked for (its last index, hard state or commit index differ). Then trims the
  /// in-memory tail to its bound.
  void advance();

  /// Read confirmation (the leadership check of ReadIndex, Raft thesis §6.4). As leader: starts a
  /// round of heartbeats stamped with a new round number and returns it (0 anywhere else). The
  /// round is confirmed (confirmed_round() reaches it) once a majority, this leader included, has
  /// answered it in this term. A majority that answered after the round began had not voted for
  /// a newer leader, so whatever such a leader commits comes after the read: answering "no such
  /// entry" from this log then is linearizable. Needs no clock. Several reads share one round.
  std::uint64_t confirm_leadership();
  /// The highest round a majority has answered in this term (0 off office or before any).
  std::uint64_t confirmed_round() const;

  /// Whether this replica could serve as leader now: the caller decides (for an order replica,
  /// the catalog answers it). Followers report it in every AppendReply. A leader hands office
  /// (RaftConfig::transfer) only to a healthy peer that keeps up: upwards while it is healthy
  /// itself; to the highest such peer of any id once it has been unhealthy for
  /// transfer_stable_ms (so peers that lose the same service a moment later have said so by
  /// then, and are passed over). Healthy until told otherwise; not persisted (a restarted
  /// replica is healthy until its caller says otherwise).
  void set_healthy(bool healthy, std::uint64_t now_ms);
  bool healthy() const { return !unhealthy_since_; }

  RaftRole role() const { return role_; }
  /// The configuration in force: that of the latest configuration entry in the log, committed or
  /// not (Raft thesis §4.1: a replica uses a configuration as soon as it holds its entry), or
  /// RaftConfig's while the log has none. A truncation can take it back to the one before. The
  /// I/O shell reads it after each Ready to connect to new peers.
  const Membership& membership() const { return membership_; }
  /// Log index of the configuration in force (0: RaftConfig's); committed once commit_index()
  /// reaches it.
  std::uint64_t membership_index() const { return membership_index_; }
  /// Not a voter of the configuration in force (a learner, or removed): never campaigns.
  bool learner() const { return !membership_.is_voter(config_.id); }
  /// Still joining (RaftConfig::joining): not yet caught up with a leader, so no votes.
  bool joining() const { return joining_; }
  std::uint64_t term() const { return hard_.term; }
  std::int32_t leader_id() const { return leader_; }
  /// As follower: a leader of this term was heard within an election timeout of `now_ms`.
  bool hears_leader(std::uint64_t now_ms) const {
    return role_ == RaftRole::kFollower && leader_ >= 0 && heard_leader_ &&
           now_ms - last_leader_contact_ < config_.election_ms;
  }
  std::uint32_t id() const { return config_.id; }
  const RaftConfig& config() const { return config_; }
  std::uint64_t commit_index() const { return commit_; }
  /// The highest index handed out in Ready::committed (the caller has applied it after advance).
  std::uint64_t applied_index() const { return applied_; }
  std::uint64_t last_index() const { return tail_first_ + tail_.size() - 1; }
  /// The term of entry `index`; 0 for index 0 and past the end. Reads the store below the tail.
  std::uint64_t term_at(std::uint64_t index) const;
  /// Entries lo..hi-1 (1 <= lo <= hi <= last_index() + 1), from the tail or the store.
  std::vector<proto::LogEntry> entries(std::uint64_t lo, std::uint64_t hi) const;
  /// Entry at 1-based `index` (1..last_index()).
  proto::LogEntry entry(std::uint64_t index) const { return entries(index, index + 1).front(); }
  /// Entries held in memory (the tail), for the metrics and the memory bound's tests.
  std::size_t cached_entries() const { return tail_.size(); }
  /// The replica this leader is handing office to, while a transfer is under way (proposals are
  /// refused meanwhile); nullopt otherwise, and always on a non-leader.
  std::optional<std::uint32_t> transfer_target() const {
    return transfer_ ? std::optional<std::uint32_t>(transfer_->target) : std::nullopt;
  }

  /// Totals since start (metrics): elections this replica started (pre-votes not counted), the
  /// ones it won, and leadership transfers it began as leader.
  struct Counters {
    std::uint64_t elections_started = 0;
    std::uint64_t elections_won = 0;
    std::uint64_t transfers_started = 0;
  };
  const Counters& counters() const { return counters_; }
  /// As leader, the match index of every peer (the log prefix it is known to hold); empty on a
  /// non-leader.
  std::map<std::uint32_t, std::uint64_t> match_indexes() const;

 private:
  struct Progress {
    std::uint64_t next = 1;   // the first entry not yet sent (sent entries count as received)
    std::uint64_t match = 0;  // the peer is known to hold the log up to here
    struct Inflight {
      std::uint64_t first = 0;  // entries first..last, sent at `sent`
      std::uint64_t last = 0;
      std::uint64_t sent = 0;
    };
    // Appends with entries not yet acknowledged, oldest first; at most max_inflight.
    std::deque<Inflight> inflight;
    /// The first entry the peer has not acknowledged: where a resend or a heartbeat's prefix
    /// check starts.
    std::uint64_t oldest_unacked() const {
      return inflight.empty() ? next : inflight.front().first;
    }
    // Until an append succeeds (after election, a refusal or a lost append) the peer's position
    // is a guess: one append at a time, as etcd raft's probe state, so refusals of a pipeline
    // sent on a wrong guess cannot multiply.
    bool probing = true;
    std::uint64_t last_heard = 0;
    // Transfer eligibility (see RaftConfig::transfer). `replied`: heard in this term at all.
    bool replied = false;
    std::optional<std::uint64_t> behind_since;  // match below the commit index since then
    std::optional<std::uint64_t> steady_since;  // alive and keeping up without a break since
    std::uint64_t round = 0;                    // highest read round it answered, this term
    bool healthy = true;                        // as of its latest AppendReply
  };
  // A leadership transfer under way: proposals are refused until it ends (see drive_transfer).
  struct Transfer {
    std::uint32_t target = 0;       // the peer that is to lead
    std::uint64_t started = 0;      // abandoned election_ms after this
    bool timeout_now_sent = false;  // TimeoutNow goes once per transfer
  };

  /// Throws std::logic_error while a Ready waits for advance() (see the class comment).
  void check_input() const;
  bool up_to_date(std::uint64_t last_index, std::uint64_t last_term) const;
  std::size_t majority() const { return membership_.voter_count() / 2 + 1; }
  /// Hands out the entries committed since the last Ready (into ready_.committed), putting the
  /// configuration entries among them in force.
  void apply_committed();
  /// Puts the configuration of configs_.back() in force: the leader's peers follow it.
  void apply_membership();
  /// As leader: proposes the promotion of a learner that keeps up (see propose_membership()).
  void promote_learners(std::uint64_t now_ms);
  /// The voters other than this replica (who gets vote requests).
  std::vector<std::uint32_t> other_voters() const;
  void reset_election_timer(std::uint64_t now_ms);
  void become_follower(std::uint64_t term, std::int32_t leader, std::uint64_t now_ms);
  void start_pre_vote(std::uint64_t now_ms);
  void start_election(std::uint64_t now_ms, bool transfer);
  void become_leader(std::uint64_t now_ms);
  void set_term(std::uint64_t term);
  void send(std::uint32_t to, PeerMessage m);
  void send_append(std::uint32_t peer, std::uint64_t now_ms, bool heartbeat_only);
  /// Whether `p` may be sent an append with entries now (see RaftConfig::max_inflight).
  bool may_send_entries(const Progress& p) const;
  void broadcast_append(std::uint64_t now_ms, bool heartbeat);
  void advance_commit();
  void set_commit(std::uint64_t index);
  void append_local(proto::LogEntry e);
  void truncate_local(std::uint64_t from);
  void watch_peers(std::uint64_t now_ms);
  /// Whether peer `p` has been alive and not behind the commit index for longer than two
  /// heartbeats (watch_peers keeps the figures).
  bool keeps_up(const Progress& p, std::uint64_t now_ms) const;
  void drive_transfer(std::uint64_t now_ms);
  void end_transfer(std::uint64_t now_ms);

  void on_request_vote(const proto::RequestVote& m, std::uint64_t now_ms);
  void on_vote_reply(const proto::VoteReply& m, std::uint64_t now_ms);
  void on_append(const proto::AppendEntries& m, std::uint64_t now_ms);
  /// Answers `m` with a refusal and the index the leader should try next.
  void refuse_append(const proto::AppendEntries& m, std::uint64_t next_index);
  void on_append_reply(const proto::AppendReply& m, std::uint64_t now_ms);
  void on_timeout_now(const proto::TimeoutNow& m, std::uint64_t now_ms);

  RaftConfig config_;
  const LogStore& store_;
  HardState hard_;
  // The in-memory tail: tail_[0] is entry tail_first_. Every entry below tail_first_ is in the
  // store and part of this log; every entry not yet persisted is in the tail.
  std::deque<proto::LogEntry> tail_;
  std::uint64_t tail_first_ = 1;
  std::uint64_t commit_ = 0;
  std::uint64_t applied_ = 0;  // handed out in Ready::committed up to here
  // The latest committed configuration (front; its index is persisted as
  // LogWrite::config_index) and every configuration entry after it, uncommitted, ascending. The
  // last is in force (membership_); a truncation drops the ones it cuts.
  std::deque<std::pair<std::uint64_t, Membership>> configs_;
  Membership membership_;  // configs_.back()
  std::uint64_t membership_index_ = 0;
  // Leader only: no configuration change is proposed until the commit index reaches this (the
  // last configuration entry proposed, or the last index when elected: its term's first entry).
  std::uint64_t pending_config_ = 0;
  RaftRole role_ = RaftRole::kFollower;
  std::int32_t leader_ = -1;
  std::uint64_t election_deadline_ = 0;
  std::uint64_t last_leader_contact_ = 0;  // when a leader was last heard (pre-vote lease)
  bool heard_leader_ = false;
  bool joining_ = false;  // RaftConfig::joining until caught up; not persisted (see on_append)
  std::uint64_t next_heartbeat_ = 0;
  std::set<std::uint32_t> votes_;
  std::map<std::uint32_t, Progress> progress_;  // leader only, peers only
  std::optional<Transfer> transfer_;            // leader only: a transfer under way
  std::uint64_t next_transfer_ms_ = 0;          // no transfer starts before (back-off)
  std::uint64_t now_ = 0;                       // time of the latest tick or message
  std::uint64_t round_ = 0;  // latest read-confirmation round (only grows, across terms too)
  std::mt19937_64 rng_;
  Ready ready_;
  bool ready_outstanding_ = false;  // a Ready was taken and not yet advance()d
  HardState ready_hard_;            // what the outstanding Ready leaves persisted (advance checks)
  std::uint64_t ready_last_ = 0;
  std::uint64_t ready_commit_ = 0;
  bool hard_dirty_ = false;
  std::optional<std::uint64_t> unhealthy_since_;  // see set_healthy()
  Counters counters_;
};

}  // namespace bazaar::raft
