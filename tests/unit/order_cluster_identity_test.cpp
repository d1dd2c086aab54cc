// ClusterIdentity: when a replica that starts on an empty database may take part in Raft.
#include <gtest/gtest.h>

#include "order/cluster_identity.h"

namespace bazaar::order {
namespace {

raft::Membership three() {
  return raft::Membership({{.id = 1, .endpoint = "tcp://127.0.0.1:5561"},
                           {.id = 2, .endpoint = "tcp://127.0.0.1:5563"},
                           {.id = 3, .endpoint = "tcp://127.0.0.1:5565"}});
}

ClusterIdentity bootstrapping(std::uint32_t self) {
  std::vector<std::uint32_t> peers;
  for (std::uint32_t p = 1; p <= 3; ++p) {
    if (p != self) peers.push_back(p);
  }
  return ClusterIdentity({.self = self,
                          .mode = StartMode::kBootstrap,
                          .cluster = ClusterIdentity::derive(three()),
                          .peers = peers});
}

TEST(ClusterIdentity, EveryInitialReplicaDerivesTheSameIdAndADifferentSetAnother) {
  EXPECT_EQ(ClusterIdentity::derive(three()), ClusterIdentity::derive(three()));
  EXPECT_NE(ClusterIdentity::derive(three()), 0u);
  EXPECT_NE(ClusterIdentity::derive(three()),
            ClusterIdentity::derive(three().with({.id = 4, .endpoint = "tcp://127.0.0.1:5567"})));
  EXPECT_NE(ClusterIdentity::derive(three()),
            ClusterIdentity::derive(three().with({.id = 3, .endpoint = "tcp://10.0.0.3:5565"})));
}

TEST(ClusterIdentity, ANewReplicaWaitsForEveryPeerNotOnlyAMajority) {
  ClusterIdentity c = bootstrapping(1);
  EXPECT_FALSE(c.confirmed());
  EXPECT_EQ(c.to_probe(), (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(c.probe().cluster, ClusterIdentity::derive(three()));
  // A peer that is also new answers with the same id (or none) and does not know it.
  EXPECT_FALSE(c.on_reply({.from = 2, .cluster = c.cluster(), .knows_you = false}));
  EXPECT_FALSE(c.confirmed());
  EXPECT_EQ(c.check(), IdentityCheck::kWaiting);
  EXPECT_EQ(c.to_probe(), (std::vector<std::uint32_t>{3}));
  // The last answer confirms: the id is then to be recorded.
  EXPECT_TRUE(c.on_reply({.from = 3, .cluster = 0, .knows_you = false}));
  EXPECT_TRUE(c.confirmed());
  EXPECT_TRUE(c.to_probe().empty());
  // Later answers change nothing.
  EXPECT_FALSE(c.on_reply({.from = 2, .cluster = 99, .knows_you = true}));
  EXPECT_TRUE(c.confirmed());
}

TEST(ClusterIdentity, AReplicaAPeerHasHeardFromLostItsDataAndIsRefused) {
  ClusterIdentity c = bootstrapping(1);
  EXPECT_FALSE(c.on_reply({.from = 2, .cluster = c.cluster(), .knows_you = false}));
  EXPECT_FALSE(c.on_reply({.from = 3, .cluster = c.cluster(), .knows_you = true}));
  EXPECT_EQ(c.check(), IdentityCheck::kRefused);
  EXPECT_FALSE(c.confirmed());
  EXPECT_NE(c.refusal().find("--join"), std::string::npos) << c.refusal();
  EXPECT_NE(c.refusal().find("replace order-1"), std::string::npos) << c.refusal();
  EXPECT_TRUE(c.to_probe().empty());
}

TEST(ClusterIdentity, APeerOfAnotherClusterIsRefused) {
  ClusterIdentity c = bootstrapping(2);
  EXPECT_FALSE(c.on_reply({.from = 1, .cluster = c.cluster() + 1, .knows_you = false}));
  EXPECT_EQ(c.check(), IdentityCheck::kRefused);
  EXPECT_NE(c.refusal().find("belongs to cluster"), std::string::npos) << c.refusal();
}

TEST(ClusterIdentity, AMemberAnswersWhetherItHasHeardFromTheProberAndRemembers) {
  ClusterIdentity m(
      {.self = 3, .mode = StartMode::kMember, .cluster = 42, .known_peers = 0, .peers = {1, 2}});
  EXPECT_TRUE(m.confirmed());
  EXPECT_TRUE(m.to_probe().empty());
  EXPECT_FALSE(m.answer({.from = 1, .cluster = 42}).knows_you);
  EXPECT_TRUE(m.heard_from(1));   // news: to persist
  EXPECT_FALSE(m.heard_from(1));  // not news
  EXPECT_FALSE(m.heard_from(3));  // itself
  EXPECT_FALSE(m.heard_from(0));  // not a replica id
  const auto a = m.answer({.from = 1, .cluster = 42});
  EXPECT_TRUE(a.knows_you);
  EXPECT_EQ(a.cluster, 42u);
  EXPECT_EQ(a.from, 3u);
  EXPECT_FALSE(m.answer({.from = 2, .cluster = 42}).knows_you);
  EXPECT_EQ(m.known_peers(), 1u << 1);
  // What was persisted is what a restart starts from.
  ClusterIdentity restarted({.self = 3,
                             .mode = StartMode::kMember,
                             .cluster = 42,
                             .known_peers = m.known_peers(),
                             .peers = {1, 2}});
  EXPECT_TRUE(restarted.answer({.from = 1, .cluster = 0}).knows_you);
}

TEST(ClusterIdentity, AJoinerServesAtOnceAndAdoptsTheFirstIdItHears) {
  ClusterIdentity j({.self = 4, .mode = StartMode::kJoin, .peers = {1, 2, 3}});
  EXPECT_TRUE(j.confirmed());
  EXPECT_EQ(j.to_probe().size(), 3u);
  EXPECT_FALSE(j.on_reply({.from = 1, .cluster = 0}));  // a replica that knows no id
  EXPECT_TRUE(j.on_reply({.from = 2, .cluster = 77, .knows_you = true}));
  EXPECT_EQ(j.cluster(), 77u);
  EXPECT_TRUE(j.to_probe().empty());
  EXPECT_FALSE(j.on_reply({.from = 3, .cluster = 78}));
  EXPECT_EQ(j.cluster(), 77u);
}

TEST(ClusterIdentity, ASingleReplicaHasNobodyToAsk) {
  ClusterIdentity c({.self = 1, .mode = StartMode::kBootstrap, .cluster = 5});
  EXPECT_TRUE(c.confirmed());
  EXPECT_TRUE(c.to_probe().empty());
}

}  // namespace
}  // namespace bazaar::order
