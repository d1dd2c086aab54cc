// A new leader's reconciliation cursor (order/reconciler.h): pages, resends, and its end.
#include <gtest/gtest.h>

#include "order/reconciler.h"

namespace bazaar::order {
namespace {

TEST(Reconciler, AsksPageByPageUntilTheLastAndAgainWhenNoAnswerComes) {
  Reconciler r(100);
  EXPECT_FALSE(r.due(0)) << "nothing runs before start()";
  const proto::ReconcileRequest first = r.start(4, 0);
  EXPECT_EQ(first.term, 4u);
  EXPECT_EQ(first.after, "");
  EXPECT_TRUE(r.expects(4, ""));
  EXPECT_FALSE(r.expects(3, ""));
  EXPECT_FALSE(r.due(99));
  ASSERT_TRUE(r.due(100));
  proto::ReconcileReply page;
  page.unconfirmed = {{"a", "Tux", proto::Side::kBuy, 1}, {"b", "Tux", proto::Side::kBuy, 1}};
  page.more = true;
  const auto second = r.next(page, 150);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->after, "b");
  EXPECT_TRUE(r.expects(4, "b"));
  EXPECT_FALSE(r.expects(4, "")) << "the answer to the first page is stale now";
  proto::ReconcileReply last;
  EXPECT_FALSE(r.next(last, 200));
  EXPECT_FALSE(r.expects(4, "b"));
  EXPECT_FALSE(r.due(1000)) << "over";
}

TEST(Reconciler, StopEndsItAndStartBeginsAfresh) {
  Reconciler r(100);
  r.start(1, 0);
  proto::ReconcileReply page;
  page.unconfirmed = {{"a", "Tux", proto::Side::kBuy, 1}};
  page.more = true;
  ASSERT_TRUE(r.next(page, 10));
  r.stop();
  EXPECT_FALSE(r.due(500));
  EXPECT_EQ(r.start(2, 600).after, "") << "a new term starts from the first page";
}

}  // namespace
}  // namespace bazaar::order
