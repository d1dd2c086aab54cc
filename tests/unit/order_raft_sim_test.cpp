// Deterministic simulation of the replication core (raft/raft_core.h).
//
// Three replicas exchange messages through a simulated network that delays, drops, duplicates
// and reorders them, and partitions replicas from each other; replicas crash and restart from
// what they persisted, at times between the write of a Ready's entries and the write of its commit
// index. After every step the checker holds the run to Raft's safety properties:
// election safety, log matching, leader completeness and state-machine safety, plus the apply
// rule (every committed entry is handed out in a Ready once, in order, and again after a crash
// only past what the store's commit index covered), and the leadership
// transfer rules (TimeoutNow only from a leader of that term, only to a higher id; proposals
// refused only during a transfer). Crashes favour the highest id, so it often rejoins under a
// lower-id leader and takes office back by transfer; every run counts the transfers it saw. At
// the end the network heals and every replica must converge on one committed log.
//
// A failing seed is printed and replays exactly (with the filter of its test):
//   BAZAAR_SIM_SEED=1234 build/bin/bazaar-order-unit-tests --gtest_filter='RaftSim.*'
// Many more seeds than CI runs:
//   BAZAAR_SIM_SEEDS=100000 build/bin/bazaar-order-unit-tests --gtest_filter='RaftSim.*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "raft/memory_log_store.h"
#include "raft/raft_core.h"
#include "raft_test_support.h"

namespace bazaar::order {
namespace {

struct SimParams {
  int replicas = 3;
  std::uint64_t duration_ms = 3000;  // with faults
  std::uint64_t heal_ms = 2000;      // without, at the end
  double drop = 0.05;
  double duplicate = 0.03;
  std::uint64_t max_delay_ms = 30;
  double crash_per_ms = 0.0008;
  double restart_per_ms = 0.004;
  double partition_per_ms = 0.0005;
  double heal_per_ms = 0.002;
  double propose_per_ms = 0.15;
  // Of the Readies that move the commit index, this share is written in two steps (entries and
  // hard state, then the commit index), and of those this share crashes the replica in between.
  double split_write = 0.3;
  double crash_in_split = 0.05;
  // Of the crashes, this share hits the highest id (the rest: any replica), so transfers happen.
  double crash_highest = 0.5;
  std::uint64_t transfer_stable_ms = raft::RaftConfig{}.transfer_stable_ms;
  std::uint64_t transfer_backoff_ms = raft::RaftConfig{}.transfer_backoff_ms;
  // After healing, the highest id must lead (the goal of transfers; needs a back-off well below
  // heal_ms, or one failed attempt just before the heal could delay it past the end).
  bool highest_leads_at_end = false;
  // Membership changes (RaftCore::propose_membership): `spare` more ids that may be added; the
  // leader is asked this often to add one (as a learner: it promotes it itself) or to remove a
  // member (never below three voters); a removed replica is stopped and its disk wiped soon
  // after. And this often a member loses its disk and rejoins (RaftConfig::joining), one at a
  // time (a second wipe before the first has caught up could lose a majority's copies).
  int spare = 0;
  double change_per_ms = 0;
  double wipe_per_ms = 0;
};

struct Node {
  bool up = true;
  bool outside = false;      // not started, or removed and wiped: only an add brings it in
  bool join = false;         // starts as joining whenever its disk is empty (bazaar-order --join)
  bool catching_up = false;  // wiped or added, and not yet seen caught up (up and not joining)
  std::uint64_t started = 0;
  std::unique_ptr<raft::MemoryLogStore> disk = std::make_unique<raft::MemoryLogStore>();
  std::unique_ptr<raft::RaftCore> core;
  std::uint64_t applied = 0;  // entries applied; what survives a crash: the store's commit index
};

struct Packet {
  std::uint64_t at;
  std::uint64_t seq;  // tie-break: deterministic order for equal times
  std::uint32_t from;
  std::uint32_t to;
  raft::PeerMessage message;
  bool operator>(const Packet& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

class Simulation {
 public:
  Simulation(std::uint64_t seed, SimParams params) : params_(params), rng_(seed), seed_(seed) {
    for (int i = 1; i <= params_.replicas; ++i) voters_.push_back(static_cast<std::uint32_t>(i));
    for (int i = 1; i <= params_.replicas + params_.spare; ++i) {
      members_.push_back(static_cast<std::uint32_t>(i));
    }
    for (auto id : members_) {
      Node& n = nodes_[id];
      if (id <= voters_.size()) {
        n.core = make_core(id, n);
      } else {
        n.up = false;
        n.outside = true;
        n.join = true;
      }
    }
  }

  /// Runs the seed; returns "" or the first violation found.
  std::string run() {
    for (now_ = 1; now_ <= params_.duration_ms + params_.heal_ms && error_.empty(); ++now_) {
      const bool faults = now_ <= params_.duration_ms;
      if (faults)
        inject_faults();
      else
        heal_all();
      deliver_due(faults);
      for (auto id : members_) {
        Node& n = nodes_[id];
        if (!n.up) continue;
        n.core->tick(now_);
        drain(id, faults);
      }
      if (faults && chance(params_.propose_per_ms)) propose(faults);
      if (faults && chance(params_.change_per_ms)) change_membership(faults);
      if (faults && chance(params_.wipe_per_ms)) wipe();
      stop_removed();
      check();
    }
    if (error_.empty()) check_converged();
    return error_;
  }

  std::uint64_t committed() const { return committed_.size(); }
  /// Elections won by a transfer target (RequestVote.transfer) and TimeoutNow messages sent.
  std::uint64_t transfers_won() const { return transfers_won_; }
  std::uint64_t timeout_nows() const { return timeout_nows_; }
  std::uint64_t refused() const { return refused_; }
  /// Configuration changes committed (as seen by the leaders that applied them) and wipes.
  std::uint64_t changes() const { return changes_.size(); }
  std::uint64_t wipes() const { return wipes_; }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::uint32_t pick() {
    return members_[std::uniform_int_distribution<std::size_t>(0, members_.size() - 1)(rng_)];
  }

  std::unique_ptr<raft::RaftCore> make_core(std::uint32_t id, const Node& n) {
    raft::RaftConfig c;
    c.id = id;
    c.members = voters_;
    c.seed = seed_;
    c.joining = n.join && n.disk->last_index() == 0 && n.disk->hard_state().term == 0;
    c.max_batch = 16;  // small batches: catch-up takes several rounds
    c.transfer_stable_ms = params_.transfer_stable_ms;
    c.transfer_backoff_ms = params_.transfer_backoff_ms;
    c.cache_entries = 8;  // a small tail: appends and terms are often read from the store
    return std::make_unique<raft::RaftCore>(c, *n.disk, now_);
  }

  void fail(const std::string& what) {
    if (!error_.empty()) return;
    std::ostringstream o;
    o << "seed " << seed_ << " at " << now_ << " ms: " << what;
    error_ = o.str();
  }

  void inject_faults() {
    if (chance(params_.crash_per_ms)) {
      const auto id = chance(params_.crash_highest) ? members_.back() : pick();
      if (nodes_[id].up) crash(id);
    }
    for (auto id : members_) {
      Node& n = nodes_[id];
      if (!n.up && !n.outside && chance(params_.restart_per_ms)) restart(id);
    }
    if (chance(params_.partition_per_ms)) {
      // Cut one replica off from everyone (both directions).
      isolated_ = pick();
    }
    if (isolated_ && chance(params_.heal_per_ms)) isolated_ = 0;
  }

  void heal_all() {
    isolated_ = 0;
    for (auto id : members_) {
      Node& n = nodes_[id];
      if (!n.up && !n.outside) restart(id);
    }
  }

  const raft::RaftCore* leader() const {
    for (const auto& [id, n] : nodes_) {
      if (n.up && n.core->role() == raft::RaftRole::kLeader) return n.core.get();
    }
    return nullptr;
  }

  // An operator's change at the leader: add a replica not in its configuration (started at once,
  // joining; the leader promotes it once it has caught up), or remove a member.
  void change_membership(bool faults) {
    const raft::RaftCore* l = leader();
    if (l == nullptr) return;
    const raft::Membership& cfg = l->membership();
    std::vector<std::uint32_t> out, removable;
    for (auto id : members_) {
      const raft::Member* m = cfg.find(id);
      if (m == nullptr) {
        out.push_back(id);
      } else if (!m->voter || cfg.voter_count() > 3) {
        removable.push_back(id);
      }
    }
    raft::Membership next;
    std::uint32_t added = 0;
    if (!out.empty() && (removable.empty() || chance(0.5))) {
      added = out[std::uniform_int_distribution<std::size_t>(0, out.size() - 1)(rng_)];
      next = cfg.with({.id = added, .voter = false, .endpoint = ""});
    } else if (!removable.empty()) {
      next = cfg.without(
          removable[std::uniform_int_distribution<std::size_t>(0, removable.size() - 1)(rng_)]);
    } else {
      return;
    }
    std::uint64_t index = 0;
    const std::uint32_t id = l->id();
    const auto outcome = nodes_[id].core->propose_membership(next, index);
    if (outcome == raft::MembershipOutcome::kInvalid) fail("a change of one replica refused");
    if (outcome != raft::MembershipOutcome::kAccepted) return;
    if (added != 0 && !nodes_[added].up) {
      Node& n = nodes_[added];
      n.outside = false;
      n.join = true;
      n.catching_up = true;
      restart(added);
      n.started = now_;
    }
    if (chance(0.5)) drain(id, faults);
  }

  // A replica that no configuration in force holds is stopped and its disk wiped (as
  // launch/bazaar remove-replica does), unless it was started for an add that may still commit;
  // one the leader's configuration holds runs.
  void stop_removed() {
    const raft::RaftCore* l = leader();
    if (l == nullptr) return;
    for (auto id : members_) {
      Node& n = nodes_[id];
      if (n.outside && l->membership().contains(id)) {
        // An add whose entry committed after all, under a later leader (its replica was stopped
        // meanwhile): the operator starts it again, as asking again would tell them to.
        n.outside = false;
        restart(id);
        n.started = now_;
        continue;
      }
      if (n.outside || l->membership().contains(id) || now_ - n.started < 1000) continue;
      bool anywhere = false;  // still in the configuration some replica has in force
      for (const auto& [other, o] : nodes_) {
        anywhere |= o.up && o.core->membership().contains(id) && other != id;
      }
      if (anywhere) continue;
      crash(id);
      n.disk = std::make_unique<raft::MemoryLogStore>();
      n.outside = true;
      n.catching_up = false;
      checked_[id] = 0;
    }
  }

  // A member loses its disk and rejoins (launch/bazaar replace), while no other is catching up.
  void wipe() {
    // One impaired replica at a time: none catching up, none removed but still running.
    for (const auto& [id, n] : nodes_) {
      if (n.catching_up || (n.up && !n.core->membership().contains(id))) return;
    }
    const std::uint32_t id = pick();
    Node& n = nodes_[id];
    if (n.outside || !n.up) return;
    crash(id);
    n.disk = std::make_unique<raft::MemoryLogStore>();
    n.join = true;
    n.catching_up = true;
    checked_[id] = 0;
    ++wipes_;
    restart(id);
  }

  void crash(std::uint32_t id) {
    if (!nodes_[id].up) return;
    nodes_[id].up = false;
    nodes_[id].core.reset();  // volatile state is gone
  }
  void restart(std::uint32_t id) {
    Node& n = nodes_[id];
    n.up = true;
    n.core = make_core(id, n);
    // The applied state is written with the commit index (as the order replica's is).
    n.applied = n.disk->commit_index();
  }

  bool link_up(std::uint32_t a, std::uint32_t b) const { return isolated_ != a && isolated_ != b; }

  // Applies a Ready like the I/O shell: persist first (the store refuses a write that breaks a
  // rule: a hole, a committed entry removed, a term or commit going back), apply, then send.
  void drain(std::uint32_t id, bool faults) {
    Node& n = nodes_[id];
    raft::Ready r = n.core->take_ready();
    raft::LogWrite w = r.log_write();
    if (faults && w.commit_index && chance(params_.split_write)) {
      raft::LogWrite commit_only;
      commit_only.commit_index = w.commit_index;
      commit_only.config_index = w.config_index;  // never past the commit index
      w.commit_index.reset();
      w.config_index.reset();
      if (!write(id, w)) return;
      if (chance(params_.crash_in_split)) {
        crash(id);  // the entries are on disk, the commit index is not
        return;
      }
      if (!write(id, commit_only)) return;
    } else if (!write(id, w)) {
      return;
    }
    if (!r.committed.empty()) {
      if (r.committed_first != n.applied + 1)
        fail("replica " + std::to_string(id) + " handed out entry " +
             std::to_string(r.committed_first) + " to apply after " + std::to_string(n.applied));
      n.applied = r.committed_first + r.committed.size() - 1;
      if (n.applied != r.commit_index) fail("committed entries end below the commit index");
    }
    n.core->advance();
    // The core's tail and the store agree at the end of the log.
    if (n.disk->last_index() != n.core->last_index() ||
        (n.disk->last_index() > 0 &&
         n.disk->term(n.disk->last_index()) != n.core->term_at(n.core->last_index()))) {
      fail("disk log differs from memory on " + std::to_string(id));
    }
    for (auto& out : r.messages) {
      note_sent(id, out);
      if (faults && chance(params_.drop)) continue;
      const int copies = faults && chance(params_.duplicate) ? 2 : 1;
      for (int c = 0; c < copies; ++c) {
        const std::uint64_t delay = 1 + (faults ? std::uniform_int_distribution<std::uint64_t>(
                                                      0, params_.max_delay_ms)(rng_)
                                                : 1);
        queue_.push_back({now_ + delay, ++packet_seq_, id, out.to, out.message});
        std::push_heap(queue_.begin(), queue_.end(), std::greater<>());
      }
    }
  }

  bool write(std::uint32_t id, const raft::LogWrite& w) {
    const raft::WriteOutcome o = nodes_[id].disk->write(w);
    if (o != raft::WriteOutcome::kWritten) {
      fail(std::string("replica ") + std::to_string(id) +
           " wrote what its store refuses: " + raft::to_string(o));
      crash(id);  // as the server does: it cannot go on from a log it cannot trust
    }
    return o == raft::WriteOutcome::kWritten;
  }

  void deliver_due(bool faults) {
    while (!queue_.empty() && queue_.front().at <= now_) {
      std::pop_heap(queue_.begin(), queue_.end(), std::greater<>());
      Packet p = std::move(queue_.back());
      queue_.pop_back();
      if (!nodes_[p.to].up || !link_up(p.from, p.to)) continue;
      nodes_[p.to].core->receive(p.message, now_);
      drain(p.to, faults);
    }
  }

  // A burst of one to three orders at a leader, as from one catalog batch. As in the server,
  // they go out with the node's next drain: at once, or (half the time) after the messages and
  // the tick of the next millisecond, and a crash before that loses them.
  void propose(bool faults) {
    for (auto id : members_) {
      Node& n = nodes_[id];
      if (!n.up || n.core->role() != raft::RaftRole::kLeader) continue;
      for (int k = std::uniform_int_distribution<int>(1, 3)(rng_); k > 0; --k) {
        proto::LogEntry e;
        e.kind = proto::LogEntry::kOrder;
        e.request_id = "r" + std::to_string(++proposals_);
        e.name = "Tux";
        e.quantity = 1;
        std::uint64_t index = 0;
        const auto outcome = n.core->propose(e, index);
        if (outcome == raft::ProposeOutcome::kTransferring && n.core->transfer_target()) {
          ++refused_;  // the one reason a leader may refuse
        } else if (outcome != raft::ProposeOutcome::kAccepted) {
          fail("leader refused a proposal outside a transfer");
        }
      }
      if (chance(0.5)) drain(id, faults);
      return;
    }
  }

  // Transfer rules, checked on every message as it leaves.
  void note_sent(std::uint32_t from, const raft::Outgoing& out) {
    const raft::RaftCore& c = *nodes_[from].core;
    if (const auto* t = std::get_if<proto::TimeoutNow>(&out.message); t && c.learner()) {
      // A leader whose removal is in force hands office to a voter that remains, whatever its id.
      if (c.role() != raft::RaftRole::kLeader || t->term != c.term() || t->leader != from ||
          !c.membership().is_voter(out.to) || c.transfer_target() != out.to) {
        fail("TimeoutNow from removed leader " + std::to_string(from) + " is not a hand-over");
      }
      return;
    }
    if (const auto* t = std::get_if<proto::TimeoutNow>(&out.message)) {
      ++timeout_nows_;
      if (c.role() != raft::RaftRole::kLeader || t->term != c.term() || t->leader != from)
        fail("TimeoutNow from " + std::to_string(from) + ", not the leader of its term");
      if (out.to <= from)
        fail("transfer from " + std::to_string(from) + " to lower id " + std::to_string(out.to));
      // (A transfer ends when a configuration removes its target after TimeoutNow was queued.)
      if (c.transfer_target() && c.transfer_target() != out.to)
        fail("TimeoutNow to a replica that is not the target");
    }
    if (const auto* v = std::get_if<proto::RequestVote>(&out.message); v && v->transfer) {
      if (v->pre_vote) fail("a pre-vote marked as a transfer election");
      transfer_elections_[v->term] = from;
    }
    if (c.transfer_target() && c.role() != raft::RaftRole::kLeader)
      fail("a non-leader with a transfer under way");
  }

  void check() {
    for (auto id : members_) {
      Node& n = nodes_[id];
      if (!n.up) continue;
      const raft::RaftCore& c = *n.core;
      // Election safety: at most one leader per term, ever.
      if (c.role() == raft::RaftRole::kLeader) {
        auto [it, fresh] = leaders_.emplace(c.term(), id);
        if (!fresh && it->second != id) {
          fail("two leaders in term " + std::to_string(c.term()) + ": " +
               std::to_string(it->second) + " and " + std::to_string(id));
        }
        if (fresh) {
          auto t = transfer_elections_.find(c.term());
          if (t != transfer_elections_.end() && t->second == id) ++transfers_won_;
        }
        // Leader completeness: a new leader holds every entry committed before it.
        if (fresh) {
          if (c.last_index() < committed_.size())
            fail("leader " + std::to_string(id) + " lacks committed entries");
          for (std::size_t i = 0; i < committed_.size() && i < c.last_index(); ++i) {
            if (!(c.entry(i + 1) == committed_[i]))
              fail("leader " + std::to_string(id) + " differs at committed index " +
                   std::to_string(i + 1));
          }
        }
      }
      if (c.membership_index() > 0) changes_.insert(c.membership_index());
      if (!c.joining()) n.catching_up = false;
      // State-machine safety: what any replica has committed agrees with what all others did.
      if (c.commit_index() > c.last_index()) fail("commit index past the log");
      std::uint64_t& checked = checked_[id];
      if (checked > c.commit_index()) checked = 0;  // restarted: check its committed prefix again
      for (std::uint64_t i = checked + 1; i <= c.commit_index(); ++i) {
        if (i <= committed_.size()) {
          if (!(c.entry(i) == committed_[i - 1]))
            fail("replica " + std::to_string(id) + " committed a different entry at " +
                 std::to_string(i));
        } else {
          committed_.push_back(c.entry(i));
        }
      }
      checked = c.commit_index();
    }
    // Log matching, every 64 ms (quadratic in the log): two logs with an entry of the same index
    // and term are identical up to it.
    if (now_ % 64 != 0) return;
    for (auto a : members_) {
      for (auto b : members_) {
        if (a >= b) continue;
        const auto la = log_of(a);
        const auto lb = log_of(b);
        const std::size_t n = std::min(la.size(), lb.size());
        std::size_t last_same = 0;
        for (std::size_t i = n; i > 0; --i) {
          if (la[i - 1].term == lb[i - 1].term) {
            last_same = i;
            break;
          }
        }
        for (std::size_t i = 0; i < last_same; ++i) {
          if (!(la[i] == lb[i])) {
            fail("log matching broken between " + std::to_string(a) + " and " + std::to_string(b) +
                 " at " + std::to_string(i + 1));
            return;
          }
        }
      }
    }
  }

  std::vector<proto::LogEntry> log_of(std::uint32_t id) {
    Node& n = nodes_[id];
    if (n.up) return n.core->entries(1, n.core->last_index() + 1);
    return n.disk->entries(1, n.disk->last_index() + 1, SIZE_MAX).entries;
  }

  void check_converged() {
    std::int32_t leaders = 0;
    for (auto id : members_) {
      leaders += nodes_[id].up && nodes_[id].core->role() == raft::RaftRole::kLeader ? 1 : 0;
    }
    if (leaders != 1) {
      std::string state;
      for (const auto& [id, n] : nodes_) {
        state += " [" + std::to_string(id) + ": ";
        if (!n.up) {
          state += n.outside ? "outside]" : "down]";
          continue;
        }
        const raft::RaftCore& c = *n.core;
        state += std::string(raft::to_string(c.role())) + (c.joining() ? " joining" : "") +
                 " term " + std::to_string(c.term()) + " commit " +
                 std::to_string(c.commit_index()) + " of " + std::to_string(c.last_index()) +
                 ", \"" + c.membership().encode() + "\"]";
      }
      fail("after healing: " + std::to_string(leaders) + " leaders;" + state);
      return;
    }
    // The replicas of the leader's configuration hold one committed log; no learner is left.
    const raft::Membership cfg = leader()->membership();
    for (const auto& m : cfg.members()) {
      if (m.voter) continue;
      const Node& n = nodes_[m.id];
      const auto match = leader()->match_indexes();
      fail("after healing: learner " + std::to_string(m.id) + " not promoted (" +
           (n.up ? n.core->joining() ? "joining" : "up" : "down") + ", match " +
           std::to_string(match.count(m.id) ? match.at(m.id) : 0) + " of commit " +
           std::to_string(leader()->commit_index()) + ", configuration \"" + cfg.encode() +
           "\" of index " + std::to_string(leader()->membership_index()) + ")");
    }
    std::vector<std::uint32_t> in;
    for (const auto& m : cfg.members()) in.push_back(m.id);
    if (params_.highest_leads_at_end &&
        nodes_[members_.back()].core->role() != raft::RaftRole::kLeader)
      fail("after healing: the highest id does not lead");
    for (auto id : in) {
      if (!nodes_[id].up) fail("after healing: member " + std::to_string(id) + " is down");
    }
    if (!error_.empty()) return;
    const raft::RaftCore& first = *nodes_[in[0]].core;
    for (auto id : in) {
      const raft::RaftCore& c = *nodes_[id].core;
      if (c.commit_index() != first.commit_index() || c.commit_index() != c.last_index()) {
        fail("after healing: replicas did not converge (replica " + std::to_string(id) +
             " commit " + std::to_string(c.commit_index()) + " of " +
             std::to_string(c.last_index()) + ", replica " + std::to_string(in[0]) + " commit " +
             std::to_string(first.commit_index()) + ")");
      }
    }
  }

  SimParams params_;
  std::mt19937_64 rng_;
  std::uint64_t seed_;
  std::vector<std::uint32_t> members_;  // every id that may run
  std::vector<std::uint32_t> voters_;   // the configuration replicas start with
  std::map<std::uint32_t, Node> nodes_;
  std::set<std::uint64_t> changes_;  // indexes of configuration entries some replica put in force
  std::uint64_t wipes_ = 0;
  std::vector<Packet> queue_;  // min-heap on (at, seq)
  std::uint64_t packet_seq_ = 0;
  std::uint64_t now_ = 0;
  std::uint32_t isolated_ = 0;
  std::uint64_t proposals_ = 0;
  std::map<std::uint64_t, std::uint32_t> leaders_;  // term -> leader
  std::vector<proto::LogEntry> committed_;          // the committed prefix all replicas agree on
  std::map<std::uint32_t, std::uint64_t> checked_;  // per replica: committed prefix checked
  std::map<std::uint64_t, std::uint32_t> transfer_elections_;  // term -> candidate
  std::uint64_t transfers_won_ = 0;
  std::uint64_t timeout_nows_ = 0;
  std::uint64_t refused_ = 0;
  std::string error_;
};

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

struct SimTotals {
  std::uint64_t seeds = 0, committed = 0, transfers = 0, timeout_nows = 0, refused = 0, changes = 0,
                wipes = 0;
};

// Runs BAZAAR_SIM_SEED alone, or `default_seeds` seeds (BAZAAR_SIM_SEEDS, from
// BAZAAR_SIM_FIRST_SEED) with `params`; records each failing seed with its replay line.
SimTotals run_seeds(const SimParams& params, std::uint64_t default_seeds, const char* filter) {
  SimTotals t;
  std::uint64_t first = env_or("BAZAAR_SIM_FIRST_SEED", 1);
  t.seeds = env_or("BAZAAR_SIM_SEEDS", default_seeds);
  if (const char* one = std::getenv("BAZAAR_SIM_SEED")) {
    first = std::strtoull(one, nullptr, 10);
    t.seeds = 1;
  }
  int failures = 0;
  for (std::uint64_t s = first; s < first + t.seeds && failures < 5; ++s) {
    Simulation sim(s, params);
    const std::string err = sim.run();
    t.committed += sim.committed();
    t.transfers += sim.transfers_won();
    t.timeout_nows += sim.timeout_nows();
    t.refused += sim.refused();
    t.changes += sim.changes();
    t.wipes += sim.wipes();
    if (!err.empty()) {
      ++failures;
      ADD_FAILURE() << err << "\n  replay: BAZAAR_SIM_SEED=" << s
                    << " build/bin/bazaar-order-unit-tests --gtest_filter='" << filter << "'";
    }
  }
  std::printf(
      "raft simulation: %llu seeds, %llu entries committed, %llu TimeoutNow sent, %llu transfer "
      "elections won, %llu proposals refused during a transfer, %llu configuration changes, %llu "
      "wipes\n",
      static_cast<unsigned long long>(t.seeds), static_cast<unsigned long long>(t.committed),
      static_cast<unsigned long long>(t.timeout_nows), static_cast<unsigned long long>(t.transfers),
      static_cast<unsigned long long>(t.refused), static_cast<unsigned long long>(t.changes),
      static_cast<unsigned long long>(t.wipes));
  return t;
}

TEST(RaftSim, SafetyHoldsUnderFaultsForManySeeds) {
  const SimTotals t = run_seeds({}, 1000, "RaftSim.SafetyHolds*");
  if (t.seeds == 1) return;
  // The runs must do real work, or they prove nothing.
  EXPECT_GT(t.committed, t.seeds * 50) << "too few entries committed";
  // Transfers must happen under faults too, or the safety checks never saw one.
  EXPECT_GT(t.transfers, t.seeds / 5) << "too few leadership transfers";
}

// The same faults with transfers as often as the rules allow (a short stabilising while and
// back-off), so transfers overlap crashes, partitions, lost and late messages much more often.
TEST(RaftSim, SafetyHoldsWithFrequentTransfers) {
  SimParams p;
  p.transfer_stable_ms = 100;
  p.transfer_backoff_ms = 200;
  p.crash_per_ms = 0.002;
  p.crash_highest = 0.8;
  p.restart_per_ms = 0.01;
  p.highest_leads_at_end = true;
  const SimTotals t = run_seeds(p, 120, "RaftSim.SafetyHoldsWithFrequent*");
  if (t.seeds == 1) return;
  EXPECT_GT(t.committed, t.seeds * 50) << "too few entries committed";
  EXPECT_GT(t.transfers, t.seeds / 2) << "too few leadership transfers";
}

// Issue 19: the same faults while the replica set changes (replicas added as learners and
// promoted, members removed, the leader among them) and members lose their disks and rejoin.
TEST(RaftSim, SafetyHoldsWithMembershipChangesAndWipes) {
  SimParams p;
  p.spare = 2;
  p.change_per_ms = 0.004;
  p.wipe_per_ms = 0.0004;
  const SimTotals t = run_seeds(p, 1000, "RaftSim.SafetyHoldsWithMembership*");
  if (t.seeds == 1) return;
  EXPECT_GT(t.committed, t.seeds * 50) << "too few entries committed";
  EXPECT_GT(t.changes, t.seeds * 3) << "too few configuration changes";
  EXPECT_GT(t.wipes, t.seeds / 4) << "too few wipes";
}

TEST(RaftSim, FaultFreeRunElectsHighestIdFirst) {
  SimParams quiet;
  quiet.drop = quiet.duplicate = quiet.crash_per_ms = quiet.partition_per_ms = 0;
  quiet.duration_ms = 2000;
  quiet.heal_ms = 500;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Simulation sim(seed, quiet);
    EXPECT_EQ(sim.run(), "");
    EXPECT_GT(sim.committed(), 100u);
  }
}

// A core over a store of its own; take() persists each Ready as the server does, before its
// messages go. The store outlives restarts of the core.
struct StoredCore {
  StoredCore(raft::RaftConfig c, std::uint64_t now) : config(std::move(c)) { restart(now); }
  void restart(std::uint64_t now) { core = std::make_unique<raft::RaftCore>(config, store, now); }
  raft::Ready take() { return raft::testing::persist(*core, store); }
  raft::RaftCore* operator->() { return core.get(); }
  raft::RaftConfig config;
  raft::MemoryLogStore store;
  std::unique_ptr<raft::RaftCore> core;
};

// Fresh cores for replicas 1..3, without election jitter (the highest id campaigns first).
std::map<std::uint32_t, StoredCore> fresh_cores(const std::vector<std::uint32_t>& members,
                                                bool transfer = true) {
  std::map<std::uint32_t, StoredCore> cores;
  for (auto id : members) {
    raft::RaftConfig c;
    c.id = id;
    c.members = members;
    c.jitter_ms = 0;
    c.transfer = transfer;
    c.cache_entries = 100;  // the 5,000 orders below reach a follower that was away from disk
    cores.try_emplace(id, c, 0);
  }
  return cores;
}

// The core alone, step by step: the highest id wins the first election, a replica that
// restarts does not unseat the leader, and a follower catches up in batches.
TEST(RaftCore, HighestIdLeadsAndRejoinDoesNotDisrupt) {
  std::vector<std::uint32_t> members{1, 2, 3};
  auto cores = fresh_cores(members);
  std::map<std::uint32_t, bool> up{{1, true}, {2, true}, {3, true}};
  auto pump = [&](std::uint64_t now) {
    for (int round = 0; round < 20; ++round) {
      bool any = false;
      for (auto id : members) {
        if (!up[id]) continue;
        raft::Ready r = cores.at(id).take();
        for (auto& m : r.messages) {
          if (!up[m.to]) continue;
          cores.at(m.to)->receive(m.message, now);
          any = true;
        }
      }
      if (!any) break;
    }
  };
  std::uint64_t now = 0;
  auto run_until = [&](std::uint64_t until) {
    for (; now < until; ++now) {
      for (auto id : members)
        if (up[id]) cores.at(id)->tick(now);
      pump(now);
    }
  };
  run_until(1000);
  EXPECT_EQ(cores.at(3)->role(), raft::RaftRole::kLeader);
  EXPECT_EQ(cores.at(1)->leader_id(), 3);
  const std::uint64_t term = cores.at(3)->term();

  // Follower 1 goes away, misses many orders, and comes back with what it had persisted.
  up[1] = false;
  for (int i = 0; i < 5000; ++i) {
    proto::LogEntry e;
    e.kind = proto::LogEntry::kOrder;
    e.request_id = "r" + std::to_string(i);
    e.name = "Tux";
    e.quantity = 1;
    std::uint64_t index = 0;
    ASSERT_EQ(cores.at(3)->propose(e, index), raft::ProposeOutcome::kAccepted);
  }
  run_until(1500);
  EXPECT_EQ(cores.at(2)->commit_index(), cores.at(3)->last_index());
  EXPECT_LE(cores.at(3)->cached_entries(), 100u) << "the leader's tail is bounded";
  cores.at(1).restart(now);
  EXPECT_EQ(cores.at(1)->cached_entries(), 0u) << "a restart reads no entries";
  up[1] = true;
  run_until(3000);
  EXPECT_EQ(cores.at(3)->role(), raft::RaftRole::kLeader);
  EXPECT_EQ(cores.at(3)->term(), term);  // no disruption: same leader, same term
  EXPECT_EQ(cores.at(1)->commit_index(), cores.at(3)->last_index());
  // It caught up from the leader's store (its tail holds 100): the same entries, in order.
  EXPECT_EQ(cores.at(1)->entries(1, cores.at(1)->last_index() + 1),
            cores.at(3)->entries(1, cores.at(3)->last_index() + 1));
  EXPECT_EQ(cores.at(1)->entry(cores.at(1)->last_index()).request_id, "r4999");

  // The leader dies: the next highest id takes over.
  up[3] = false;
  run_until(5000);
  EXPECT_EQ(cores.at(2)->role(), raft::RaftRole::kLeader);
  EXPECT_GT(cores.at(2)->term(), term);
  EXPECT_EQ(cores.at(1)->leader_id(), 2);
}

// The AppendEntries of one Ready from `r` to `to` (the rest of its messages are not looked at).
std::vector<proto::AppendEntries> appends_to(const raft::Ready& r, std::uint32_t to) {
  std::vector<proto::AppendEntries> out;
  for (const auto& m : r.messages) {
    const auto* a = std::get_if<proto::AppendEntries>(&m.message);
    if (m.to == to && a != nullptr) out.push_back(*a);
  }
  return out;
}

TEST(RaftCore, EntriesProposedBetweenReadiesGoToEachPeerAsOneAppend) {
  // Group commit: the orders of one catalog batch are proposed one by one, and must reach each
  // follower together, not the first alone with the rest a round trip behind it.
  std::vector<std::uint32_t> members{1, 2, 3};
  auto cores = fresh_cores(members, false);
  std::uint64_t now = 0;
  for (; now < 1000 && cores.at(3)->commit_index() == 0; ++now) {
    for (auto id : members) cores.at(id)->tick(now);
    for (int round = 0; round < 20; ++round) {
      for (auto id : members) {
        for (auto& m : cores.at(id).take().messages) cores.at(m.to)->receive(m.message, now);
      }
    }
  }
  ASSERT_EQ(cores.at(3)->role(), raft::RaftRole::kLeader);
  StoredCore& leader = cores.at(3);
  const std::uint64_t before = leader->last_index();
  ASSERT_EQ(leader->commit_index(), before);  // the no-op committed, nothing in flight

  auto order = [](const std::string& id) { return raft::testing::order_entry(0, id); };
  std::uint64_t index = 0;
  for (const char* id : {"a", "b", "c"})
    ASSERT_EQ(leader->propose(order(id), index), raft::ProposeOutcome::kAccepted);
  raft::Ready first = leader.take();
  for (std::uint32_t peer : {1u, 2u}) {
    auto appends = appends_to(first, peer);
    ASSERT_EQ(appends.size(), 1u) << "peer " << peer;
    EXPECT_EQ(appends[0].prev_index, before);
    ASSERT_EQ(appends[0].entries.size(), 3u);
    EXPECT_EQ(appends[0].entries[2].request_id, "c");
  }

  // While that append is in flight, new entries wait for its answer, then go as one append.
  for (const char* id : {"d", "e"})
    ASSERT_EQ(leader->propose(order(id), index), raft::ProposeOutcome::kAccepted);
  EXPECT_TRUE(appends_to(leader.take(), 1).empty());
  for (const auto& m : first.messages) {
    if (m.to == 1) cores.at(1)->receive(m.message, now);
  }
  for (auto& m : cores.at(1).take().messages) leader->receive(m.message, now);
  EXPECT_EQ(leader->commit_index(), before + 3);
  auto second = appends_to(leader.take(), 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].prev_index, before + 3);
  ASSERT_EQ(second[0].entries.size(), 2u);
  EXPECT_EQ(second[0].entries[0].request_id, "d");
}

TEST(RaftCore, FollowerRefusesToProposeAndSingleReplicaCommitsAlone) {
  raft::RaftConfig c;
  c.id = 1;
  c.members = {1};
  StoredCore solo(c, 0);
  solo->tick(10000);
  ASSERT_EQ(solo->role(), raft::RaftRole::kLeader);
  proto::LogEntry e;
  e.kind = proto::LogEntry::kOrder;
  e.request_id = "x";
  e.name = "Tux";
  e.quantity = 1;
  std::uint64_t index = 0;
  ASSERT_EQ(solo->propose(e, index), raft::ProposeOutcome::kAccepted);
  EXPECT_EQ(solo->commit_index(), index);
  raft::Ready r = solo.take();
  ASSERT_TRUE(r.hard_state);
  EXPECT_EQ(r.hard_state->voted_for, 1);
  EXPECT_EQ(r.entries.size(), 2u);  // the no-op and the order
  // Both committed at once, and are handed out to apply in the same Ready that persists them.
  EXPECT_EQ(r.committed_first, 1u);
  ASSERT_EQ(r.committed.size(), 2u);
  EXPECT_EQ(r.committed[1].request_id, "x");

  raft::RaftConfig f;
  f.id = 1;
  f.members = {1, 2, 3};
  StoredCore follower(f, 0);
  EXPECT_EQ(follower->propose(e, index), raft::ProposeOutcome::kNotLeader);
}

}  // namespace
}  // namespace bazaar::order
