// --metrics-address: its default, its parsing, and what a taken port does.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/metrics_endpoint.h"

namespace bazaar::common {
namespace {

namespace po = boost::program_options;

po::variables_map parse(std::vector<const char*> args) {
  args.insert(args.begin(), "test");
  po::variables_map vm;
  po::store(po::parse_command_line(static_cast<int>(args.size()), args.data(),
                                   metrics_options("endpoint")),
            vm);
  po::notify(vm);
  return vm;
}

// A port nothing listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(MetricsAddress, DefaultIsLoopbackAtTheMainPortPlus100) {
  EXPECT_EQ(default_metrics_address("tcp://127.0.0.1:5560"), "127.0.0.1:5660");
  EXPECT_EQ(default_metrics_address("tcp://10.0.0.1:5550"), "127.0.0.1:5650");
  EXPECT_EQ(default_metrics_address("tcp://127.0.0.1:65500"), "none");
  EXPECT_EQ(default_metrics_address("ipc:///tmp/x"), "none");
  EXPECT_EQ(default_metrics_address("tcp://127.0.0.1:*"), "none");
}

TEST(MetricsAddress, ParsesNoneHostPortAndTheDefault) {
  auto none = parse_metrics_address(parse({"--metrics-address", "none"}), "tcp://127.0.0.1:5560");
  EXPECT_FALSE(none.host_port);
  auto given =
      parse_metrics_address(parse({"--metrics-address", "0.0.0.0:9100"}), "tcp://127.0.0.1:5560");
  EXPECT_EQ(given.host_port, "0.0.0.0:9100");
  EXPECT_TRUE(given.explicit_value);
  auto def = parse_metrics_address(parse({}), "tcp://127.0.0.1:5560");
  EXPECT_EQ(def.host_port, "127.0.0.1:5660");
  EXPECT_FALSE(def.explicit_value);
  for (const char* bad : {"9100", ":9100", "host:", "host:0", "host:70000", "host:9x"}) {
    EXPECT_THROW(parse_metrics_address(parse({"--metrics-address", bad}), "tcp://127.0.0.1:1"),
                 StartupError)
        << bad;
  }
}

TEST(MetricsEndpoint, AGivenPortInUseIsAnErrorTheDefaultOneIsNot) {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  MetricsEndpoint first({address, true});
  EXPECT_EQ(first.serving(), address);
  EXPECT_THROW(MetricsEndpoint({address, true}), StartupError);
  MetricsEndpoint fallback({address, false});
  EXPECT_EQ(fallback.serving(), "");
  MetricsEndpoint off({std::nullopt, true});
  EXPECT_EQ(off.serving(), "");
}

}  // namespace
}  // namespace bazaar::common
