// LinkInbox: bounds, closing, and the eventfd written only while the link thread sleeps.
#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "frontend/link_inbox.h"

namespace bazaar::frontend {
namespace {

// Whether the inbox's eventfd is readable within `ms` (a wake-up is pending).
bool readable(const LinkInbox<int>& inbox, int ms) {
  pollfd p{inbox.fd(), POLLIN, 0};
  return ::poll(&p, 1, ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST(LinkInbox, RefusesPastItsLimitAndHandsOverOldestFirst) {
  LinkInbox<int> inbox(3);
  EXPECT_TRUE(inbox.push(1));
  EXPECT_TRUE(inbox.push(2));
  EXPECT_TRUE(inbox.push(3));
  EXPECT_FALSE(inbox.push(4));
  EXPECT_EQ(inbox.size(), 3u);
  std::deque<int> out{0};
  ASSERT_TRUE(inbox.take(2, out));
  EXPECT_EQ(out, (std::deque<int>{0, 1, 2}));
  EXPECT_EQ(inbox.size(), 1u);
  EXPECT_TRUE(inbox.push(5));  // room again
  ASSERT_TRUE(inbox.take(10, out));
  EXPECT_EQ(out, (std::deque<int>{0, 1, 2, 3, 5}));
}

TEST(LinkInbox, ClosedRefusesJobsStopsTheLinkAndKeepsWhatWaitsForAnswering) {
  LinkInbox<int> inbox(8);
  EXPECT_TRUE(inbox.push(1));
  inbox.close();
  EXPECT_TRUE(readable(inbox, 0));  // the link thread is woken to notice
  EXPECT_FALSE(inbox.push(2));
  std::deque<int> out;
  EXPECT_FALSE(inbox.take(8, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(inbox.about_to_sleep(true));  // no sleeping once closed
  EXPECT_EQ(inbox.take_all(), (std::deque<int>{1}));
  EXPECT_EQ(inbox.size(), 0u);
}

TEST(LinkInbox, WritesTheEventfdOnlyWhileTheLinkSleeps) {
  LinkInbox<int> inbox(8);
  // Awake: a push costs no system call, and leaves nothing to read.
  EXPECT_TRUE(inbox.push(1));
  EXPECT_FALSE(readable(inbox, 0));
  // Jobs wait: the link must not sleep if it has room for them, and may if it has none.
  EXPECT_TRUE(inbox.about_to_sleep(true));
  EXPECT_FALSE(inbox.about_to_sleep(false));
  inbox.woke(false);
  std::deque<int> out;
  ASSERT_TRUE(inbox.take(8, out));
  EXPECT_EQ(out, (std::deque<int>{1}));
  out.clear();

  // Asleep: a push from another thread wakes it, once.
  EXPECT_FALSE(inbox.about_to_sleep(true));
  std::thread submitter([&inbox] {
    (void)inbox.push(2);  // checked below by take()
    (void)inbox.push(3);
  });
  EXPECT_TRUE(readable(inbox, 2000));
  submitter.join();
  inbox.woke(true);
  EXPECT_FALSE(readable(inbox, 0));  // drained by woke()
  ASSERT_TRUE(inbox.take(8, out));
  EXPECT_EQ(out, (std::deque<int>{2, 3}));
  EXPECT_TRUE(inbox.push(4));  // awake again: no write
  EXPECT_FALSE(readable(inbox, 0));
}

}  // namespace
}  // namespace bazaar::frontend
