// The chaos harness's own pure parts: the checker must catch each kind of violation it claims
// to (a checker that always passes proves nothing), and a seed must mean one schedule.
#include <gtest/gtest.h>

#include "tests/chaos/consistency_checker.h"
#include "tests/chaos/fault_schedule.h"

namespace bazaar::chaos {
namespace {

CommittedOrder order(std::int64_t n, std::string id, std::string name, bool sell, std::int64_t q) {
  return {n, std::move(id), std::move(name), sell, q};
}

std::string line(const CommittedOrder& o) {
  return std::to_string(o.number) + " " + o.name + " " + (o.sell ? "sell" : "buy") + " " +
         std::to_string(o.quantity);
}

KeyRecord key(std::string k, std::string name, bool sell, std::int64_t q, KeyOutcome outcome,
              std::int64_t number = -1) {
  KeyRecord r;
  r.key = std::move(k);
  r.name = std::move(name);
  r.sell = sell;
  r.quantity = q;
  r.outcome = outcome;
  r.number = number;
  r.attempts = 1;
  return r;
}

// A healthy quiet system: three replicas with the same two orders, the catalog moved by them,
// and a third key refused.
CheckInput healthy() {
  CheckInput in;
  std::vector<CommittedOrder> log{order(0, "k0", "FishCo", false, 3),
                                  order(1, "k1", "BoarCo", true, 2)};
  for (int r = 1; r <= 3; ++r) {
    ReplicaState s;
    s.name = "order-" + std::to_string(r);
    s.orders = log;
    for (const auto& o : log) s.dump.push_back(line(o));
    in.replicas.push_back(s);
  }
  in.initial = {{"FishCo", 100}, {"BoarCo", 100}};
  in.current = {{"FishCo", 97}, {"BoarCo", 102}};
  in.keys = {key("k0", "FishCo", false, 3, KeyOutcome::kAcknowledged, 0),
             key("k1", "BoarCo", true, 2, KeyOutcome::kAcknowledged, 1),
             key("k2", "FishCo", false, 500, KeyOutcome::kRefused)};
  return in;
}

bool mentions(const ConsistencyChecker& c, const std::string& what) {
  for (const auto& v : c.violations()) {
    if (v.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST(ChaosChecker, HealthySystemPasses) {
  ConsistencyChecker c(healthy());
  EXPECT_TRUE(c.passed()) << c.violations().front();
  EXPECT_EQ(c.committed(), 2);
}

TEST(ChaosChecker, LostAcknowledgedOrder) {
  CheckInput in = healthy();
  in.keys.push_back(key("k3", "FishCo", false, 1, KeyOutcome::kAcknowledged, 2));
  ConsistencyChecker c(in);
  EXPECT_TRUE(mentions(c, "G1 acknowledged order lost"));
}

TEST(ChaosChecker, AcknowledgedUnderAnotherNumber) {
  CheckInput in = healthy();
  in.keys[1].number = 5;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "acknowledged as order 5 but committed as order 1"));
}

TEST(ChaosChecker, SameRequestCommittedTwice) {
  CheckInput in = healthy();
  for (auto& r : in.replicas) {
    r.orders.push_back(order(2, "k0", "FishCo", false, 3));
    r.dump.push_back(line(r.orders.back()));
  }
  in.current["FishCo"] = 94;
  ConsistencyChecker c(in);
  EXPECT_TRUE(mentions(c, "k0 committed more than once, as orders 0 2"));
}

TEST(ChaosChecker, CommittedOrderWithoutRequest) {
  CheckInput in = healthy();
  for (auto& r : in.replicas) {
    r.orders.push_back(order(2, "stranger", "FishCo", true, 1));
    r.dump.push_back(line(r.orders.back()));
  }
  in.current["FishCo"] = 98;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "which no client issued"));
}

TEST(ChaosChecker, RefusedKeyCommitted) {
  CheckInput in = healthy();
  in.keys[2].quantity = 1;
  for (auto& r : in.replicas) {
    r.orders.push_back(order(2, "k2", "FishCo", false, 1));
    r.dump.push_back(line(r.orders.back()));
  }
  in.current["FishCo"] = 96;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "refused (409) yet committed"));
}

TEST(ChaosChecker, OrderDiffersFromRequest) {
  CheckInput in = healthy();
  in.keys[0].quantity = 4;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "but the client asked 'buy 4 FishCo'"));
}

TEST(ChaosChecker, GapInNumbers) {
  CheckInput in = healthy();
  for (auto& r : in.replicas) {
    r.orders[1].number = 2;
    r.dump[1] = line(r.orders[1]);
  }
  in.keys[1].number = 2;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "position 1 holds order number 2"));
}

TEST(ChaosChecker, DivergentReplica) {
  CheckInput in = healthy();
  in.replicas[2].orders.pop_back();
  in.replicas[2].dump.pop_back();
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "order-3 holds 1 committed orders, order-1 2"));
}

TEST(ChaosChecker, DumpAndDatabaseDisagree) {
  CheckInput in = healthy();
  in.replicas[1].dump[0] = "0 FishCo buy 4";
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "order-2: dump line '0 FishCo buy 4'"));
}

TEST(ChaosChecker, CatalogChangeWithoutOrderIsExplained) {
  CheckInput in = healthy();
  in.current["FishCo"] = 95;  // a buy of 2 applied at the catalog, never committed
  in.applied = {{"k0", "FishCo", false, 3}, {"k1", "BoarCo", true, 2}, {"k9", "FishCo", false, 2}};
  ConsistencyChecker c(in);
  EXPECT_TRUE(mentions(c, "item FishCo: catalog holds 95, the log says 97"));
  EXPECT_TRUE(mentions(c, "for request id k9, which has no committed order"));
}

TEST(ChaosChecker, UnfinishedAndRejectedKeysAreViolations) {
  CheckInput in = healthy();
  in.keys.push_back(key("k4", "FishCo", false, 1, KeyOutcome::kUnfinished));
  in.keys.push_back(key("k5", "FishCo", false, 1, KeyOutcome::kRejected));
  ConsistencyChecker c(in);
  EXPECT_TRUE(mentions(c, "liveness: key k4"));
  EXPECT_TRUE(mentions(c, "unexpected reply: key k5"));
}

TEST(ChaosChecker, UnreadableReplica) {
  CheckInput in = healthy();
  in.replicas[0].error = "no such file";
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "cannot read order-1: no such file"));
}

TEST(ChaosSchedule, SeedDeterminesSchedule) {
  ScheduleOptions o;
  o.seed = 42;
  o.duration = std::chrono::seconds(120);
  const FaultSchedule sa(o), sb(o);
  const auto& a = sa.events();
  const auto& b = sb.events();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].gap, b[i].gap);
    EXPECT_EQ(a[i].kind, b[i].kind);
    EXPECT_EQ(a[i].down, b[i].down);
    EXPECT_EQ(a[i].pick, b[i].pick);
  }
  o.seed = 43;
  const FaultSchedule sc(o);
  const auto& c = sc.events();
  bool differs = c.size() != a.size();
  for (std::size_t i = 0; !differs && i < a.size(); ++i) differs = c[i].kind != a[i].kind;
  EXPECT_TRUE(differs);
}

// V2 as the clients see it: an acknowledged order answered 404 right after its ack.
TEST(ChaosChecker, AcknowledgedOrderReadBackNotFound) {
  CheckInput in = healthy();
  for (auto& k : in.keys) {
    if (k.outcome == KeyOutcome::kAcknowledged) k.readback = ReadBack::kOk;
  }
  EXPECT_TRUE(ConsistencyChecker(in).passed());
  in.keys[1].readback = ReadBack::kNotFound;
  in.keys[1].readback_detail = "frontend-1: 404 not found";
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "G7 read back: key k1"));
  in.keys[1].readback = ReadBack::kUnavailable;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "read back right after: unavailable"));
}

// A front end serving an owned item's quantity from before its own acknowledged trade.
TEST(ChaosChecker, StaleLookupAfterOwnTrade) {
  CheckInput in = healthy();
  in.keys[0].expected_quantity = 97;
  in.keys[0].looked_up = 97;
  EXPECT_TRUE(ConsistencyChecker(in).passed());
  in.keys[0].looked_up = 100;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "which then served FishCo quantity 100"));
}

KeyRecord oneshot(std::string name, bool sell, std::int64_t q, KeyOutcome outcome,
                  std::int64_t number = -1) {
  KeyRecord r = key("", std::move(name), sell, q, outcome, number);
  r.oneshot = true;
  return r;
}

// One-shot orders (no key): an acknowledged one is found by number; a given-up one may or may
// not be committed; a committed order beyond those is unexplained.
TEST(ChaosChecker, OneShotOrdersAreAccountedFor) {
  CheckInput in = healthy();
  for (auto& r : in.replicas) {
    r.orders.push_back(order(2, "fe-random-1", "FishCo", true, 4));
    r.orders.push_back(order(3, "fe-random-2", "BoarCo", false, 1));
    for (std::size_t i = 2; i < 4; ++i) r.dump.push_back(line(r.orders[i]));
  }
  in.current = {{"FishCo", 101}, {"BoarCo", 101}};
  in.keys.push_back(oneshot("FishCo", true, 4, KeyOutcome::kAcknowledged, 2));
  in.keys.push_back(oneshot("BoarCo", false, 1, KeyOutcome::kUnfinished));  // gave up; landed
  in.keys.push_back(oneshot("BoarCo", false, 3, KeyOutcome::kUnfinished));  // gave up; did not
  ConsistencyChecker ok(in);
  EXPECT_TRUE(ok.passed()) << ok.violations().front();
  in.keys.pop_back();
  in.keys.pop_back();
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "which no client issued"));
  in.keys.push_back(oneshot("BoarCo", false, 1, KeyOutcome::kAcknowledged, 9));
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "acknowledged as order 9, which is not in"));
}

// V1 as the checker sees it: a one-shot buy given up on, applied at the catalog, no order.
TEST(ChaosChecker, GivenUpTradeThatMovedStockIsCaught) {
  CheckInput in = healthy();
  in.keys.push_back(oneshot("FishCo", false, 2, KeyOutcome::kUnfinished));
  in.current["FishCo"] = 95;
  EXPECT_TRUE(mentions(ConsistencyChecker(in), "G2 conservation: item FishCo: catalog holds 95"));
}

TEST(ChaosSchedule, CoversDurationWithChosenKindsAndBounds) {
  ScheduleOptions o;
  o.seed = 7;
  o.duration = std::chrono::seconds(300);
  o.kinds = {FaultKind::kCatalog, FaultKind::kBroker};
  std::chrono::milliseconds total{0};
  const FaultSchedule schedule(o);
  for (const auto& e : schedule.events()) {
    EXPECT_TRUE(e.kind == FaultKind::kCatalog || e.kind == FaultKind::kBroker);
    EXPECT_GE(e.gap, o.min_gap);
    EXPECT_LE(e.gap, o.max_gap);
    EXPECT_GE(e.down, o.min_down);
    EXPECT_LE(e.down, o.max_down);
    total += e.gap + e.down;
  }
  EXPECT_GE(total, o.duration);
}

// The network kinds join the schedule without changing what a kill-only seed draws.
TEST(ChaosSchedule, ClassesAndKillOnlySchedules) {
  std::vector<FaultKind> kills;
  for (int k = 0; k < kFaultKinds; ++k) {
    const auto kind = static_cast<FaultKind>(k);
    FaultClass parsed;
    ASSERT_TRUE(parse_fault_class(to_string(class_of(kind)), parsed));
    EXPECT_EQ(parsed, class_of(kind));
    if (class_of(kind) == FaultClass::kKill) kills.push_back(kind);
  }
  EXPECT_EQ(kills.size(), 7u);
  EXPECT_EQ(class_of(FaultKind::kFlap), FaultClass::kPartition);
  EXPECT_EQ(class_of(FaultKind::kPause), FaultClass::kPause);
  EXPECT_EQ(class_of(FaultKind::kDelay), FaultClass::kDelay);
  EXPECT_EQ(class_of(FaultKind::kWipe), FaultClass::kWipe);
  FaultClass unused;
  EXPECT_FALSE(parse_fault_class("netem", unused));
  ScheduleOptions o;
  o.seed = 11;
  o.kinds = kills;
  const FaultSchedule kill_only(o);
  for (const auto& e : kill_only.events()) {
    EXPECT_EQ(class_of(e.kind), FaultClass::kKill);
    EXPECT_LE(e.down, o.max_down);
  }
  // A wipe's time down (kill to rejoin) is drawn as a kill's.
  o.kinds = {FaultKind::kWipe};
  const FaultSchedule wipes(o);
  ASSERT_FALSE(wipes.events().empty());
  for (const auto& e : wipes.events()) {
    EXPECT_EQ(e.kind, FaultKind::kWipe);
    EXPECT_LE(e.down, o.max_down);
  }
  o.kinds = {FaultKind::kPause, FaultKind::kSplit};
  const FaultSchedule network(o);
  for (const auto& e : network.events()) {
    EXPECT_GE(e.down, o.min_net);
    EXPECT_LE(e.down, o.max_net);
  }
}

TEST(ChaosSchedule, KindNamesRoundTrip) {
  for (int k = 0; k < kFaultKinds; ++k) {
    FaultKind parsed;
    ASSERT_TRUE(parse_fault_kind(to_string(static_cast<FaultKind>(k)), parsed));
    EXPECT_EQ(parsed, static_cast<FaultKind>(k));
  }
  FaultKind unused;
  EXPECT_FALSE(parse_fault_kind("everything", unused));
}

}  // namespace
}  // namespace bazaar::chaos
