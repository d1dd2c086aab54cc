// bazaar-netem: delays and drops the packets an iptables NFQUEUE rule hands it, in the network
// namespace it runs in (the chaos harness's slow and lossy links, docs/CHAOS.md; this kernel has
// no sch_netem). Every packet of the queue is held for --delay (+ 0..--jitter) ms, in arrival
// order, or dropped with probability --loss; on SIGTERM or SIGINT every held packet is accepted
// before it exits, so stopping it never loses a packet. Exit status: 0 after a signal, 1 when the
// queue cannot be opened (not root, no nfnetlink_queue), 2 on a bad flag.
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "common/cli.h"
#include "tests/chaos/link_shaper.h"

namespace {

namespace po = boost::program_options;
using bazaar::chaos::Admit;
using bazaar::chaos::LinkShaper;

constexpr const char* kProgram = "bazaar-netem";
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}

struct State {
  LinkShaper* shaper;
  nfq_q_handle* queue = nullptr;
  std::uint64_t held = 0, dropped = 0, passed = 0;
};

int on_packet(nfq_q_handle* qh, nfgenmsg*, nfq_data* nfa, void* data) {
  auto& st = *static_cast<State*>(data);
  const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  const std::uint32_t id = ntohl(ph->packet_id);
  switch (st.shaper->admit(id, LinkShaper::Clock::now())) {
    case Admit::kHeld:
      ++st.held;
      return 0;
    case Admit::kDropped:
      ++st.dropped;
      return nfq_set_verdict(qh, id, NF_DROP, 0, nullptr);
    case Admit::kPassed:
      ++st.passed;
      return nfq_set_verdict(qh, id, NF_ACCEPT, 0, nullptr);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("Link");
  opts.add_options()("help,h", "print this help and exit")(
      "queue", po::value<int>()->default_value(0), "NFQUEUE number (0..65535)")(
      "delay", po::value<int>()->default_value(100), "ms added to every packet (0..60000)")(
      "jitter", po::value<int>()->default_value(0), "plus a uniform 0..jitter ms (0..60000)")(
      "loss", po::value<double>()->default_value(0), "percent of packets dropped (0..100)")(
      "max-held", po::value<int>()->default_value(10000),
      "packets held at most; beyond, a packet passes undelayed (1..100000)")(
      "seed", po::value<std::uint64_t>()->default_value(1), "seed of the jitter and the losses");
  po::variables_map vm;
  if (int rc = bazaar::common::parse_command_line(
          argc, argv, kProgram,
          "Holds the packets of an NFQUEUE for a delay, or drops some, then reinjects them.", opts,
          vm);
      rc >= 0) {
    return rc;
  }
  const int queue = vm["queue"].as<int>(), delay = vm["delay"].as<int>(),
            jitter = vm["jitter"].as<int>(), max_held = vm["max-held"].as<int>();
  const double loss = vm["loss"].as<double>();
  std::string bad;
  if (queue < 0 || queue > 65535) bad = "--queue must be 0..65535";
  if (delay < 0 || delay > 60000) bad = "--delay must be 0..60000";
  if (jitter < 0 || jitter > 60000) bad = "--jitter must be 0..60000";
  if (!(loss >= 0 && loss <= 100)) bad = "--loss must be 0..100";
  if (max_held < 1 || max_held > 100000) bad = "--max-held must be 1..100000";
  if (!bad.empty()) {
    bazaar::common::print_error(kProgram, bad);
    return bazaar::common::kExitUsage;
  }
  LinkShaper shaper({.delay = std::chrono::milliseconds(delay),
                     .jitter = std::chrono::milliseconds(jitter),
                     .loss = loss / 100.0,
                     .max_held = static_cast<std::size_t>(max_held),
                     .seed = vm["seed"].as<std::uint64_t>()});
  State st{.shaper = &shaper};

  nfq_handle* h = nfq_open();
  if (!h) {
    bazaar::common::print_error(kProgram, std::string("nfq_open: ") + std::strerror(errno) +
                                              " (root? nfnetlink_queue in the kernel?)");
    return bazaar::common::kExitStartup;
  }
  st.queue = nfq_create_queue(h, static_cast<std::uint16_t>(queue), &on_packet, &st);
  if (!st.queue) {
    bazaar::common::print_error(kProgram, "cannot bind NFQUEUE " + std::to_string(queue) + ": " +
                                              std::strerror(errno) + " (another one holds it?)");
    nfq_close(h);
    return bazaar::common::kExitStartup;
  }
  // Metadata only: the verdict needs the packet id, not its bytes.
  nfq_set_mode(st.queue, NFQNL_COPY_META, 0);
  // The kernel's own bound above ours; fail-open: past it a packet passes instead of dropping.
  nfq_set_queue_maxlen(st.queue, static_cast<std::uint32_t>(max_held) * 2);
  nfq_set_queue_flags(st.queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
  const int fd = nfq_fd(h);
  const int rcvbuf = 8 << 20, one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  // A burst that overflows the socket must not end the loop: the packets it announced stay
  // queued in the kernel and pass (fail-open) or are flushed when we close the queue.
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::fprintf(stderr, "%s: queue %d, delay %d ms + 0..%d ms, loss %.1f%%\n", kProgram, queue,
               delay, jitter, loss);

  alignas(8) static char buf[1 << 16];
  while (!stop_requested) {
    const auto now = LinkShaper::Clock::now();
    const auto next = shaper.next_due();
    int timeout_ms = 100;  // also bounds how late a signal is noticed
    if (next != LinkShaper::Clock::time_point::max()) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
      timeout_ms = static_cast<int>(std::clamp<std::int64_t>(ms, 0, 100));
    }
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN)) {
      for (int i = 0; i < 256; ++i) {  // drain what is there, bounded, then serve due packets
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        nfq_handle_packet(h, buf, static_cast<int>(n));
      }
    }
    for (std::uint32_t id : shaper.due(LinkShaper::Clock::now())) {
      nfq_set_verdict(st.queue, id, NF_ACCEPT, 0, nullptr);
    }
  }
  for (std::uint32_t id : shaper.drain()) nfq_set_verdict(st.queue, id, NF_ACCEPT, 0, nullptr);
  std::fprintf(stderr, "%s: stopping: %llu delayed, %llu dropped, %llu passed undelayed\n",
               kProgram, static_cast<unsigned long long>(st.held),
               static_cast<unsigned long long>(st.dropped),
               static_cast<unsigned long long>(st.passed));
  nfq_destroy_queue(st.queue);
  nfq_close(h);
  return 0;
}
