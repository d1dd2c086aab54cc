// bazaar-chaos: kills and restarts every kind of process of a real cluster under keyed order
// load on a seeded schedule, then checks G1-G3 on the quiet system (docs/CHAOS.md).
// Exit status: 0 when every check holds, 1 on any violation, 2 on a bad flag or a cluster that
// would not start.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/cli.h"
#include "tests/chaos/consistency_checker.h"
#include "tests/chaos/fault_injector.h"
#include "tests/chaos/fault_schedule.h"
#include "tests/chaos/order_clients.h"
#include "tests/chaos/state_reader.h"
#include "tests/integration/cluster.h"

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using bazaar::chaos::FaultKind;

constexpr const char* kProgram = "bazaar-chaos";
constexpr int kExitViolation = 1;
constexpr int kExitSetup = 2;
// Longer than the frontend's --request-timeout (3 s): after the clients are done, an attempt a
// frontend still retries on its own has ended before anything is read.
constexpr auto kSettle = 3500ms;
constexpr auto kConvergePatience = 15s;

std::mutex print_mu;

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
      "kinds", po::value<std::string>()->default_value(""),
      "comma-separated fault kinds to draw from (leader, follower, catalog, broker, frontend, "
      "leader+catalog, majority); default all")(
      "quiet-timeout", po::value<int>()->default_value(60),
      "seconds the clients get to finish their keys once the faults stop (1..3600)")(
      "keep", po::value<std::string>()->default_value(""),
      "copy the cluster's logs and databases here after the run (default: only on failure, to "
      "a directory under /tmp)");
  po::variables_map vm;
  if (int rc = bazaar::common::parse_command_line(
          argc, argv, kProgram,
          "Kills and restarts every process of a Bazaar cluster under keyed orders, then "
          "checks G1-G3.",
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
      kinds.push_back(kind);
    }
  }
  std::string bad;
  if (duration < 1 || duration > 86400) bad = "--duration must be 1..86400";
  if (clients < 1 || clients > 64) bad = "--clients must be 1..64";
  if (frontends < 1 || frontends > 4) bad = "--frontends must be 1..4";
  if (quiet < 1 || quiet > 3600) bad = "--quiet-timeout must be 1..3600";
  if (!bad.empty()) {
    bazaar::common::print_error(kProgram, bad);
    return kExitSetup;
  }

  // The cluster harness reports trouble as gtest failures; collect them instead of a test.
  ::testing::TestPartResultArray gtest_results;
  ::testing::ScopedFakeTestPartResultReporter reporter(
      ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &gtest_results);
  int gtest_seen = 0;

  say(fmt("seed %llu, %d s of faults, %d clients, %d frontend(s), 3 order replicas, stocks",
          static_cast<unsigned long long>(seed), duration, clients, frontends));
  say(fmt("replay: bazaar-chaos --seed %llu --duration %d --clients %d --frontends %d%s%s",
          static_cast<unsigned long long>(seed), duration, clients, frontends,
          kinds.empty() ? "" : " --kinds ", vm["kinds"].as<std::string>().c_str()));
  bazaar::testing::Cluster cluster({.catalog = "stocks", .replicas = 3, .frontends = frontends});
  const auto started = Clock::now();
  cluster.start_all();
  if (auto f = harness_failures(gtest_results, gtest_seen); !f.empty()) {
    for (const auto& l : f) say("setup: " + l);
    say("logs kept in " + keep_logs(cluster.dir(), vm["keep"].as<std::string>(), seed));
    say("VERDICT ERROR: the cluster did not start");
    return kExitSetup;
  }
  bazaar::chaos::StateReader reader(cluster.dir());
  std::string error;
  const auto initial = reader.catalog(error);
  if (initial.empty()) {
    say("setup: cannot read the catalog: " + error);
    return kExitSetup;
  }
  say(fmt("cluster up in %.1f s in %s (leader %s)",
          std::chrono::duration<double>(Clock::now() - started).count(), cluster.dir().c_str(),
          cluster.leader().c_str()));

  bazaar::chaos::ScheduleOptions schedule_options;
  schedule_options.seed = seed;
  schedule_options.duration = std::chrono::seconds(duration);
  schedule_options.kinds = kinds;
  const bazaar::chaos::FaultSchedule schedule(schedule_options);

  bazaar::chaos::ClientOptions client_options;
  for (int k = 1; k <= frontends; ++k) client_options.http_ports.push_back(cluster.http_port(k));
  client_options.clients = clients;
  client_options.seed = seed;
  for (const auto& [name, q] : initial) client_options.items.push_back(name);
  bazaar::chaos::OrderClients load(client_options);
  bazaar::chaos::FaultInjector injector(cluster, schedule, frontends, say);

  // ---- chaos -------------------------------------------------------------------------------
  // The faults run on this thread, the one that started the cluster (see FaultInjector).
  load.start();
  injector.run(Clock::now() + std::chrono::seconds(duration), [&load](int s) {
    if (s % 10 == 0) {
      say(fmt("t=%ds %lld keys answered", s, static_cast<long long>(load.finished_keys())));
    }
  });
  say(fmt("faults stopped after %d events; starting whatever is down", injector.events_done()));

  // ---- quiet -------------------------------------------------------------------------------
  for (const auto& name : injector.repair_all()) say("started " + name);
  const auto quiet_start = Clock::now();
  load.finish(Clock::now() + std::chrono::seconds(quiet));
  say(fmt("clients done %.1f s after the faults stopped",
          std::chrono::duration<double>(Clock::now() - quiet_start).count()));
  std::this_thread::sleep_for(kSettle);
  auto replicas = reader.converged_replicas(cluster.replicas(), kConvergePatience);

  bazaar::chaos::CheckInput input;
  input.replicas = std::move(replicas);
  input.initial = initial;
  input.current = reader.catalog(error);
  if (input.current.empty()) say("cannot read the catalog: " + error);
  input.keys = load.take_records();
  input.applied = reader.applied_trades();
  const bazaar::chaos::ConsistencyChecker checker(input);

  // ---- figures and verdict -----------------------------------------------------------------
  const auto fig = load.figures();
  std::int64_t acknowledged = 0, refused = 0, other = 0;
  for (const auto& k : input.keys) {
    if (k.outcome == bazaar::chaos::KeyOutcome::kAcknowledged)
      ++acknowledged;
    else if (k.outcome == bazaar::chaos::KeyOutcome::kRefused)
      ++refused;
    else
      ++other;
  }
  std::string kills;
  int total_kills = 0;
  for (const auto& [kind, n] : injector.kills_by_kind()) {
    kills += fmt("%s%s %d", kills.empty() ? "" : ", ", kind.c_str(), n);
    total_kills += n;
  }
  say(fmt("kills: %d events (%s)", total_kills, kills.empty() ? "none" : kills.c_str()));
  say(
      fmt("keys issued %zu: acknowledged %lld, refused (409, not enough stock) %lld, "
          "without a final answer or rejected %lld",
          input.keys.size(), static_cast<long long>(acknowledged), static_cast<long long>(refused),
          static_cast<long long>(other)));
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
  for (const auto& p : injector.problems()) violations.push_back("process: " + p);
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
    say(fmt("VERDICT PASS seed %llu: G1 G2 G3 hold (%lld orders, %d kills, %.0f s)",
            static_cast<unsigned long long>(seed), static_cast<long long>(checker.committed()),
            total_kills, std::chrono::duration<double>(Clock::now() - started).count()));
    return 0;
  }
  say(fmt("VERDICT FAIL seed %llu: %zu violation line(s)", static_cast<unsigned long long>(seed),
          violations.size()));
  return kExitViolation;
}
