#include "raft/raft_core.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bazaar::raft {

const char* to_string(RaftRole r) {
  switch (r) {
    case RaftRole::kFollower:
      return "follower";
    case RaftRole::kPreCandidate:
      return "candidate";
    case RaftRole::kCandidate:
      return "candidate";
    case RaftRole::kLeader:
      return "leader";
  }
  return "?";
}

LogWrite Ready::log_write() const {
  LogWrite w;
  w.hard_state = hard_state;
  w.truncate_from = truncate_from;
  w.first_index = first_index;
  w.entries = entries;
  if (commit_changed) w.commit_index = commit_index;
  w.config_index = config_index;
  return w;
}

const char* to_string(MembershipOutcome o) {
  switch (o) {
    case MembershipOutcome::kAccepted:
      return "accepted";
    case MembershipOutcome::kUnchanged:
      return "unchanged";
    case MembershipOutcome::kNotLeader:
      return "not leader";
    case MembershipOutcome::kTransferring:
      return "transferring leadership";
    case MembershipOutcome::kPending:
      return "a change is pending";
    case MembershipOutcome::kInvalid:
      return "not a change of one replica";
  }
  return "?";
}

RaftCore::RaftCore(RaftConfig config, const LogStore& store, std::uint64_t now_ms)
    : config_(std::move(config)),
      store_(store),
      hard_(store.hard_state()),
      tail_first_(store.last_index() + 1),
      commit_(std::min(store.commit_index(), store.last_index())),
      applied_(commit_),
      now_(now_ms),
      rng_(config_.seed * 7919 + config_.id) {
  joining_ = config_.joining;
  // The latest committed configuration (the store keeps the index of its entry), or the one
  // the replica is started with; then any configuration entries past the commit index, which
  // are in force already. Reads one entry and the uncommitted part of the log.
  Membership base;
  if (store.config_index() > 0) {
    const proto::LogEntry e = entry(store.config_index());
    auto m = Membership::decode(e.name);
    if (e.kind != proto::LogEntry::kConfig || !m) {
      throw std::runtime_error("raft: entry " + std::to_string(store.config_index()) +
                               " is not a configuration");
    }
    base = std::move(*m);
  } else {
    std::vector<Member> members;
    for (auto id : config_.members) {
      auto it = config_.endpoints.find(id);
      members.push_back(
          {.id = id, .voter = true, .endpoint = it == config_.endpoints.end() ? "" : it->second});
    }
    base = Membership(std::move(members));
  }
  configs_.emplace_back(store.config_index(), std::move(base));
  for (std::uint64_t i = commit_ + 1; i <= last_index(); i += config_.max_batch) {
    const auto batch = entries(i, std::min(last_index() + 1, i + config_.max_batch));
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (batch[k].kind != proto::LogEntry::kConfig) continue;
      auto m = Membership::decode(batch[k].name);
      if (!m) throw std::runtime_error("raft: an unreadable configuration entry");
      configs_.emplace_back(i + k, std::move(*m));
    }
  }
  membership_ = configs_.back().second;
  membership_index_ = configs_.back().first;
  reset_election_timer(now_ms);
}

// ---- helpers ----------------------------------------------------------------------------------

void RaftCore::check_input() const {
  if (ready_outstanding_) {
    throw std::logic_error("raft: an input before advance() of the last Ready");
  }
}

std::uint64_t RaftCore::term_at(std::uint64_t index) const {
  if (index == 0 || index > last_index()) return 0;
  if (index >= tail_first_) return tail_[index - tail_first_].term;
  return store_.term(index).value_or(0);
}

std::vector<proto::LogEntry> RaftCore::entries(std::uint64_t lo, std::uint64_t hi) const {
  std::vector<proto::LogEntry> out;
  if (lo == 0 || hi > last_index() + 1 || lo > hi) {
    throw std::out_of_range("raft: entries " + std::to_string(lo) + ".." + std::to_string(hi) +
                            " outside the log");
  }
  out.reserve(hi - lo);
  // Below the tail, from the store, in batches (each bounded in bytes by the store's read).
  while (lo < std::min(hi, tail_first_)) {
    EntriesRead r = store_.entries(lo, std::min(hi, tail_first_), SIZE_MAX);
    if (r.outcome != ReadOutcome::kOk || r.entries.empty()) {
      throw std::runtime_error("raft: the store lost entry " + std::to_string(lo));
    }
    lo += r.entries.size();
    for (auto& e : r.entries) out.push_back(std::move(e));
  }
  for (; lo < hi; ++lo) out.push_back(tail_[lo - tail_first_]);
  return out;
}

bool RaftCore::up_to_date(std::uint64_t last_index, std::uint64_t last_term) const {
  const std::uint64_t my_last = this->last_index();
  const std::uint64_t my_term = term_at(my_last);
  return last_term > my_term || (last_term == my_term && last_index >= my_last);
}

void RaftCore::reset_election_timer(std::uint64_t now_ms) {
  // Priority: each member with a higher id adds a step, so among live replicas whose logs are up
  // to date the highest id times out, asks for votes, and wins first.
  std::uint64_t higher = 0;
  for (auto m : membership_.voters()) higher += m > config_.id ? 1 : 0;
  const std::uint64_t jitter =
      config_.jitter_ms == 0
          ? 0
          : std::uniform_int_distribution<std::uint64_t>(0, config_.jitter_ms)(rng_);
  election_deadline_ = now_ms + config_.election_ms + higher * config_.priority_step_ms + jitter;
}

void RaftCore::set_term(std::uint64_t term) {
  hard_.term = term;
  hard_.voted_for = -1;
  hard_dirty_ = true;
}

void RaftCore::send(std::uint32_t to, PeerMessage m) {
  ready_.messages.push_back({to, std::move(m)});
}

void RaftCore::append_local(proto::LogEntry e) {
  tail_.push_back(std::move(e));
  if (ready_.entries.empty()) ready_.first_index = last_index();
  assert(ready_.first_index + ready_.entries.size() == last_index());
  ready_.entries.push_back(tail_.back());
  if (tail_.back().kind == proto::LogEntry::kConfig) {
    // In force from the moment it is in the log, committed or not (Raft thesis §4.1).
    auto m = Membership::decode(tail_.back().name);
    if (!m) throw std::runtime_error("raft: an unreadable configuration entry");
    configs_.emplace_back(last_index(), std::move(*m));
    apply_membership();
  }
}

void RaftCore::truncate_local(std::uint64_t from) {
  // Raft never removes a committed entry: the leader's log holds every committed entry, and a
  // follower only truncates where it conflicts with the leader.
  assert(from > commit_);
  if (from < tail_first_) {
    // The cut reaches below the tail: what the store holds from `from` on goes with this
    // Ready's truncation, and until then nothing at or past `from` is read from the store.
    tail_.clear();
    tail_first_ = from;
  } else {
    tail_.resize(from - tail_first_);
  }
  if (!ready_.entries.empty() && ready_.first_index + ready_.entries.size() > from) {
    // Drop queued, not yet persisted entries at or past `from`.
    ready_.entries.resize(from > ready_.first_index ? from - ready_.first_index : 0);
  }
  ready_.truncate_from = ready_.truncate_from ? std::min(*ready_.truncate_from, from) : from;
  // A configuration entry cut off takes its configuration with it: the one before is in force.
  if (configs_.back().first >= from) {
    while (configs_.size() > 1 && configs_.back().first >= from) configs_.pop_back();
    apply_membership();
  }
}

void RaftCore::set_commit(std::uint64_t index) {
  if (index > commit_) {
    commit_ = index;
    ready_.commit_changed = true;
  }
}

std::vector<std::uint32_t> RaftCore::other_voters() const {
  std::vector<std::uint32_t> out = membership_.voters();
  out.erase(std::remove(out.begin(), out.end(), config_.id), out.end());
  return out;
}

void RaftCore::apply_committed() {
  // A configuration may change the majority (a voter removed), so the commit can move again.
  while (commit_ > applied_) {
    const std::uint64_t first = applied_ + 1;
    std::vector<proto::LogEntry> batch = entries(first, commit_ + 1);
    applied_ = commit_;
    if (ready_.committed.empty()) ready_.committed_first = first;
    for (std::size_t k = 0; k < batch.size(); ++k) {
      if (batch[k].kind == proto::LogEntry::kConfig) ready_.config_index = first + k;
    }
    for (auto& e : batch) ready_.committed.push_back(std::move(e));
  }
  // The latest committed configuration is the one a restart starts from; older ones are gone.
  while (configs_.size() > 1 && configs_[1].first <= commit_) configs_.pop_front();
  // A leader whose removal just committed hands office over.
  if (role_ == RaftRole::kLeader && learner() && membership_index_ <= commit_) {
    drive_transfer(now_);
  }
}

void RaftCore::apply_membership() {
  membership_ = configs_.back().second;
  membership_index_ = configs_.back().first;
  if (role_ != RaftRole::kLeader) return;
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = membership_.contains(it->first) ? std::next(it) : progress_.erase(it);
  }
  for (const auto& member : membership_.members()) {
    if (member.id == config_.id || progress_.count(member.id) != 0) continue;
    // A new replica: its position is unknown, so it is probed from the end of the log.
    progress_[member.id] = Progress{.next = last_index() + 1, .last_heard = now_};
    send_append(member.id, now_, false);
  }
  if (transfer_ && !membership_.is_voter(transfer_->target)) end_transfer(now_);
}

MembershipOutcome RaftCore::propose_membership(const Membership& next, std::uint64_t& index) {
  check_input();
  if (role_ != RaftRole::kLeader) return MembershipOutcome::kNotLeader;
  if (transfer_) return MembershipOutcome::kTransferring;
  const ChangeKind kind = membership_.change_to(next);
  if (kind == ChangeKind::kNone) return MembershipOutcome::kUnchanged;
  if (kind == ChangeKind::kInvalid) return MembershipOutcome::kInvalid;
  if (commit_ < pending_config_) return MembershipOutcome::kPending;
  proto::LogEntry e;
  e.term = hard_.term;
  e.kind = proto::LogEntry::kConfig;
  e.name = next.encode();
  append_local(std::move(e));
  index = pending_config_ = last_index();
  advance_commit();
  return MembershipOutcome::kAccepted;
}

bool RaftCore::keeps_up(const Progress& p, std::uint64_t now_ms) const {
  const std::uint64_t tolerance = 2 * config_.heartbeat_ms;
  return p.replied && now_ms - p.last_heard <= tolerance &&
         (!p.behind_since || now_ms - *p.behind_since <= tolerance);
}

void RaftCore::promote_learners(std::uint64_t now_ms) {
  if (transfer_ || learner() || commit_ < pending_config_) return;
  for (const auto& member : membership_.members()) {
    if (member.voter) continue;
    auto it = progress_.find(member.id);
    if (it == progress_.end() || !keeps_up(it->second, now_ms)) continue;
    // Caught up (Raft thesis §4.2.1): it now holds what it would need to vote and to count.
    Member promoted = member;
    promoted.voter = true;
    std::uint64_t index = 0;
    (void)propose_membership(membership_.with(promoted), index);
    return;  // one change at a time
  }
}

Ready RaftCore::take_ready() {
  check_input();
  apply_committed();
  if (role_ == RaftRole::kLeader) {
    // Group commit: everything proposed since the last take_ready goes to each peer without an
    // append in flight as one append, here rather than at the first propose (which sent that
    // entry alone and held the rest of the batch back for a round trip). A peer with an append
    // in flight gets them with the append that follows its reply, unless it is catching up.
    for (auto& [peer, p] : progress_) {
      while (may_send_entries(p)) send_append(peer, now_, false);
    }
  }
  if (hard_dirty_) ready_.hard_state = hard_;
  hard_dirty_ = false;
  ready_.commit_index = commit_;
  Ready out = std::move(ready_);
  ready_ = Ready{};
  ready_outstanding_ = true;
  ready_hard_ = hard_;
  ready_last_ = last_index();
  ready_commit_ = out.commit_changed ? commit_ : 0;
  return out;
}

void RaftCore::advance() {
  if (!ready_outstanding_) throw std::logic_error("raft: advance() without a Ready");
  if (store_.last_index() != ready_last_ || store_.hard_state() != ready_hard_ ||
      (ready_commit_ != 0 && store_.commit_index() < ready_commit_)) {
    throw std::logic_error("raft: advance() before the store holds the Ready");
  }
  ready_outstanding_ = false;
  // Everything is persisted now; keep the newest entries, and every one not yet applied.
  while (tail_.size() > config_.cache_entries && tail_first_ <= applied_) {
    tail_.pop_front();
    ++tail_first_;
  }
}

// ---- roles ------------------------------------------------------------------------------------

void RaftCore::become_follower(std::uint64_t term, std::int32_t leader, std::uint64_t now_ms) {
  if (term > hard_.term) set_term(term);
  if (transfer_) end_transfer(now_ms);  // stepping down ends a transfer, whatever its fate
  role_ = RaftRole::kFollower;
  leader_ = leader;
  votes_.clear();
  progress_.clear();
  reset_election_timer(now_ms);
}

void RaftCore::start_pre_vote(std::uint64_t now_ms) {
  // Pre-vote: ask whether we could win before raising the term, so a replica that was cut off
  // (or just restarted) cannot force a healthy leader out by campaigning in a higher term.
  role_ = RaftRole::kPreCandidate;
  leader_ = -1;
  votes_ = {config_.id};
  reset_election_timer(now_ms);
  if (votes_.size() >= majority()) {
    start_election(now_ms, false);
    return;
  }
  for (auto m : other_voters()) {
    send(m, proto::RequestVote{hard_.term + 1, config_.id, last_index(), term_at(last_index()),
                               true, false});
  }
}

void RaftCore::start_election(std::uint64_t now_ms, bool transfer) {
  ++counters_.elections_started;
  set_term(hard_.term + 1);
  hard_.voted_for = static_cast<std::int32_t>(config_.id);
  role_ = RaftRole::kCandidate;
  leader_ = -1;
  votes_ = {config_.id};
  reset_election_timer(now_ms);
  if (votes_.size() >= majority()) {
    become_leader(now_ms);
    return;
  }
  for (auto m : other_voters()) {
    send(m, proto::RequestVote{hard_.term, config_.id, last_index(), term_at(last_index()), false,
                               transfer});
  }
}

void RaftCore::become_leader(std::uint64_t now_ms) {
  ++counters_.elections_won;
  role_ = RaftRole::kLeader;
  leader_ = static_cast<std::int32_t>(config_.id);
  votes_.clear();
  progress_.clear();
  transfer_.reset();
  for (const auto& m : membership_.members()) {
    if (m.id != config_.id) {
      progress_[m.id] = Progress{.next = last_index() + 1, .last_heard = now_ms};
    }
  }
  // A no-op of the new term: entries of earlier terms commit only under an entry of the
  // leader's own term (Raft §5.4.2), and clients waiting on them should not wait for new orders.
  proto::LogEntry noop;
  noop.term = hard_.term;
  append_local(std::move(noop));
  // A configuration entry of an earlier term may still be in the log uncommitted: no change
  // until everything up to this term's first entry has committed.
  pending_config_ = last_index();
  broadcast_append(now_ms, false);
  next_heartbeat_ = now_ms + config_.heartbeat_ms;
  advance_commit();
}

// ---- inputs -----------------------------------------------------------------------------------

void RaftCore::tick(std::uint64_t now_ms) {
  check_input();
  now_ = now_ms;
  if (role_ == RaftRole::kLeader) {
    // Check-quorum: a leader that has not heard from a majority for an election timeout steps
    // down, so a leader cut off from the others stops taking orders it could never commit.
    std::size_t heard = learner() ? 0 : 1;
    for (const auto& [peer, p] : progress_) {
      heard += membership_.is_voter(peer) && now_ms - p.last_heard <= config_.election_ms ? 1 : 0;
    }
    if (heard < majority()) {
      become_follower(hard_.term, -1, now_ms);
      return;
    }
    if (now_ms >= next_heartbeat_) {
      broadcast_append(now_ms, true);
      next_heartbeat_ = now_ms + config_.heartbeat_ms;
    }
    watch_peers(now_ms);
    drive_transfer(now_ms);
    promote_learners(now_ms);
    return;
  }
  // A joining replica waits for a leader, however long: what it voted before it lost its
  // state is unknown, and its log is behind everyone's.
  // A learner (or a removed replica) never campaigns: it does not count towards a majority.
  if (now_ms >= election_deadline_ && !joining_ && !learner()) start_pre_vote(now_ms);
}

void RaftCore::receive(const PeerMessage& message, std::uint64_t now_ms) {
  check_input();
  now_ = now_ms;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, proto::RequestVote>) on_request_vote(m, now_ms);
        if constexpr (std::is_same_v<T, proto::VoteReply>) on_vote_reply(m, now_ms);
        if constexpr (std::is_same_v<T, proto::AppendEntries>) on_append(m, now_ms);
        if constexpr (std::is_same_v<T, proto::AppendReply>) on_append_reply(m, now_ms);
        if constexpr (std::is_same_v<T, proto::TimeoutNow>) on_timeout_now(m, now_ms);
      },
      message);
}

ProposeOutcome RaftCore::propose(proto::LogEntry entry, std::uint64_t& index) {
  check_input();
  if (role_ != RaftRole::kLeader) return ProposeOutcome::kNotLeader;
  // A transfer waits for the target to hold the whole log; new entries would only move the goal.
  if (transfer_) return ProposeOutcome::kTransferring;
  entry.term = hard_.term;
  append_local(std::move(entry));
  index = last_index();
  advance_commit();
  return ProposeOutcome::kAccepted;
}

// ---- votes ------------------------------------------------------------------------------------

void RaftCore::on_request_vote(const proto::RequestVote& m, std::uint64_t now_ms) {
  // Lease: while a leader is heard from, refuse to help unseat it (and do not even adopt a higher
  // term from the request), so a replica that rejoins cannot disrupt a healthy leader. A transfer
  // election is that leader's own wish (it sent TimeoutNow), so the lease does not apply; every
  // rule that safety rests on (term, one vote per term, log up to date) still does.
  const bool leader_alive =
      !m.transfer &&
      (role_ == RaftRole::kLeader ||
       (leader_ >= 0 && now_ms - last_leader_contact_ < config_.election_ms && heard_leader_));
  if (joining_) {
    send(m.candidate, proto::VoteReply{hard_.term, config_.id, false, m.pre_vote});
    return;
  }
  if (m.pre_vote) {
    const bool grant =
        m.term > hard_.term && !leader_alive && up_to_date(m.last_index, m.last_term);
    send(m.candidate, proto::VoteReply{grant ? m.term : hard_.term, config_.id, grant, true});
    return;
  }
  if (m.term < hard_.term || (m.term > hard_.term && leader_alive)) {
    send(m.candidate, proto::VoteReply{hard_.term, config_.id, false, false});
    return;
  }
  if (m.term > hard_.term) become_follower(m.term, -1, now_ms);
  bool grant = false;
  if ((hard_.voted_for < 0 || hard_.voted_for == static_cast<std::int32_t>(m.candidate)) &&
      up_to_date(m.last_index, m.last_term)) {
    grant = true;
    if (hard_.voted_for < 0) {
      hard_.voted_for = static_cast<std::int32_t>(m.candidate);
      hard_dirty_ = true;  // persisted before the reply leaves (Ready order)
    }
    reset_election_timer(now_ms);
  }
  send(m.candidate, proto::VoteReply{hard_.term, config_.id, grant, false});
}

void RaftCore::on_vote_reply(const proto::VoteReply& m, std::uint64_t now_ms) {
  if (m.pre_vote) {
    if (!m.granted && m.term > hard_.term) {
      become_follower(m.term, -1, now_ms);
      return;
    }
    if (role_ != RaftRole::kPreCandidate || !m.granted || m.term != hard_.term + 1) return;
    if (!membership_.is_voter(m.from)) return;
    votes_.insert(m.from);
    if (votes_.size() >= majority()) start_election(now_ms, false);
    return;
  }
  if (m.term > hard_.term) {
    become_follower(m.term, -1, now_ms);
    return;
  }
  if (role_ != RaftRole::kCandidate || m.term != hard_.term || !m.granted) return;
  if (!membership_.is_voter(m.from)) return;
  votes_.insert(m.from);
  if (votes_.size() >= majority()) become_leader(now_ms);
}

// ---- replication ------------------------------------------------------------------------------

void RaftCore::send_append(std::uint32_t peer, std::uint64_t now_ms, bool heartbeat_only) {
  Progress& p = progress_[peer];
  proto::AppendEntries a;
  a.term = hard_.term;
  a.leader = config_.id;
  // A heartbeat checks the prefix before the oldest append in flight, which the peer holds or
  // refuses with a hint, as any append (the entries sent after it may not have arrived yet).
  a.prev_index = (heartbeat_only ? p.oldest_unacked() : p.next) - 1;
  a.prev_term = term_at(a.prev_index);
  a.commit = commit_;
  a.round = round_;
  if (!heartbeat_only) {
    const std::uint64_t last =
        std::min<std::uint64_t>(last_index(), p.next - 1 + config_.max_batch);
    // A follower that keeps up is served from the tail; one far behind (it was down, or is
    // new) from the store, max_inflight batches at a time, so its catch-up costs no memory.
    if (p.next <= last) {
      a.entries = entries(p.next, last + 1);
      p.inflight.push_back({.first = p.next, .last = last, .sent = now_ms});
      p.next = last + 1;
    }
  }
  send(peer, std::move(a));
}

bool RaftCore::may_send_entries(const Progress& p) const {
  if (p.next > last_index()) return false;
  if (p.inflight.empty()) return true;
  return !p.probing && p.inflight.size() < config_.max_inflight &&
         last_index() + 1 - p.next >= config_.max_batch;
}

void RaftCore::broadcast_append(std::uint64_t now_ms, bool heartbeat) {
  for (auto& [peer, p] : progress_) {
    // An append unanswered for a few heartbeats is sent again with all that followed it (it or
    // its reply was lost). Otherwise a heartbeat keeps the follower's timer quiet.
    if (!p.inflight.empty() && now_ms - p.inflight.front().sent >= 4 * config_.heartbeat_ms) {
      p.next = p.oldest_unacked();
      p.inflight.clear();
      p.probing = true;
    }
    send_append(peer, now_ms, heartbeat && !p.inflight.empty());
  }
}

void RaftCore::on_append(const proto::AppendEntries& m, std::uint64_t now_ms) {
  if (m.term < hard_.term) {
    refuse_append(m, last_index() + 1);
    return;
  }
  if (m.term > hard_.term || role_ != RaftRole::kFollower ||
      leader_ != static_cast<std::int32_t>(m.leader)) {
    become_follower(m.term, static_cast<std::int32_t>(m.leader), now_ms);
  } else {
    reset_election_timer(now_ms);
  }
  last_leader_contact_ = now_ms;
  heard_leader_ = true;
  if (joining_ && hard_.voted_for < 0) {
    // Counts as a vote for the leader of this term, persisted before the reply leaves: after a
    // crash the replica restarts as a member with this term's vote cast, joining or not.
    hard_.voted_for = static_cast<std::int32_t>(m.leader);
    hard_dirty_ = true;
  }
  if (m.prev_index > last_index()) {
    refuse_append(m, last_index() + 1);
    return;
  }
  if (term_at(m.prev_index) != m.prev_term) {
    // Skip back over the whole conflicting term at once (never below our commit: that prefix
    // matches any leader's log).
    const std::uint64_t bad = term_at(m.prev_index);
    std::uint64_t i = m.prev_index;
    while (i > commit_ + 1 && term_at(i - 1) == bad) --i;
    refuse_append(m, std::max<std::uint64_t>(i, 1));
    return;
  }
  std::uint64_t index = m.prev_index;
  for (const auto& e : m.entries) {
    ++index;
    if (index <= last_index()) {
      if (term_at(index) == e.term) continue;  // already have it (a duplicate or an old batch)
      truncate_local(index);
    }
    append_local(e);
  }
  const std::uint64_t match = m.prev_index + m.entries.size();
  set_commit(std::min(m.commit, match));
  if (joining_ && match >= m.commit) joining_ = false;  // caught up: a voter from the next term
  send(m.leader, proto::AppendReply{.term = hard_.term,
                                    .from = config_.id,
                                    .success = true,
                                    .match_index = match,
                                    .next_index = match + 1,
                                    .round = m.round,
                                    .healthy = healthy(),
                                    .joining = joining_});
}

void RaftCore::refuse_append(const proto::AppendEntries& m, std::uint64_t next_index) {
  send(m.leader, proto::AppendReply{.term = hard_.term,
                                    .from = config_.id,
                                    .success = false,
                                    .next_index = next_index,
                                    .round = m.round,
                                    .healthy = healthy(),
                                    .joining = joining_});
}

void RaftCore::on_append_reply(const proto::AppendReply& m, std::uint64_t now_ms) {
  if (m.term > hard_.term) {
    become_follower(m.term, -1, now_ms);
    return;
  }
  if (role_ != RaftRole::kLeader || m.term != hard_.term) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& p = it->second;
  p.last_heard = now_ms;
  p.replied = true;
  p.round = std::max(p.round, m.round);  // a refusal of this term confirms the term as well
  p.healthy = m.healthy;
  if (m.success) {
    if (m.match_index > p.match && m.match_index <= last_index()) {
      p.match = m.match_index;
      p.next = std::max(p.next, p.match + 1);
      while (!p.inflight.empty() && p.inflight.front().last <= p.match) p.inflight.pop_front();
      p.probing = false;
      advance_commit();
    }
    // A heartbeat's answer (match not past what we knew) leaves an in-flight batch in flight.
  } else {
    const std::uint64_t hint =
        std::min<std::uint64_t>(std::max<std::uint64_t>(m.next_index, 1), last_index() + 1);
    if (m.joining && hint <= p.match) {
      // It lost its data and says so: what it held before is gone, so the match is wrong.
      p.match = hint - 1;
    }
    // A follower's hint may fall below the match (it skips back over a whole conflicting term),
    // so a refusal of an append sent beyond the match resumes right after the match.
    if (hint > p.match || p.oldest_unacked() > p.match + 1) {
      p.next = std::max(p.match + 1, hint);
      p.inflight.clear();
      p.probing = true;
      // Probe again at once from the follower's hint (even with nothing new to send: the empty
      // append tests the new prev_index).
      send_append(m.from, now_ms, false);
    }
    // Otherwise the refusal is stale (etcd raft's maybeDecrTo): the peer was matched past it and
    // is being sent the entries right after the match, so it answers an older append, or comes
    // from a replica that lost its disk without saying so.
    // Resending at once would loop with such a replica (it refuses every append, at once); the
    // heartbeats and the resend of an unanswered batch go on as for any peer.
  }
  // Entries a peer still lacks after a success go with take_ready(), like every other append.
  watch_peers(now_ms);
  drive_transfer(now_ms);
}

std::uint64_t RaftCore::confirm_leadership() {
  check_input();
  if (role_ != RaftRole::kLeader) return 0;
  ++round_;
  broadcast_append(now_, true);
  return round_;
}

std::uint64_t RaftCore::confirmed_round() const {
  if (role_ != RaftRole::kLeader) return 0;
  std::vector<std::uint64_t> rounds;
  if (!learner()) rounds.push_back(round_);  // this leader answers its own rounds at once
  for (const auto& [peer, p] : progress_) {
    if (membership_.is_voter(peer)) rounds.push_back(p.round);
  }
  std::sort(rounds.begin(), rounds.end(), std::greater<>());
  return rounds[majority() - 1];
}

void RaftCore::advance_commit() {
  if (role_ != RaftRole::kLeader) return;
  for (std::uint64_t n = last_index(); n > commit_; --n) {
    // Only entries of the current term commit by counting replicas (Raft §5.4.2).
    if (term_at(n) != hard_.term) break;
    std::size_t count = learner() ? 0 : 1;  // a removed leader only hands office over
    for (const auto& [peer, p] : progress_) {
      count += membership_.is_voter(peer) && p.match >= n ? 1 : 0;
    }
    if (count >= majority()) {
      set_commit(n);
      break;
    }
  }
}

// ---- leadership transfer (Raft thesis §3.10) ---------------------------------------------------

void RaftCore::watch_peers(std::uint64_t now_ms) {
  // Why a time window and not "match >= commit" at every instant: under load the commit index
  // moves as soon as the faster follower answers, so a healthy follower is often one batch
  // behind for a few milliseconds. Behind for longer than two heartbeats (a catch-up, a stall)
  // breaks the run; so does silence for two heartbeats.
  const std::uint64_t tolerance = 2 * config_.heartbeat_ms;
  for (auto& [peer, p] : progress_) {
    const bool behind = p.match < commit_;
    bool lagged = false;  // a lag longer than the tolerance, still going or just ended
    if (behind) {
      if (!p.behind_since) p.behind_since = now_ms;
      lagged = now_ms - *p.behind_since > tolerance;
    } else if (p.behind_since) {
      lagged = now_ms - *p.behind_since > tolerance;
      p.behind_since.reset();
    }
    const bool alive = p.replied && now_ms - p.last_heard <= tolerance;
    // An unhealthy peer could not serve if it led: it is no candidate for office, and once
    // healthy again it must stay so for a stable while, like one that just caught up.
    if (!alive || !p.healthy || (behind && lagged)) {
      p.steady_since.reset();
    } else if (lagged || !p.steady_since) {
      p.steady_since = now_ms;  // steady from here (a long lag that just ended restarts the run)
    }
  }
}

void RaftCore::drive_transfer(std::uint64_t now_ms) {
  if (role_ != RaftRole::kLeader || (!config_.transfer && !learner())) return;
  if (transfer_) {
    // Raft thesis §3.10: a transfer that has not ended within an election timeout is abandoned
    // and the leader serves again (the target is dead, cut off, or could not win).
    if (now_ms - transfer_->started >= config_.election_ms) {
      end_transfer(now_ms);
      return;
    }
  } else if (learner()) {
    // Removed from the configuration: once that has committed (until then this leader manages
    // the cluster without counting itself, Raft thesis §4.2.2), hand office at once (no back-off)
    // to the voter that holds most of the log (the highest id among equals); TimeoutNow goes
    // once it holds all of it.
    if (membership_index_ > commit_) return;
    std::uint32_t target = 0;
    std::uint64_t best = 0;
    for (const auto& [peer, p] : progress_) {
      if (membership_.is_voter(peer) && (target == 0 || p.match >= best)) {
        target = peer;
        best = p.match;
      }
    }
    if (target == 0) return;
    transfer_ = Transfer{target, now_ms, false};
    ++counters_.transfers_started;
  } else {
    if (now_ms < next_transfer_ms_) return;
    // A healthy leader hands office only upwards, so leadership climbs to the highest live id
    // and never flips back and forth. One that has not been able to serve for a stable while
    // hands it to the highest peer that can, lower ids too. Both need a healthy target
    // (watch_peers), so the two rules cannot undo each other: leadership moves down only away from
    // an unhealthy leader, and back up only to a peer that has been healthy for transfer_stable_ms.
    const bool stepping_aside =
        unhealthy_since_ && now_ms - *unhealthy_since_ >= config_.transfer_stable_ms;
    std::uint32_t target = 0;
    for (const auto& [peer, p] : progress_) {
      if ((peer > config_.id || stepping_aside) && peer > target && membership_.is_voter(peer) &&
          p.steady_since && now_ms - *p.steady_since >= config_.transfer_stable_ms) {
        target = peer;
      }
    }
    if (target == 0) return;
    // What the target lacks goes with take_ready() or after its next reply, like any append.
    transfer_ = Transfer{target, now_ms, false};
    ++counters_.transfers_started;
  }
  const Progress& p = progress_[transfer_->target];
  if (!transfer_->timeout_now_sent && p.match == last_index()) {
    // The target holds the whole log, and nothing new is appended: it can win any election.
    send(transfer_->target, proto::TimeoutNow{hard_.term, config_.id});
    transfer_->timeout_now_sent = true;
  }
}

void RaftCore::end_transfer(std::uint64_t now_ms) {
  transfer_.reset();
  // After any attempt, successful or not, wait before the next: a target that cannot win (or
  // keeps dying) then costs at most one short pause of proposals per back-off.
  next_transfer_ms_ = now_ms + config_.transfer_backoff_ms;
}

void RaftCore::on_timeout_now(const proto::TimeoutNow& m, std::uint64_t now_ms) {
  // Only the leader of the current term (or of a newer one we have not heard of) may make us
  // campaign: an older term's TimeoutNow (a duplicate, or one overtaken by the election it
  // caused) is dropped, so one transfer causes at most one forced election.
  if (m.term < hard_.term || m.leader == config_.id || joining_ || learner()) return;
  if (m.term > hard_.term) become_follower(m.term, static_cast<std::int32_t>(m.leader), now_ms);
  if (role_ == RaftRole::kLeader) return;
  // No pre-vote: the leader asked for this election, and its lease must not stop it.
  start_election(now_ms, true);
}

void RaftCore::set_healthy(bool healthy, std::uint64_t now_ms) {
  check_input();
  if (healthy) {
    unhealthy_since_.reset();
  } else if (!unhealthy_since_) {
    unhealthy_since_ = now_ms;
  }
}

std::map<std::uint32_t, std::uint64_t> RaftCore::match_indexes() const {
  std::map<std::uint32_t, std::uint64_t> out;
  if (role_ != RaftRole::kLeader) return out;
  for (const auto& [peer, p] : progress_) out[peer] = p.match;
  return out;
}

}  // namespace bazaar::raft
