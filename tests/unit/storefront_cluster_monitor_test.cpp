// ClusterMonitor against fake services on loopback: it asks each one StatusRequest, reports a
// silent one as missing, and sends nothing while nobody looks at the cluster view.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fake_router.h"
#include "proto_msgs/codec.h"
#include "storefront/cluster_monitor.h"

namespace bazaar::storefront {
namespace {

using namespace std::chrono_literals;

// A service that answers every StatusRequest with `reply`, counting them.
struct FakeService {
  FakeService(zmq::context_t& ctx, proto::StatusReply reply)
      : reply_(std::move(reply)), router(ctx, [this](std::vector<zmq::message_t>& parts) {
          asked.fetch_add(1);
          router.reply(parts, 2, proto::encode(reply_));  // [routing id, "", body]
        }) {}
  proto::StatusReply reply_;
  std::atomic<int> asked{0};
  fakes::FakeRouter router;  // last: its thread uses the members above
};

template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 300; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(ClusterMonitor, AsksEveryServiceAndReportsTheSilentOneAsMissing) {
  zmq::context_t ctx(1);
  FakeService broker(ctx, {.service = "broker", .role = "bus", .log_size = 7});
  FakeService catalog(ctx, {.service = "catalog", .role = "serving", .log_size = 10});
  FakeService leader(
      ctx,
      {.service = "order", .id = 1, .role = "leader", .term = 3, .leader_id = 1, .log_size = 42});
  // Replica 2: nothing listens there (a port of a socket bound and closed again).
  std::string dead;
  {
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    dead = s.get(zmq::sockopt::last_endpoint);
  }
  ClusterMonitor monitor(ctx, ClusterMonitorOptions{.broker = broker.router.endpoint(),
                                                    .catalog = catalog.router.endpoint(),
                                                    .replicas = {leader.router.endpoint(), dead},
                                                    .interval = 100ms,
                                                    .probe_timeout = 100ms,
                                                    .watch_window = 2000ms});
  monitor.start();
  EXPECT_EQ(monitor.latest().age_ms, -1);  // no round yet; this call starts them
  ClusterProbe p;
  ASSERT_TRUE(eventually([&] {
    p = monitor.latest();
    return p.age_ms >= 0;
  }));
  ASSERT_TRUE(p.broker);
  EXPECT_EQ(p.broker->log_size, 7u);
  ASSERT_TRUE(p.catalog);
  EXPECT_EQ(p.catalog->role, "serving");
  ASSERT_EQ(p.replicas.size(), 2u);
  ASSERT_TRUE(p.replicas[0]);
  EXPECT_EQ(p.replicas[0]->log_size, 42u);
  EXPECT_FALSE(p.replicas[1]);
  monitor.stop();
}

TEST(ClusterMonitor, SendsNothingWhileNobodyWatches) {
  zmq::context_t ctx(1);
  FakeService broker(ctx, {.service = "broker", .role = "bus"});
  FakeService catalog(ctx, {.service = "catalog", .role = "serving"});
  ClusterMonitor monitor(ctx, ClusterMonitorOptions{.broker = broker.router.endpoint(),
                                                    .catalog = catalog.router.endpoint(),
                                                    .replicas = {},
                                                    .interval = 50ms,
                                                    .probe_timeout = 100ms,
                                                    .watch_window = 300ms});
  monitor.start();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(broker.asked.load(), 0);  // never watched: never asked
  (void)monitor.latest();             // someone looks
  ASSERT_TRUE(eventually([&] { return broker.asked.load() >= 2; }));
  // The watch window passes: the rounds stop.
  std::this_thread::sleep_for(500ms);
  const int after = broker.asked.load();
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(broker.asked.load(), after);
  monitor.stop();
}

}  // namespace
}  // namespace bazaar::storefront
