// bazaar-chaos: kills and restarts every kind of process of a real cluster, pauses processes,
// and (on a cluster in network namespaces, `launch/bazaar up --netns`) cuts and slows the links
// between them, under keyed order load on a seeded schedule; then checks G1-G4 and G7 on the
// quiet system (docs/CHAOS.md).
// Exit status: 0 when every check holds, 1 on any violation, 2 on a bad flag or a cluster that
// would not start.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/cli.h"
#include "tests/chaos/cluster_control.h"
#include "tests/chaos/consistency_checker.h"
#include "tests/chaos/fault_injector.h"
#include "tests/chaos/fault_schedule.h"
#include "tests/chaos/netns_cluster.h"
#include "tests/chaos/order_clients.h"
#include "tests/chaos/state_reader.h"
#include "tests/integration/cluster.h"

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using bazaar::chaos::FaultClass;
using bazaar::chaos::FaultKind;

constexpr const char* kProgram = "bazaar-chaos";
constexpr int kExitViolation = 1;
constexpr int kExitSetup = 2;
// Longer than the frontend's --request-timeout (3 s): after the clients are done, an attempt a
// frontend still retries on its own has ended before anything is read.
constexpr auto kSettle = 3500ms;
constexpr auto kConvergePatience = 15s;
// The quiet period starts once the highest replica leads and has held the same term this long:
// the leader hands office to a higher replica once that one is up to date (DESIGN.md section
// 5), a leader change by design that must come before the quiet period. When the highest one
// does not lead within kHighestPatience, any leader stable for kStableFor will do; at most
// kStablePatience in all.
constexpr auto kStableFor = 2s;
constexpr auto kHighestPatience = 30s;
constexpr auto kStablePatience = 45s;
constexpr int kQuietTries = 3;

// True when this process may make network namespaces.
bool netns_available(std::string& why) {
  if (geteuid() != 0) {
    why = "network faults and --netns need root (namespaces, iptables)";
    return false;
  }
  const std::string probe = "bzchaosprobe-" + std::to_string(getpid());
  if (std::system(("ip netns add " + probe + " 2>/dev/null").c_str()) != 0) {
    why = "cannot create a network namespace here (ip netns add failed)";
    return false;
  }
  (void)std::system(("ip netns del " + probe).c_str());
  return true;
}

std::mutex print_mu;

// Set by SIGINT/SIGTERM/SIGHUP: the run stops early and main returns, so that every destructor
// runs (the namespace cluster's takes it down: namespaces, rules, delayers).
std::atomic<bool> interrupted{false};
void on_interrupt(int) {
  interrupted = true;
}

void say(const std::string& line) {
  std::lock_guard<std::mutex> lock(print_mu);
  std::cout << "chaos: " << line << std::endl;
}

std::string fmt(const char* format, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

// Copies the cluster's directory (logs and databases) where it outlives the run.
std::string keep_logs(const std::string& from, std::string to, std::uint64_t seed) {
  if (to.empty()) {
    to = (fs::temp_directory_path() /
          ("bazaar-chaos-seed" + std::to_string(seed) + "-" + std::to_string(getpid())))
             .string();
  }
  std::error_code ec;
  fs::create_directories(to, ec);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  return ec ? "(could not copy " + from + " to " + to + ": " + ec.message() + ")" : to;
}

// gtest failures the cluster harness recorded (a process not healthy in time, a dump that
// failed), as lines; cleared after reading.
std::vector<std::string> harness_failures(::testing::TestPartResultArray& results, int& seen) {
  std::vector<std::string> out;
  for (; seen < results.size(); ++seen) {
    const auto& r = results.GetTestPartResult(seen);
    if (!r.failed()) continue;
    std::string text = r.message();
    for (auto& c : text) {
      if (c == '\n') c = ' ';
    }
    out.push_back(text);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("Chaos");
  opts.add_options()("help,h", "print this help and exit")(
      "duration", po::value<int>()->default_value(60), "seconds of faults (1..86400)")(
      "seed", po::value<std::uint64_t>(), "seed of the schedule and the clients (default: random)")(
      "clients", po::value<int>()->default_value(8), "concurrent HTTP clients (1..64)")(
      "frontends", po::value<int>()->default_value(2),
      "frontends (1..4); a client whose attempt fails tries the next one with the same key")(
      "faults", po::value<std::string>()->default_value("kill,partition,pause,delay"),
      "comma-separated fault classes: kill, partition, pause, delay, wipe (an order replica "
      "loses its disk and rejoins with --join; not in the default); partition and delay run "
      "the cluster in network namespaces: root")(
      "kinds", po::value<std::string>()->default_value(""),
      "comma-separated fault kinds to draw from, within --faults (leader, follower, catalog, "
      "broker, frontend, leader+catalog, majority; partition-leader, partition-catalog, "
      "partition-frontend, flap, split; pause; delay; wipe); default all of --faults")(
      "netns", "run the cluster in network namespaces even for kill and pause faults only")(
      "run-dir", po::value<std::string>()->default_value(""),
      "the namespace cluster's run directory (new or empty; default: a fresh one under /tmp)")(
      "readers", po::value<int>()->default_value(-1),
      "more clients that keep reading the latest acknowledged orders through any front end "
      "(0..16; default 2 on a namespace cluster, 0 on loopback)")(
      "oneshot-clients", po::value<int>()->default_value(-1),
      "more clients that send each order once without a key and give up on failure (0..16; "
      "default 2 on a namespace cluster, 0 on loopback)")(
      "quiet-timeout", po::value<int>()->default_value(60),
      "seconds the clients get to finish their keys once the faults stop (1..3600)")(
      "keep", po::value<std::string>()->default_value(""),
      "copy the cluster's logs and databases here after the run (default: only on failure, to "
      "a directory under /tmp)");
  po::variables_map vm;
  if (int rc = bazaar::common::parse_command_line(
          argc, argv, kProgram,
          "Kills, pauses, cuts off and slows the processes of a Bazaar cluster under keyed "
          "orders, then checks G1-G4 and G7.",
          opts, vm);
      rc >= 0) {
    return rc;
  }
  const int duration = vm["duration"].as<int>();
  const int clients = vm["clients"].as<int>();
  const int frontends = vm["frontends"].as<int>();
  const int quiet = vm["quiet-timeout"].as<int>();
  const std::uint64_t seed =
      vm.count("seed") ? vm["seed"].as<std::uint64_t>() : std::random_device{}() % 1000000;
  std::vector<FaultClass> classes;
  {
    std::istringstream in(vm["faults"].as<std::string>());
    for (std::string c; std::getline(in, c, ',');) {
      FaultClass fc;
      if (c.empty()) continue;
      if (!bazaar::chaos::parse_fault_class(c, fc)) {
        bazaar::common::print_error(
            kProgram, "unknown fault class '" + c + "' (kill, partition, pause, delay, wipe)");
        return kExitSetup;
      }
      classes.push_back(fc);
    }
  }
  const auto has_class = [&classes](FaultClass c) {
    return std::find(classes.begin(), classes.end(), c) != classes.end();
  };
  std::vector<FaultKind> kinds;
  {
    std::istringstream in(vm["kinds"].as<std::string>());
    for (std::string k; std::getline(in, k, ',');) {
      FaultKind kind;
      if (k.empty()) continue;
      if (!bazaar::chaos::parse_fault_kind(k, kind)) {
        bazaar::common::print_error(kProgram, "unknown fault kind '" + k + "' (see --help)");
        return kExitSetup;
      }
      if (!has_class(bazaar::chaos::class_of(kind))) {
        bazaar::common::print_error(kProgram, "fault kind '" + k + "' is not in --faults");
        return kExitSetup;
      }
      kinds.push_back(kind);
    }
  }
  if (kinds.empty()) {  // every kind of the classes chosen, in the schedule's (enum) order
    for (int k = 0; k < bazaar::chaos::kFaultKinds; ++k) {
      if (has_class(bazaar::chaos::class_of(static_cast<FaultKind>(k)))) {
        kinds.push_back(static_cast<FaultKind>(k));
      }
    }
  }
  const bool use_netns =
      vm.count("netns") || has_class(FaultClass::kPartition) || has_class(FaultClass::kDelay);
  int oneshot = vm["oneshot-clients"].as<int>();
  if (oneshot < 0) oneshot = use_netns ? 2 : 0;
  int readers = vm["readers"].as<int>();
  if (readers < 0) readers = use_netns ? 2 : 0;
  std::string bad;
  if (duration < 1 || duration > 86400) bad = "--duration must be 1..86400";
  if (clients < 1 || clients > 64) bad = "--clients must be 1..64";
  if (frontends < 1 || frontends > 4) bad = "--frontends must be 1..4";
  if (quiet < 1 || quiet > 3600) bad = "--quiet-timeout must be 1..3600";
  if (oneshot > 16) bad = "--oneshot-clients must be 0..16";
  if (readers > 16) bad = "--readers must be 0..16";
  if (classes.empty()) bad = "--faults names no fault class";
  if (!bad.empty()) {
    bazaar::common::print_error(kProgram, bad);
    return kExitSetup;
  }
  if (std::string why; use_netns && !netns_available(why)) {
    bazaar::common::print_error(kProgram,
                                why + "; run as root, or --faults kill,pause on loopback");
    return kExitSetup;
  }

  // The cluster harness reports trouble as gtest failures; collect them instead of a test.
  ::testing::TestPartResultArray gtest_results;
  ::testing::ScopedFakeTestPartResultReporter reporter(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &gtest_results);
  int gtest_seen = 0;

  const std::string faults_arg = vm["faults"].as<std::string>();
  say(
      fmt("seed %llu, %d s of faults (%s), %d clients + %d one-shot, %d frontend(s), 3 order "
          "replicas, stocks, %s",
          static_cast<unsigned long long>(seed), duration, faults_arg.c_str(), clients, oneshot,
          frontends, use_netns ? "each process in a network namespace" : "loopback"));
  say(
      fmt("replay: launch/bazaar chaos --seed %llu --duration %d --clients %d --frontends %d "
          "--faults %s --oneshot-clients %d --readers %d%s%s%s",
          static_cast<unsigned long long>(seed), duration, clients, frontends, faults_arg.c_str(),
          oneshot, readers, vm.count("netns") ? " --netns" : "",
          vm["kinds"].as<std::string>().empty() ? "" : " --kinds ",
          vm["kinds"].as<std::string>().c_str()));
  // The namespace cluster's directory goes when the run is over, after the cluster (declared
  // first, so destroyed last; its logs were copied first when kept). The loopback Cluster
  // removes its own.
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } remove_netns_dir;
  // One of the two clusters; `control` is what the injector and the checks drive.
  std::unique_ptr<bazaar::testing::Cluster> loopback;
  std::unique_ptr<bazaar::chaos::NetnsCluster> netns;
  std::unique_ptr<bazaar::chaos::ClusterControl> loopback_control;
  bazaar::chaos::ClusterControl* control = nullptr;
  std::string netns_dir = vm["run-dir"].as<std::string>();
  const bool own_netns_dir = netns_dir.empty();
  const auto started = Clock::now();
  {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
  }
  if (use_netns) {
    if (own_netns_dir) {
      std::string tmpl = (fs::temp_directory_path() / "bazaar-chaos-netns-XXXXXX").string();
      if (!mkdtemp(tmpl.data())) {
        say("setup: mkdtemp failed");
        return kExitSetup;
      }
      netns_dir = tmpl;
    }
    fs::create_directories(netns_dir);
    netns_dir = fs::canonical(netns_dir).string();
    netns = std::make_unique<bazaar::chaos::NetnsCluster>(
        bazaar::chaos::NetnsOptions{.launch = std::string(BAZAAR_SOURCE_DIR) + "/launch/bazaar",
                                    .dir = netns_dir,
                                    .replicas = 3,
                                    .frontends = frontends});
    std::string error;
    if (!netns->up(error)) {
      say("setup: " + error);
      say("logs kept in " + keep_logs(netns_dir, vm["keep"].as<std::string>(), seed));
      say("VERDICT ERROR: the cluster did not start");
      return kExitSetup;
    }
    control = netns.get();
  } else {
    loopback = std::make_unique<bazaar::testing::Cluster>(bazaar::testing::ClusterOptions{
        .catalog = "stocks", .replicas = 3, .frontends = frontends});
    loopback->start_all();
    if (auto f = harness_failures(gtest_results, gtest_seen); !f.empty()) {
      for (const auto& l : f) say("setup: " + l);
      say("logs kept in " + keep_logs(loopback->dir(), vm["keep"].as<std::string>(), seed));
      say("VERDICT ERROR: the cluster did not start");
      return kExitSetup;
    }
    loopback_control = std::make_unique<bazaar::chaos::LoopbackControl>(*loopback, frontends);
    control = loopback_control.get();
  }
  auto& cluster = *control;
  if (use_netns && own_netns_dir) remove_netns_dir.dir = netns_dir;
  bazaar::chaos::StateReader reader(cluster.dir());
  std::string error;
  const auto initial = reader.catalog(error);
  if (initial.empty()) {
    say("setup: cannot read the catalog: " + error);
    return kExitSetup;
  }
  say(fmt("cluster up in %.1f s in %s (leader %s)%s",
          std::chrono::duration<double>(Clock::now() - started).count(), cluster.dir().c_str(),
          cluster.leader().c_str(),
          use_netns ? fmt(", front ends at %s ...", cluster.url(1).c_str()).c_str() : ""));

  bazaar::chaos::ScheduleOptions schedule_options;
  schedule_options.seed = seed;
  schedule_options.duration = std::chrono::seconds(duration);
  schedule_options.kinds = kinds;
  const bazaar::chaos::FaultSchedule schedule(schedule_options);

  bazaar::chaos::ClientOptions client_options;
  for (int k = 1; k <= frontends; ++k) client_options.urls.push_back(cluster.url(k));
  client_options.clients = clients;
  client_options.oneshot_clients = oneshot;
  client_options.readers = readers;
  client_options.seed = seed;
  for (const auto& [name, q] : initial) client_options.items.push_back(name);
  // Each keyed client alone trades one item (read-your-writes is then exact); the rest of the
  // items are the one-shot clients'. With as many clients as items, no ownership.
  client_options.own_items = clients < static_cast<int>(initial.size());
  client_options.initial = initial;
  if (!client_options.own_items) {
    say("read-your-writes lookups not checked: --clients must be below the 10 items");
  }
  bazaar::chaos::OrderClients load(client_options);
  bazaar::chaos::FaultInjector injector(cluster, netns.get(), schedule, say);

  // ---- chaos -------------------------------------------------------------------------------
  // The faults run on this thread, the one that started the cluster (see FaultInjector).
  injector.set_stop_flag(&interrupted);
  load.start();
  injector.run(Clock::now() + std::chrono::seconds(duration), [&load](int s) {
    if (s % 10 == 0) {
      say(fmt("t=%ds %lld keys answered", s, static_cast<long long>(load.finished_keys())));
    }
  });
  say(fmt("faults stopped after %d events; starting whatever is down", injector.events_done()));

  if (interrupted) {
    load.finish(Clock::now());
    say("interrupted: no checks; taking the cluster down");
    return kExitSetup;
  }
  // ---- quiet -------------------------------------------------------------------------------
  for (const auto& name : injector.repair_all()) say("started " + name);
  // G2 must hold without a leader change after the faults: the quiet period starts once the
  // leadership has settled, and the same leader in the same term must still lead when the
  // state has been read. A leader change in between (no fault is running: a replica starved of
  // CPU on a loaded machine, say) would roll given-up trades forward and hide V1, so the state
  // of such a quiet period is not used: a new one is waited for, at most kQuietTries in all.
  std::string quiet_leader;
  std::uint64_t quiet_term = 0;
  const auto settle_leadership = [&] {
    const auto from = Clock::now();
    const std::string highest = "order-" + std::to_string(cluster.replicas());
    auto since = Clock::now();
    quiet_leader.clear();
    quiet_term = 0;
    for (;;) {
      std::uint64_t term = 0;
      const std::string l = cluster.leader(&term);
      if (l.empty() || l != quiet_leader || term != quiet_term) {
        quiet_leader = l;
        quiet_term = term;
        since = Clock::now();
      } else if (Clock::now() - since >= kStableFor &&
                 (l == highest || Clock::now() - from > kHighestPatience)) {
        break;
      }
      if (Clock::now() - from > kStablePatience) break;
      std::this_thread::sleep_for(200ms);
    }
    say(fmt("quiet period: %s leads term %llu",
            quiet_leader.empty() ? "nobody" : quiet_leader.c_str(),
            static_cast<unsigned long long>(quiet_term)));
  };
  settle_leadership();
  const auto quiet_start = Clock::now();
  load.finish(Clock::now() + std::chrono::seconds(quiet));
  say(fmt("clients done %.1f s after the faults stopped",
          std::chrono::duration<double>(Clock::now() - quiet_start).count()));

  bazaar::chaos::CheckInput input;
  input.initial = initial;
  std::uint64_t end_term = 0;
  std::string end_leader;
  for (int tries = 1;; ++tries) {
    std::this_thread::sleep_for(kSettle);
    input.replicas = reader.converged_replicas(cluster.replicas(), kConvergePatience);
    input.current = reader.catalog(error);
    if (input.current.empty()) say("cannot read the catalog: " + error);
    input.applied = reader.applied_trades();
    end_leader = cluster.leader(&end_term);
    if ((end_leader == quiet_leader && end_term == quiet_term) || tries >= kQuietTries) break;
    say(
        fmt("the leadership changed during the quiet period (%s term %llu, now %s term %llu): "
            "its state is not used; waiting for another (%d of %d)",
            quiet_leader.c_str(), static_cast<unsigned long long>(quiet_term),
            end_leader.empty() ? "nobody" : end_leader.c_str(),
            static_cast<unsigned long long>(end_term), tries + 1, kQuietTries));
    settle_leadership();
  }
  input.keys = load.take_records();
  const bazaar::chaos::ConsistencyChecker checker(input);

  // ---- figures and verdict -----------------------------------------------------------------
  const auto fig = load.figures();
  std::int64_t acknowledged = 0, refused = 0, other = 0;
  for (const auto& k : input.keys) {
    if (k.oneshot) continue;
    if (k.outcome == bazaar::chaos::KeyOutcome::kAcknowledged)
      ++acknowledged;
    else if (k.outcome == bazaar::chaos::KeyOutcome::kRefused)
      ++refused;
    else
      ++other;
  }
  std::string kills;
  int total_kills = 0;
  for (const auto& [kind, n] : injector.faults_by_kind()) {
    kills += fmt("%s%s %d", kills.empty() ? "" : ", ", kind.c_str(), n);
    total_kills += n;
  }
  say(fmt("faults: %d events (%s)", total_kills, kills.empty() ? "none" : kills.c_str()));
  std::int64_t os_acked = 0, os_refused = 0, os_given_up = 0;
  for (const auto& k : input.keys) {
    if (!k.oneshot) continue;
    if (k.outcome == bazaar::chaos::KeyOutcome::kAcknowledged)
      ++os_acked;
    else if (k.outcome == bazaar::chaos::KeyOutcome::kRefused)
      ++os_refused;
    else
      ++os_given_up;
  }
  say(
      fmt("keys issued %zu: acknowledged %lld, refused (409, not enough stock) %lld, "
          "without a final answer or rejected %lld",
          static_cast<std::size_t>(acknowledged + refused + other),
          static_cast<long long>(acknowledged), static_cast<long long>(refused),
          static_cast<long long>(other)));
  if (oneshot > 0) {
    say(
        fmt("one-shot orders %lld: acknowledged %lld, refused %lld, given up after one failed "
            "attempt %lld",
            static_cast<long long>(os_acked + os_refused + os_given_up),
            static_cast<long long>(os_acked), static_cast<long long>(os_refused),
            static_cast<long long>(os_given_up)));
  }
  say(
      fmt("read back right after the ack: %lld orders (%lld retries of a 5xx/timeout); owned-item "
          "lookups compared: %lld; acknowledged orders read again: %lld (%lld 5xx/timeouts)",
          static_cast<long long>(fig.readbacks), static_cast<long long>(fig.readback_retries),
          static_cast<long long>(fig.lookups_checked), static_cast<long long>(fig.rereads),
          static_cast<long long>(fig.rereads_unavailable)));
  say(fmt("orders committed %lld, identical on %d replicas: %s",
          static_cast<long long>(checker.committed()), cluster.replicas(),
          checker.passed() ? "yes" : "see below"));
  say(fmt(
      "attempts %lld, retries %lld, client-visible failures %lld (5xx %lld, timeouts %lld, "
      "connection %lld)",
      static_cast<long long>(fig.attempts), static_cast<long long>(fig.retries),
      static_cast<long long>(fig.failures()), static_cast<long long>(fig.failed_5xx),
      static_cast<long long>(fig.failed_timeout), static_cast<long long>(fig.failed_connection)));
  say(fmt("worst latency: one attempt %lld ms, one order (first attempt to answer) %lld ms",
          static_cast<long long>(fig.worst_attempt.count()),
          static_cast<long long>(fig.worst_order.count())));

  std::vector<std::string> violations = checker.violations();
  for (const auto& f : load.reread_failures()) violations.push_back("G7 read again: " + f);
  if (end_leader != quiet_leader || end_term != quiet_term) {
    violations.push_back(
        fmt("G2 quiet: the leadership changed in each of %d quiet periods (the last: %s term %llu, "
            "then %s term %llu): conservation is not shown without a leader change",
            kQuietTries, quiet_leader.empty() ? "nobody" : quiet_leader.c_str(),
            static_cast<unsigned long long>(quiet_term),
            end_leader.empty() ? "nobody" : end_leader.c_str(),
            static_cast<unsigned long long>(end_term)));
  }
  for (const auto& p : injector.problems()) violations.push_back("process: " + p);
  if (netns) {
    for (const auto& r : netns->leftover_rules()) {
      violations.push_back("harness: a fault's rule was left after healing: " + r);
    }
  }
  for (const auto& f : harness_failures(gtest_results, gtest_seen)) {
    violations.push_back("harness: " + f);
  }
  for (const auto& v : violations) say("VIOLATION " + v);
  const bool keep = !vm["keep"].as<std::string>().empty();
  if (!violations.empty() || keep) {
    say("logs and databases kept in " +
        keep_logs(cluster.dir(), vm["keep"].as<std::string>(), seed));
  }
  if (violations.empty()) {
    say(fmt("VERDICT PASS seed %llu: G1 G2 G3 G4 G7 hold (%lld orders, %d faults, %.0f s)",
            static_cast<unsigned long long>(seed), static_cast<long long>(checker.committed()),
            total_kills, std::chrono::duration<double>(Clock::now() - started).count()));
    return 0;
  }
  say(fmt("VERDICT FAIL seed %llu: %zu violation line(s); replay with the command above",
          static_cast<unsigned long long>(seed), violations.size()));
  return kExitViolation;
}
