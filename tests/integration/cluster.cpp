#include "cluster.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "common/rpc_client.h"

namespace bazaar::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Forks and execs argv with stdout and stderr appended to `log`. The child dies with us.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

bool port_free(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

}  // namespace

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

int find_free_port_range(int extra) {
  std::random_device rd;
  std::mt19937 rng(rd());
  // Below Linux's ephemeral range (32768 and up), where outgoing connections take their local
  // ports: a port free now there could be taken by any client a moment later.
  std::uniform_int_distribution<int> pick(10000, 32000 - 30 - extra);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = pick(rng);
    bool ok = true;
    for (int p = base; p < base + 30 + extra && ok; ++p) ok = port_free(p);
    if (ok) return base;
  }
  ADD_FAILURE() << "no free port range on 127.0.0.1";
  return 0;
}

// ---- Process ----------------------------------------------------------------------------------

Process::Process(std::string name, std::vector<std::string> argv, std::string log_path)
    : name_(std::move(name)), argv_(std::move(argv)), log_path_(std::move(log_path)) {}

Process::~Process() {
  if (pid_ > 0) stop(SIGKILL);
}

void Process::start(const std::vector<std::string>& extra) {
  if (running()) return;
  std::vector<std::string> argv = argv_;
  argv.insert(argv.end(), extra.begin(), extra.end());
  pid_ = spawn(argv, log_path_);
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return false;
  }
  return true;
}

void Process::stop(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

// ---- Cluster ----------------------------------------------------------------------------------

std::string Cluster::bin(const std::string& name) {
  // BAZAAR_TEST_BIN_DIR runs the tests against other binaries (another commit's, for figures
  // before and after a change).
  if (const char* dir = std::getenv("BAZAAR_TEST_BIN_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/" + name;
  }
  return std::string(BAZAAR_BIN_DIR) + "/" + name;
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string tag = info ? std::string(info->test_suite_name()) + "." + info->name() : "cluster";
  for (auto& c : tag) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '.') c = '_';
  }
  std::string tmpl = (fs::temp_directory_path() / ("bazaar-" + tag + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  base_port_ = find_free_port_range(options_.frontends);
  http_port_ = base_port_ + 30;
  order_ = {"broker", "catalog"};
  for (int k = 1; k <= options_.replicas; ++k) order_.push_back("order-" + std::to_string(k));
  for (int k = 1; k <= options_.frontends; ++k) order_.push_back("frontend-" + std::to_string(k));
  for (const auto& name : order_) {
    auto argv = command_for(name);
    argv.insert(argv.end(), options_.service_args.begin(), options_.service_args.end());
    processes_[name] = std::make_unique<Process>(name, argv, dir_ + "/" + name + ".log");
  }
}

Cluster::~Cluster() {
  // Reverse order: frontends first, broker last.
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) processes_[*it]->stop(SIGKILL);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info && info->result()->Failed()) {
    // Keep the logs of a failed test where the developer can read them.
    std::cerr << "cluster logs kept in " << dir_ << "\n";
    for (const auto& name : order_) {
      std::ifstream log(dir_ + "/" + name + ".log");
      std::string text((std::istreambuf_iterator<char>(log)), {});
      if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
      std::cerr << "---- " << name << ".log\n" << text;
    }
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Cluster::endpoint_at(int offset) const {
  return "tcp://127.0.0.1:" + std::to_string(base_port_ + offset);
}

std::string Cluster::endpoint(const std::string& name) const {
  if (name == "broker") return endpoint_at(2);  // control
  if (name == "catalog") return endpoint_at(3);
  if (name.rfind("order-", 0) == 0) return endpoint_at(10 + 2 * (std::stoi(name.substr(6)) - 1));
  return "";
}

std::vector<std::string> Cluster::command_for(const std::string& name) const {
  if (name == "broker") {
    return {bin("bazaar-broker"), "--xsub",    endpoint_at(0), "--xpub",
            endpoint_at(1),       "--control", endpoint_at(2)};
  }
  if (name == "catalog") {
    std::vector<std::string> c{
        bin("bazaar-catalog"), "--endpoint", endpoint_at(3),  "--bus", endpoint_at(0), "--db",
        dir_ + "/catalog.db",  "--catalog",  options_.catalog};
    c.insert(c.end(), options_.catalog_args.begin(), options_.catalog_args.end());
    return c;
  }
  std::string orders, peers;
  for (int j = 1; j <= options_.replicas; ++j) {
    orders += (j > 1 ? "," : "") + endpoint_at(10 + 2 * (j - 1));
    peers += (j > 1 ? "," : "") + endpoint_at(11 + 2 * (j - 1));
  }
  if (name.rfind("order-", 0) == 0) {
    std::vector<std::string> c{bin("bazaar-order"),      "--id",    name.substr(6), "--endpoint",
                               endpoint(name),           "--peers", peers,          "--catalog",
                               endpoint_at(3),           "--bus",   endpoint_at(0), "--db",
                               dir_ + "/" + name + ".db"};
    c.insert(c.end(), options_.order_args.begin(), options_.order_args.end());
    return c;
  }
  const int k = std::stoi(name.substr(std::string("frontend-").size()));
  std::vector<std::string> c{bin("bazaar-frontend"),
                             "--port",
                             std::to_string(http_port(k)),
                             "--catalog",
                             endpoint_at(3),
                             "--orders",
                             orders,
                             "--bus",
                             endpoint_at(1),
                             "--threads",
                             "2"};
  c.insert(c.end(), options_.frontend_args.begin(), options_.frontend_args.end());
  c.insert(c.begin(), options_.frontend_prefix.begin(), options_.frontend_prefix.end());
  return c;
}

void Cluster::start_all() {
  // The order replicas start together, so that their election timeouts (shorter for higher ids)
  // decide the first leader, as they would after a crash; the rest in dependency order.
  for (const auto& name : order_) {
    const bool replica = name.rfind("order-", 0) == 0;
    processes_[name]->start();
    if (replica && name != "order-" + std::to_string(options_.replicas)) continue;
    if (replica) {
      for (int k = 1; k <= options_.replicas; ++k) {
        const std::string r = "order-" + std::to_string(k);
        ASSERT_TRUE(wait_healthy(r)) << r << " not healthy; log " << processes_[r]->log_path();
      }
      continue;
    }
    ASSERT_TRUE(wait_healthy(name)) << name << " not healthy; log " << processes_[name]->log_path();
  }
}

void Cluster::kill(const std::string& name, int sig) {
  processes_.at(name)->stop(sig);
}

void Cluster::signal(const std::string& name, int sig) {
  const pid_t pid = processes_.at(name)->pid();
  ASSERT_GT(pid, 0) << name << " is not running";
  ASSERT_EQ(::kill(pid, sig), 0) << name << ": " << std::strerror(errno);
}

void Cluster::start(const std::string& name, const std::vector<std::string>& extra) {
  processes_.at(name)->start(extra);
  ASSERT_TRUE(wait_healthy(name)) << name << " not healthy after restart";
}

void Cluster::launch(const std::string& name) {
  processes_.at(name)->start();
}

bool Cluster::running(const std::string& name) {
  return processes_.at(name)->running();
}

int Cluster::exit_status(const std::string& name) const {
  return processes_.at(name)->exit_status();
}

pid_t Cluster::pid(const std::string& name) const {
  return processes_.at(name)->pid();
}

bool Cluster::wait_healthy(const std::string& name, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  zmq::context_t ctx(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!processes_.at(name)->running()) return false;
    if (name.rfind("frontend-", 0) == 0) {
      const int k = std::stoi(name.substr(9));
      auto [rc, out] = run_binary({bin("bazaar-client"), "--timeout", "1000", "--url",
                                   "http://127.0.0.1:" + std::to_string(http_port(k)), "health"},
                                  5s);
      if (rc == 0 && out.find("\"catalog\":true") != std::string::npos &&
          out.find("\"leader\":{") != std::string::npos) {
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

std::pair<int, std::string> Cluster::run_binary(const std::vector<std::string>& argv,
                                                std::chrono::seconds timeout) {
  char path[] = "/tmp/bazaar-run-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  close(fd);
  const pid_t pid = spawn(argv, path);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool done = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      done = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  if (!done) {
    ::kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  std::ifstream in(path);
  std::string out((std::istreambuf_iterator<char>(in)), {});
  unlink(path);
  if (!done) return {-2, out + "\n(timed out)"};
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

std::string Cluster::log_of(const std::string& name) const {
  auto it = processes_.find(name);
  if (it == processes_.end()) return "";
  std::ifstream in(it->second->log_path());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Cluster::dump_catalog() const {
  auto [rc, out] = run_binary({bin("bazaar-catalog"), "--dump", "--db", dir_ + "/catalog.db"});
  EXPECT_EQ(rc, 0) << out;
  return lines_of(out);
}

std::vector<std::string> Cluster::dump_orders(int replica) const {
  auto [rc, out] = run_binary(
      {bin("bazaar-order"), "--dump", "--db", dir_ + "/order-" + std::to_string(replica) + ".db"});
  EXPECT_EQ(rc, 0) << out;
  return lines_of(out);
}

std::vector<std::string> Cluster::converged_orders() const {
  std::vector<std::vector<std::string>> dumps;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    dumps.clear();
    for (int k = 1; k <= options_.replicas; ++k) dumps.push_back(dump_orders(k));
    bool same = true;
    for (const auto& d : dumps) same = same && d == dumps[0];
    if (same) return dumps[0];
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  for (std::size_t k = 0; k < dumps.size(); ++k) {
    ADD_FAILURE() << "order-" << k + 1 << " holds " << dumps[k].size() << " orders, order-1 "
                  << dumps[0].size();
  }
  return dumps[0];
}

long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::optional<proto::StatusReply> Cluster::status(const std::string& name) const {
  zmq::context_t ctx(1);
  common::RpcClient client(ctx, endpoint(name));
  auto st = client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms);
  if (!st.ok()) return std::nullopt;
  return st.reply;
}

std::string Cluster::leader() const {
  zmq::context_t ctx(1);
  for (int k = options_.replicas; k >= 1; --k) {
    const std::string name = "order-" + std::to_string(k);
    common::RpcClient client(ctx, endpoint(name));
    auto st = client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms);
    if (st.ok() && st.reply.role == "leader") return name;
  }
  return "";
}

}  // namespace bazaar::testing
