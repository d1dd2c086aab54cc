#include "tests/chaos/cluster_control.h"

#include <signal.h>

#include <cstdio>
#include <thread>
#include <zmq.hpp>

#include "common/rpc_client.h"

namespace bazaar::chaos {

using namespace std::chrono_literals;

void LoopbackControl::signal(const std::string& name, int sig) {
  const pid_t pid = cluster_.pid(name);
  if (pid > 0) ::kill(pid, sig);
}

bool LoopbackControl::replace(const std::string& name, std::chrono::milliseconds timeout) {
  const std::string db = cluster_.dir() + "/" + name + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
  cluster_.start(name, {"--join"});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  zmq::context_t ctx(1);
  while (std::chrono::steady_clock::now() < deadline) {
    common::RpcClient client(ctx, cluster_.endpoint(name));
    auto st = client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms);
    if (st.ok() && st.reply.role != "joining") return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string LoopbackControl::leader(std::uint64_t* term) {
  zmq::context_t ctx(1);
  for (int k = cluster_.replicas(); k >= 1; --k) {
    const std::string name = "order-" + std::to_string(k);
    common::RpcClient client(ctx, cluster_.endpoint(name));
    auto st = client.call<proto::StatusReply>(proto::StatusRequest{}, 300ms);
    if (st.ok() && st.reply.role == "leader") {
      if (term) *term = st.reply.term;
      return name;
    }
  }
  return "";
}

}  // namespace bazaar::chaos
