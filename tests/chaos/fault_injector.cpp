#include "tests/chaos/fault_injector.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "tests/chaos/netns_cluster.h"

namespace bazaar::chaos {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

FaultInjector::FaultInjector(ClusterControl& cluster, NetnsCluster* net,
                             const FaultSchedule& schedule,
                             std::function<void(const std::string&)> log)
    : cluster_(cluster), net_(net), schedule_(schedule), log_(std::move(log)) {}

double FaultInjector::seconds() const {
  return std::chrono::duration<double>(Clock::now() - t0_).count();
}

bool FaultInjector::sleep_for(std::chrono::milliseconds d) {
  const auto until = Clock::now() + d;
  for (;;) {
    const auto next_tick = t0_ + std::chrono::seconds(ticked_ + 1);
    const auto wake = std::min({until, end_, next_tick});
    std::this_thread::sleep_until(wake);
    if (stop_ && stop_->load()) end_ = Clock::now();
    if (Clock::now() >= next_tick) {
      ++ticked_;
      if (tick_) tick_(ticked_);
    }
    if (Clock::now() >= end_) return false;
    if (Clock::now() >= until) return true;
  }
}

std::string FaultInjector::current_leader() {
  // Just after a fail-over there may be none for a moment; wait a little for one rather than
  // hit a random replica.
  for (int i = 0; i < 20; ++i) {
    std::string leader = cluster_.leader();
    if (!leader.empty()) return leader;
    if (!sleep_for(100ms)) return "";
  }
  return "order-" + std::to_string(cluster_.replicas());
}

std::vector<std::string> FaultInjector::targets(const FaultEvent& e) {
  const int replicas = cluster_.replicas();
  const bool needs_leader = e.kind == FaultKind::kLeader || e.kind == FaultKind::kFollower ||
                            e.kind == FaultKind::kLeaderAndCatalog ||
                            e.kind == FaultKind::kMajority;
  std::string leader;
  if (needs_leader) {
    leader = current_leader();
    if (leader.empty()) return {};
  }
  std::vector<std::string> followers;
  for (int k = 1; k <= replicas; ++k) {
    const std::string name = "order-" + std::to_string(k);
    if (name != leader) followers.push_back(name);
  }
  const std::string follower = followers[e.pick % followers.size()];
  switch (e.kind) {
    case FaultKind::kLeader:
      return {leader};
    case FaultKind::kFollower:
      return {follower};
    case FaultKind::kCatalog:
      return {"catalog"};
    case FaultKind::kBroker:
      return {"broker"};
    case FaultKind::kFrontend:
      return {"frontend-" +
              std::to_string(1 + e.pick % static_cast<std::uint32_t>(cluster_.frontends()))};
    case FaultKind::kLeaderAndCatalog:
      // Which dies first is part of the schedule: the catalog first leaves the leader's trades
      // unanswered, the leader first leaves them applied and uncommitted.
      return (e.pick >> 8) % 2 ? std::vector<std::string>{leader, "catalog"}
                               : std::vector<std::string>{"catalog", leader};
    case FaultKind::kMajority:
      return {leader, follower};
    default:
      return {};
  }
}

void FaultInjector::check_unexpected_exits() {
  for (const auto& name : cluster_.names()) {
    if (std::find(down_.begin(), down_.end(), name) != down_.end()) continue;
    if (!cluster_.running(name)) {
      char line[200];
      std::snprintf(line, sizeof line, "t=%.1fs %s exited without being killed (see %s/%s.log)",
                    seconds(), name.c_str(), cluster_.dir().c_str(), name.c_str());
      problems_.push_back(line);
      log_(line);
      cluster_.start(name);
    }
  }
}

void FaultInjector::note(const FaultEvent& e, const std::string& what) {
  ++faults_[to_string(e.kind)];
  ++events_done_;
  char line[400];
  std::snprintf(line, sizeof line, "t=%.1fs %s (%s), %lld ms", seconds(), to_string(e.kind),
                what.c_str(), static_cast<long long>(e.down.count()));
  log_(line);
}

void FaultInjector::wipe_event(const FaultEvent& e) {
  const std::string leader = current_leader();
  if (leader.empty()) return;
  std::string target = leader;
  if (e.pick % 2 != 0) {
    const int k =
        1 + static_cast<int>((e.pick >> 1) % static_cast<std::uint32_t>(cluster_.replicas()));
    target = "order-" + std::to_string(k);
  }
  cluster_.kill(target);
  down_.push_back(target);
  note(e, "wipe " + target);
  sleep_for(e.down);
  // Bounded, and the next fault waits for it: a second replica's disk lost before this one has
  // caught up would be the loss of a majority's copies, which no store survives.
  const auto t = Clock::now();
  if (!cluster_.replace(target, 60s)) {
    problems_.push_back(target + " did not catch up within 60 s of its wipe (see its log in " +
                        cluster_.dir() + ")");
  }
  std::erase(down_, target);
  char line[200];
  std::snprintf(
      line, sizeof line, "t=%.1fs %s rejoined and caught up in %lld ms", seconds(), target.c_str(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count()));
  log_(line);
}

void FaultInjector::kill_event(const FaultEvent& e) {
  const std::vector<std::string> names = targets(e);
  if (names.empty()) return;  // the end came while looking for the leader
  std::string what;
  for (const auto& name : names) {
    cluster_.kill(name);
    down_.push_back(name);
    what += (what.empty() ? "" : " ") + name;
  }
  note(e, "kill " + what);
  sleep_for(e.down);  // cut short by the end: the fault is repaired below either way
  // Restart in the order killed (the catalog before a leader killed after it, and so on).
  for (const auto& name : names) {
    const auto t = Clock::now();
    cluster_.start(name);
    if (!cluster_.running(name)) {
      problems_.push_back(name + " did not restart (see its log in " + cluster_.dir() + ")");
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
    if (took > 5s) {
      char line[200];
      std::snprintf(line, sizeof line, "t=%.1fs %s took %lld ms to be healthy again", seconds(),
                    name.c_str(), static_cast<long long>(took.count()));
      log_(line);
    }
  }
  down_.clear();
}

std::pair<std::string, std::string> FaultInjector::pick_pair(std::mt19937_64& rng,
                                                             const std::string& leader) {
  const std::vector<std::string> all = cluster_.names();
  std::string a = rng() % 2 ? leader : all[rng() % all.size()];
  std::string b;
  do {
    b = all[rng() % all.size()];
  } while (b == a);
  return {a, b};
}

void FaultInjector::network_event(const FaultEvent& e) {
  // Everything random in the event comes from its pick, so a seed means the same faults.
  std::mt19937_64 rng(e.pick);
  const auto until = Clock::now() + e.down;
  if (e.kind == FaultKind::kPause) {
    const auto all = cluster_.names();
    const std::string target = all[e.pick % all.size()];
    cluster_.signal(target, SIGSTOP);
    note(e, "pause " + target);
    sleep_for(e.down);
    cluster_.signal(target, SIGCONT);
    return;
  }
  if (net_ == nullptr) return;  // network kinds need namespaces (chaos_main refuses them)
  const std::string leader = current_leader();
  if (leader.empty()) return;
  std::vector<std::string> replicas_but_leader, minority, majority;
  for (int k = 1; k <= cluster_.replicas(); ++k) {
    const std::string r = "order-" + std::to_string(k);
    if (r != leader) replicas_but_leader.push_back(r);
  }
  const std::string frontend =
      "frontend-" + std::to_string(1 + e.pick % static_cast<std::uint32_t>(cluster_.frontends()));
  switch (e.kind) {
    case FaultKind::kPartitionLeader:
      net_->cut({leader}, replicas_but_leader);
      note(e, leader + " | " + join(replicas_but_leader));
      sleep_for(e.down);
      break;
    case FaultKind::kPartitionCatalog:
      net_->cut({leader}, {"catalog"});
      note(e, leader + " | catalog");
      sleep_for(e.down);
      break;
    case FaultKind::kPartitionFrontend:
      net_->cut({frontend}, {leader});
      note(e, frontend + " | " + leader);
      sleep_for(e.down);
      break;
    case FaultKind::kSplit: {
      // A minority of the replicas (the leader half the time), and each other process with
      // it one time in three. A leader alone with the front ends on the other side is the
      // fail-over where a read of a just-acknowledged order meets the new leader at once.
      const std::string lonely =
          rng() % 2 ? leader : replicas_but_leader[rng() % replicas_but_leader.size()];
      for (const auto& name : cluster_.names()) {
        const bool replica = name.rfind("order-", 0) == 0;
        const bool in_minority = replica ? name == lonely : rng() % 3 == 0;
        (in_minority ? minority : majority).push_back(name);
      }
      net_->cut(minority, majority);
      note(e, join(minority) + " | " + join(majority));
      sleep_for(e.down);
      break;
    }
    case FaultKind::kFlap: {
      const auto [a, b] = pick_pair(rng, leader);
      int flips = 0;
      note(e, "flap " + a + " | " + b);
      for (bool more = true; more && Clock::now() < until; ++flips) {
        net_->cut({a}, {b});
        more = sleep_for(std::chrono::milliseconds(100 + rng() % 600));
        net_->heal();
        if (more) more = sleep_for(std::chrono::milliseconds(100 + rng() % 600));
      }
      break;
    }
    case FaultKind::kDelay: {
      const auto [a, b] = pick_pair(rng, leader);
      const int delay = 20 + static_cast<int>(rng() % 280);
      const double loss = std::vector<double>{0, 0, 1, 5}[rng() % 4];
      if (!net_->slow(a, b, delay, delay / 4, loss, e.pick)) {
        log_("delay skipped: no bazaar-netem in the build (libnetfilter-queue-dev missing)");
        return;
      }
      char what[200];
      std::snprintf(what, sizeof what, "%s <-> %s +%d..%d ms, loss %.0f%%", a.c_str(), b.c_str(),
                    delay, delay + delay / 4, loss);
      note(e, what);
      sleep_for(e.down);
      break;
    }
    default:
      break;
  }
  net_->heal();
}

void FaultInjector::run(Clock::time_point end, const std::function<void(int)>& tick) {
  t0_ = Clock::now();
  end_ = end;
  tick_ = tick;
  for (const FaultEvent& e : schedule_.events()) {
    if (!sleep_for(e.gap)) break;
    check_unexpected_exits();
    if (class_of(e.kind) == FaultClass::kKill) {
      kill_event(e);
    } else if (class_of(e.kind) == FaultClass::kWipe) {
      wipe_event(e);
    } else {
      network_event(e);
    }
    if (Clock::now() >= end_) break;
  }
  // Out of events before the end (restarts were quick): the clients go on without faults.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now());
  if (left.count() > 0) sleep_for(left);
  check_unexpected_exits();
}

std::vector<std::string> FaultInjector::repair_all() {
  const auto names = cluster_.names();
  std::vector<std::string> started;
  if (net_) net_->heal();
  for (const auto& name : names) {
    cluster_.signal(name, SIGCONT);  // harmless when it runs; a pause cut short ends here
    if (cluster_.running(name)) continue;
    cluster_.start(name);
    started.push_back(name);
    if (!cluster_.running(name)) problems_.push_back(name + " could not be started");
  }
  for (const auto& name : names) {
    if (!cluster_.wait_healthy(name, 20s)) problems_.push_back(name + " not healthy at the end");
  }
  return started;
}

}  // namespace bazaar::chaos
