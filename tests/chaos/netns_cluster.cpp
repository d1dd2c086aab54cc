#include "tests/chaos/netns_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "client/http_client.h"
#include "common/cli.h"
#include "common/rpc_client.h"
#include "common/socket_policy.h"

namespace bazaar::chaos {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Cluster;

namespace {

// Internal ports inside each namespace (every process has its own address, so any fixed range
// is free there; several runs on one machine differ in their subnets, not their ports).
constexpr int kBasePort = 15550;
constexpr int kHttpPort = 18080;
// The comment on every rule of ours, so an operator can tell them from anything else.
constexpr const char* kRuleTag = "bazaar-chaos";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Forks `argv` (searched in PATH) with stdout/stderr appended to `log`; dies with this thread.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Cluster::run_binary execs without a PATH search: the full path of ip.
std::string ip_path() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "ip";
}

}  // namespace

NetnsCluster::NetnsCluster(NetnsOptions options) : options_(std::move(options)) {
  // Every binary this process and the launch script run (bazaar-client status included) speak
  // CURVE with the run directory's keys; set before any socket exists.
  ::setenv("BAZAAR_CURVE_DIR", (options_.dir + "/curve").c_str(), 1);
  ::setenv("BAZAAR_BIN_DIR", BAZAAR_BIN_DIR, 1);
}

NetnsCluster::~NetnsCluster() {
  heal();
  if (!options_.dir.empty()) {
    // Also after a failed up: the script removes whatever of the layout exists.
    Cluster::run_binary({"/bin/bash", options_.launch, "down", "--run-dir", options_.dir}, 60s);
  }
}

bool NetnsCluster::up(std::string& error) {
  auto [rc, out] = Cluster::run_binary(
      {"/bin/bash", options_.launch, "up", "--netns", "--run-dir", options_.dir, "--port",
       std::to_string(kHttpPort), "--base-port", std::to_string(kBasePort), "--replicas",
       std::to_string(options_.replicas), "--frontends", std::to_string(options_.frontends),
       "--catalog", options_.catalog},
      std::chrono::seconds(120));
  if (rc != 0) {
    error = "launch/bazaar up --netns failed (" + std::to_string(rc) + "): " + out;
    return false;
  }
  // This cluster's keys for the harness's own sockets (status requests). The process reads
  // BAZAAR_CURVE_DIR once, at its first socket, and a test may run one cluster after another.
  try {
    common::SocketPolicy policy = common::socket_policy();
    policy.curve = common::load_curve_keys(options_.dir + "/curve");
    common::set_socket_policy(std::move(policy));
  } catch (const common::StartupError& e) {
    error = std::string("cannot read the cluster's keys: ") + e.what();
    return false;
  }
  base_port_ = kBasePort;
  http_port_ = kHttpPort;
  std::istringstream table(read_file(options_.dir + "/netns.txt"));
  for (std::string name, ns, addr, veth; table >> name >> ns >> addr >> veth;) {
    hosts_[name] = {ns, addr};
  }
  if (hosts_.size() != names().size()) {
    error = "netns.txt in " + options_.dir + " lists " + std::to_string(hosts_.size()) +
            " processes, expected " + std::to_string(names().size());
    return false;
  }
  is_up_ = true;
  return true;
}

std::string NetnsCluster::address(const std::string& name) const {
  return hosts_.at(name).second;
}

std::string NetnsCluster::url(int frontend) const {
  return "http://" + address("frontend-" + std::to_string(frontend)) + ":" +
         std::to_string(http_port_ + frontend - 1);
}

std::string NetnsCluster::endpoint(const std::string& name) const {
  int port = 0;
  if (name == "broker") port = base_port_ + 2;  // control
  if (name == "catalog") port = base_port_ + 3;
  if (name.rfind("order-", 0) == 0) port = base_port_ + 10 + 2 * (std::stoi(name.substr(6)) - 1);
  return "tcp://" + address(name) + ":" + std::to_string(port);
}

pid_t NetnsCluster::pid_of(const std::string& name) const {
  const std::string text = read_file(options_.dir + "/" + name + ".pid");
  return text.empty() ? -1 : static_cast<pid_t>(std::atol(text.c_str()));
}

bool NetnsCluster::running(const std::string& name) {
  const pid_t pid = pid_of(name);
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  // Still a bazaar binary (not a reused pid), and not a zombie waiting for its reaper.
  if (read_file("/proc/" + std::to_string(pid) + "/cmdline").find("bazaar-") == std::string::npos)
    return false;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

void NetnsCluster::kill(const std::string& name) {
  const pid_t pid = pid_of(name);
  if (pid <= 0 || !running(name)) return;
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 500 && running(name); ++i) std::this_thread::sleep_for(10ms);
}

void NetnsCluster::signal(const std::string& name, int sig) {
  const pid_t pid = pid_of(name);
  if (pid > 0 && running(name)) ::kill(pid, sig);
}

void NetnsCluster::start(const std::string& name) {
  Cluster::run_binary({"/bin/bash", options_.launch, "start", name, "--run-dir", options_.dir},
                      60s);
}

bool NetnsCluster::replace(const std::string& name, std::chrono::milliseconds timeout) {
  const auto [rc, out] = Cluster::run_binary(
      {"/bin/bash", options_.launch, "replace", name, "--run-dir", options_.dir},
      std::chrono::duration_cast<std::chrono::seconds>(timeout));
  return rc == 0;
}

bool NetnsCluster::wait_healthy(const std::string& name, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  zmq::context_t ctx(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running(name)) return false;
    if (name.rfind("frontend-", 0) == 0) {
      client::HttpClient http(url(std::stoi(name.substr(9))), 1000ms);
      const auto res = http.get("/health");
      if (res.ok() && res.reply.status == 200 &&
          res.reply.body.find("\"catalog\":true") != std::string::npos &&
          res.reply.body.find("\"leader\":{") != std::string::npos) {
        return true;
      }
    } else {
      common::RpcClient client(ctx, endpoint(name));
      if (client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms).ok()) return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string NetnsCluster::leader(std::uint64_t* term) {
  zmq::context_t ctx(1);
  for (int k = options_.replicas; k >= 1; --k) {
    const std::string name = "order-" + std::to_string(k);
    common::RpcClient client(ctx, endpoint(name));
    auto st = client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms);
    if (st.ok() && st.reply.role == "leader") {
      if (term) *term = st.reply.term;
      return name;
    }
  }
  return "";
}

void NetnsCluster::add_rules(const std::string& name, const std::vector<std::string>& rules) {
  const std::string ns = hosts_.at(name).first;
  const std::string path = options_.dir + "/rules-" + name + ".txt";
  {
    std::ofstream f(path, std::ios::trunc);
    f << "*filter\n";
    for (const auto& r : rules) f << r << " -m comment --comment " << kRuleTag << "\n";
    f << "COMMIT\n";
  }
  touched_.insert(name);
  auto [rc, out] = Cluster::run_binary(
      {ip_path(), "netns", "exec", ns, "iptables-restore", "-w", "5", "--noflush", path}, 10s);
  if (rc != 0) {
    std::fprintf(stderr, "chaos: iptables-restore in %s failed (%d): %s\n", ns.c_str(), rc,
                 out.c_str());
  }
}

void NetnsCluster::cut(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  // Rules on the `a` side only, for both directions: nothing from b comes in, nothing to b goes
  // out. The other side needs none (what it sends never arrives, what it awaits never leaves).
  for (const auto& x : a) {
    std::vector<std::string> rules;
    for (const auto& y : b) {
      if (x == y) continue;
      rules.push_back("-A INPUT -s " + address(y) + "/32 -j DROP");
      rules.push_back("-A OUTPUT -d " + address(y) + "/32 -j DROP");
    }
    if (!rules.empty()) add_rules(x, rules);
  }
}

bool NetnsCluster::slow(const std::string& a, const std::string& b, int delay_ms, int jitter_ms,
                        double loss_percent, std::uint64_t seed) {
  const std::string netem = std::string(BAZAAR_BIN_DIR) + "/bazaar-netem";
  if (access(netem.c_str(), X_OK) != 0) return false;
  char loss[32];
  std::snprintf(loss, sizeof loss, "%.2f", loss_percent);
  for (const auto& [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
    // The delayer first, then the rule: a packet queued before it listens would pass anyway
    // (--queue-bypass), never be lost.
    const pid_t pid =
        spawn_logged({"ip", "netns", "exec", hosts_.at(x).first, netem, "--queue", "0", "--delay",
                      std::to_string(delay_ms), "--jitter", std::to_string(jitter_ms), "--loss",
                      loss, "--seed", std::to_string(seed++)},
                     options_.dir + "/netem.log");
    delayers_.push_back(pid);
    std::this_thread::sleep_for(50ms);
    add_rules(x, {"-A OUTPUT -d " + address(y) + "/32 -j NFQUEUE --queue-num 0 --queue-bypass"});
  }
  return true;
}

std::vector<std::string> NetnsCluster::leftover_rules() {
  std::vector<std::string> out;
  for (const auto& [name, host] : hosts_) {
    auto [rc, text] =
        Cluster::run_binary({ip_path(), "netns", "exec", host.first, "iptables-save"}, 10s);
    for (const auto& line : testing::lines_of(text)) {
      if (line.find(kRuleTag) != std::string::npos) out.push_back(name + ": " + line);
    }
  }
  return out;
}

void NetnsCluster::heal() {
  // Rules first (new packets flow again), then the delayers, which accept what they still hold.
  for (const auto& name : touched_) {
    Cluster::run_binary(
        {ip_path(), "netns", "exec", hosts_.at(name).first, "iptables", "-w", "5", "-F"}, 10s);
  }
  touched_.clear();
  for (pid_t pid : delayers_) ::kill(pid, SIGTERM);
  for (pid_t pid : delayers_) {
    bool done = false;
    for (int i = 0; i < 300 && !done; ++i) {
      done = waitpid(pid, nullptr, WNOHANG) == pid;
      if (!done) std::this_thread::sleep_for(10ms);
    }
    if (!done) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  delayers_.clear();
}

}  // namespace bazaar::chaos
