// Integration harness: the real binaries as real processes on free loopback ports in a temporary
// directory. Everything started is killed when the Cluster goes away, also when a test fails,
// and (PR_SET_PDEATHSIG) when the test process itself dies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proto_msgs/messages.h"

namespace bazaar::testing {

/// Polls `f` every 10 ms until it returns true or `budget` passes; returns the time it took, or
/// budget + 1 ms when it never did (so `EXPECT_LE(time_until(f, b), b)` reads as "within b").
template <class F>
std::chrono::milliseconds time_until(F f, std::chrono::milliseconds budget) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  while (Clock::now() - start <= budget) {
    if (f()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return budget + std::chrono::milliseconds(1);
}

/// The lines of `text`, without their newlines.
std::vector<std::string> lines_of(const std::string& text);

/// One child process with its command line and log file.
class Process {
 public:
  Process(std::string name, std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Starts the process with its command line, and `extra` arguments after it (this start only).
  void start(const std::vector<std::string>& extra = {});
  /// Sends `sig` and waits up to 5 s for the process to end (SIGKILL after that).
  void stop(int sig);
  bool running();
  /// The exit status of the last start that ended on its own (running() saw it go), or -1.
  int exit_status() const { return exit_status_; }
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  std::string log_path_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

struct ClusterOptions {
  std::string catalog = "toys";  // toys | stocks | path of a CSV
  int replicas = 3;
  int frontends = 1;
  std::vector<std::string> frontend_args;  // extra flags for every frontend
  /// Words put before every frontend's command line, e.g. {"prlimit", "--nofile=256", "--"}
  /// (the wrapper must exec the binary, so that the pid is the frontend's).
  std::vector<std::string> frontend_prefix;
  std::vector<std::string> catalog_args;  // extra flags for the catalog
  std::vector<std::string> order_args;    // extra flags for every order replica
  std::vector<std::string> service_args;  // extra flags for every process (e.g. --curve-dir)
};

/// A whole cluster: broker, catalog, order replicas, frontends.
///
/// Start and restart processes from one long-lived thread (the test's own): PR_SET_PDEATHSIG
/// fires when the thread that forked a child ends, not the process, so a process started from a
/// short-lived helper thread is killed when that thread returns.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});
  ~Cluster();

  /// Starts every process in dependency order and waits until each is healthy (services answer
  /// StatusRequest; frontends report a catalog and a leader). Fails the test when one is not
  /// healthy within 20 s.
  void start_all();

  /// Process names: broker, catalog, order-1..R, frontend-1..F.
  void kill(const std::string& name, int sig = 9);
  /// Sends `sig` (SIGSTOP, SIGCONT, ...) to a running process and returns at once.
  void signal(const std::string& name, int sig);
  /// Starts `name` again (with `extra` arguments after its usual ones, this start only) and
  /// waits until it is healthy.
  void start(const std::string& name, const std::vector<std::string>& extra = {});
  /// Starts one process without waiting for it to be healthy (a front end whose services are
  /// deliberately not there).
  void launch(const std::string& name);
  bool running(const std::string& name);
  /// Process::exit_status() of `name`.
  int exit_status(const std::string& name) const;
  /// The pid of a running process, or -1.
  pid_t pid(const std::string& name) const;
  /// Waits for one process to be healthy; returns false after `timeout`.
  bool wait_healthy(const std::string& name,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

  int http_port(int frontend = 1) const { return http_port_ + frontend - 1; }
  std::string endpoint(const std::string& name) const;
  const std::string& dir() const { return dir_; }

  /// Runs `launch`-style dumps through the binaries' --dump mode and returns their lines.
  std::vector<std::string> dump_catalog() const;
  std::vector<std::string> dump_orders(int replica = 1) const;
  /// Waits (up to 5 s) until every replica's dump is the same, and returns it; fails the test
  /// when they still differ.
  std::vector<std::string> converged_orders() const;
  /// Everything process `name` has logged so far (every start of it), or "" when unknown.
  std::string log_of(const std::string& name) const;
  /// The replica that says it leads ("order-K"), or "" when none answers so.
  std::string leader() const;
  /// Replica `name`'s StatusReply, or nullopt when it does not answer within 300 ms.
  std::optional<proto::StatusReply> status(const std::string& name) const;
  int replicas() const { return options_.replicas; }

  /// Runs a binary of the build (bazaar-client, ...) and returns {exit code, stdout+stderr}.
  static std::pair<int, std::string> run_binary(
      const std::vector<std::string>& argv,
      std::chrono::seconds timeout = std::chrono::seconds(30));
  /// The path of a binary: in $BAZAAR_TEST_BIN_DIR when set, else in the build's bin/.
  static std::string bin(const std::string& name);

 private:
  std::vector<std::string> command_for(const std::string& name) const;
  std::string endpoint_at(int offset) const;

  ClusterOptions options_;
  std::string dir_;
  int base_port_ = 0;
  int http_port_ = 0;
  std::map<std::string, std::unique_ptr<Process>> processes_;
  std::vector<std::string> order_;  // start order
};

/// A field of /proc/PID/status in kB ("VmHWM", "VmRSS"), or -1.
long proc_status_kb(pid_t pid, const std::string& field);

/// A base port P such that P..P+29 and `extra` more ports after P+30 are free on 127.0.0.1.
int find_free_port_range(int extra);

}  // namespace bazaar::testing
