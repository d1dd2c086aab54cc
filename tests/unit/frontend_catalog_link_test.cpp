// CatalogLink against an in-process fake catalog (a ROUTER socket on a loopback port): many
// lookups in flight, retries of lost requests under new ids, deadlines, late replies, shutdown,
// and the list and the status check that take the same way.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <zmq_addon.hpp>

#include "common/fd_limit.h"
#include "common/zmq_util.h"
#include "fake_router.h"
#include "frontend/catalog_link.h"
#include "proto_msgs/codec.h"

namespace bazaar::frontend {
namespace {

using namespace std::chrono_literals;

// Answers LookupRequests like the catalog: items named "item..." exist (version 1), others not;
// a ListRequest with two items, a StatusRequest as the catalog does.
class FakeCatalog {
 public:
  explicit FakeCatalog(zmq::context_t& ctx)
      : router_(ctx, [this](std::vector<zmq::message_t>& parts) { answer(parts); }) {}
  const std::string& endpoint() const { return router_.endpoint(); }
  /// Most requests seen before answering (batching).
  int max_outstanding() const { return router_.max_batch.load(); }

  std::atomic<int> drop_next{0};            // requests to swallow without a reply
  std::atomic<bool> silent{false};          // swallow everything
  std::atomic<int> delay_ms{0};             // before each reply
  std::atomic<bool> late_duplicate{false};  // answer each request twice
  std::atomic<int> received{0};

 private:
  void answer(std::vector<zmq::message_t>& parts) {
    ++received;
    if (silent || drop_next.fetch_sub(1) > 0) return;
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    ASSERT_EQ(parts.size(), 4u);  // [routing id, our id, "", request]
    auto env = proto::open_envelope(parts[3].to_string_view());
    ASSERT_TRUE(env);
    if (env->type == proto::MessageType::kListRequest) {
      proto::ListReply rep;
      rep.items = {proto::Item{"item1", 100, 5, 1, 0}, proto::Item{"item2", 200, 6, 1, 0}};
      router_.reply(parts, 3, proto::encode(rep));
      return;
    }
    if (env->type == proto::MessageType::kStatusRequest) {
      proto::StatusReply st;
      st.service = "catalog";
      st.role = "serving";
      router_.reply(parts, 3, proto::encode(st));
      return;
    }
    auto req = proto::decode<proto::LookupRequest>(parts[3].to_string_view());
    ASSERT_TRUE(req);
    proto::LookupReply rep;
    rep.incarnation = 77;
    rep.item.name = req->name;
    if (req->name.rfind("item", 0) == 0) {
      rep.item.price_cents = 100;
      rep.item.quantity = 5;
      rep.item.version = 1;
    } else {
      rep.status = proto::Status::kUnknownItem;
    }
    const std::string body = proto::encode(rep);
    for (int copies = late_duplicate ? 2 : 1; copies > 0; --copies) router_.reply(parts, 3, body);
  }

  fakes::FakeRouter router_;  // last: its thread calls answer()
};

// Collects callbacks from the link thread.
struct Results {
  void add(LookupResult r, std::uint64_t incarnation) {
    std::lock_guard<std::mutex> lock(mu);
    results.emplace_back(std::move(r), incarnation);
    cv.notify_all();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return results.size() >= n; });
  }
  CatalogLink::LookupDone done() {
    return [this](LookupResult r, std::uint64_t inc) { add(std::move(r), inc); };
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<LookupResult, std::uint64_t>> results;
};

CatalogLinkOptions options(const std::string& endpoint) {
  CatalogLinkOptions o;
  o.endpoint = endpoint;
  o.timeouts.request = 1000ms;
  o.timeouts.attempt = 100ms;
  return o;
}

TEST(CatalogLink, AnswersLookupsWithTheCatalogsReply) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  Results got;
  CatalogLink link(ctx, options(catalog.endpoint()));
  link.start();
  ASSERT_TRUE(link.try_lookup("item1", got.done()));
  ASSERT_TRUE(link.try_lookup("nope", got.done()));
  ASSERT_TRUE(got.wait_for(2));
  std::lock_guard<std::mutex> lock(got.mu);
  for (const auto& [r, inc] : got.results) {
    EXPECT_EQ(inc, 77u);
    if (r.item.name == "item1") {
      EXPECT_EQ(r.status, proto::Status::kOk);
      EXPECT_EQ(r.item.quantity, 5);
    } else {
      EXPECT_EQ(r.status, proto::Status::kUnknownItem);
    }
  }
}

TEST(CatalogLink, AnswersListsAndStatusChecks) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  CatalogLink link(ctx, options(catalog.endpoint()));
  link.start();
  std::promise<ListResult> list;
  std::promise<bool> status;
  ASSERT_TRUE(link.try_list([&](ListResult r) { list.set_value(std::move(r)); }));
  ASSERT_TRUE(link.try_status(500ms, [&](bool answered) { status.set_value(answered); }));
  auto l = list.get_future();
  auto st = status.get_future();
  ASSERT_EQ(l.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(st.wait_for(5s), std::future_status::ready);
  const ListResult r = l.get();
  EXPECT_EQ(r.status, proto::Status::kOk);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[1].name, "item2");
  EXPECT_TRUE(st.get());
}

TEST(CatalogLink, SilentCatalogFailsListsAndStatusChecksInTheirTime) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  catalog.silent = true;
  Metrics metrics;
  CatalogLink link(ctx, options(catalog.endpoint()), &metrics);
  link.start();
  const auto start = std::chrono::steady_clock::now();
  std::promise<bool> status;
  ASSERT_TRUE(link.try_status(250ms, [&](bool answered) { status.set_value(answered); }));
  auto st = status.get_future();
  ASSERT_EQ(st.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(st.get());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 240ms);  // its own budget, not the request deadline
  EXPECT_LT(took, 900ms);
  EXPECT_EQ(metrics.retries(), 0u);  // /health's resends are no retries of the API's

  std::promise<ListResult> list;
  ASSERT_TRUE(link.try_list([&](ListResult r) { list.set_value(std::move(r)); }));
  auto l = list.get_future();
  ASSERT_EQ(l.wait_for(5s), std::future_status::ready);
  const ListResult r = l.get();
  EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_EQ(r.message, "catalog unavailable (timed out)");
  EXPECT_GT(metrics.retries(), 0u);
}

TEST(CatalogLink, KeepsManyLookupsInFlightAtOnce) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  catalog.delay_ms = 0;
  Results got;
  CatalogLink link(ctx, options(catalog.endpoint()));
  // Queued before the link starts, so they leave together.
  for (int i = 0; i < 500; ++i)
    ASSERT_TRUE(link.try_lookup("item" + std::to_string(i), got.done()));
  link.start();
  ASSERT_TRUE(got.wait_for(500));
  EXPECT_GT(catalog.max_outstanding(), 1);  // not one at a time
  std::lock_guard<std::mutex> lock(got.mu);
  for (const auto& [r, inc] : got.results) EXPECT_EQ(r.status, proto::Status::kOk);
}

TEST(CatalogLink, LostRequestIsSentAgainUnderANewId) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  catalog.drop_next = 2;
  Metrics metrics;
  Results got;
  CatalogLink link(ctx, options(catalog.endpoint()), &metrics);
  link.start();
  ASSERT_TRUE(link.try_lookup("item1", got.done()));
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.results[0].first.status, proto::Status::kOk);
  EXPECT_EQ(catalog.received.load(), 3);
  EXPECT_EQ(metrics.retries(), 2u);
}

TEST(CatalogLink, SilentCatalogGivesUnavailableAtTheDeadline) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  catalog.silent = true;
  Results got;
  CatalogLink link(ctx, options(catalog.endpoint()));
  link.start();
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(link.try_lookup("item1", got.done()));
  ASSERT_TRUE(got.wait_for(1, 5s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got.results[0].first.status, proto::Status::kUnavailable);
  EXPECT_EQ(got.results[0].second, 0u);
  EXPECT_GE(took, 950ms);
  EXPECT_LT(took, 3s);
  EXPECT_GE(catalog.received.load(), 2);  // retried within the deadline
}

TEST(CatalogLink, NobodyListeningGivesUnavailableAtTheDeadline) {
  zmq::context_t ctx(1);
  std::string endpoint;
  {
    FakeCatalog gone(ctx);  // a port that was just in use and is now closed
    endpoint = gone.endpoint();
  }
  Results got;
  CatalogLink link(ctx, options(endpoint));
  link.start();
  ASSERT_TRUE(link.try_lookup("item1", got.done()));
  ASSERT_TRUE(got.wait_for(1, 5s));
  EXPECT_EQ(got.results[0].first.status, proto::Status::kUnavailable);
}

TEST(CatalogLink, DuplicateRepliesAnswerOnce) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  catalog.late_duplicate = true;
  Results got;
  CatalogLink link(ctx, options(catalog.endpoint()));
  link.start();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(link.try_lookup("item" + std::to_string(i), got.done()));
  ASSERT_TRUE(got.wait_for(20));
  std::this_thread::sleep_for(100ms);
  std::lock_guard<std::mutex> lock(got.mu);
  EXPECT_EQ(got.results.size(), 20u);
}

TEST(CatalogLink, QueueLimitAndStopAnswerEveryone) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  catalog.silent = true;
  CatalogLinkOptions o = options(catalog.endpoint());
  o.queue_limit = 3;
  o.timeouts.request = 10000ms;
  Results got;
  CatalogLink link(ctx, o);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(link.try_lookup("item1", got.done()));
  EXPECT_FALSE(link.try_lookup("item1", got.done()));
  EXPECT_EQ(link.queued(), 3u);
  link.start();
  ASSERT_TRUE(link.try_lookup("item2", got.done()) || link.queued() == 3);
  link.stop();  // long before the deadline: everyone gets an answer now
  ASSERT_TRUE(got.wait_for(3, 1s));
  std::lock_guard<std::mutex> lock(got.mu);
  for (const auto& [r, inc] : got.results) EXPECT_EQ(r.status, proto::Status::kUnavailable);
  EXPECT_FALSE(link.try_lookup("item1", got.done()));
}

TEST(CatalogLink, StopAnswersWhatANeverStartedLinkHolds) {
  zmq::context_t ctx(1);
  FakeCatalog catalog(ctx);
  Results got;
  CatalogLink link(ctx, options(catalog.endpoint()));
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(link.try_lookup("item1", got.done()));
  link.stop();  // never started: the queued ones are answered all the same
  ASSERT_TRUE(got.wait_for(2, 1s));
  std::lock_guard<std::mutex> lock(got.mu);
  for (const auto& [r, inc] : got.results) EXPECT_EQ(r.status, proto::Status::kUnavailable);
}

// With every file descriptor taken, the link cannot make a new socket after a silent attempt
// period: it must keep the old one and answer at the deadline, not let zmq::error_t end its
// thread (and the process: issue 14, B). Run in a child process, whose descriptors it fills.
int lookup_with_no_descriptors_left() {
  const rlimit low{common::open_fds() + 48, common::open_fds() + 48};
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) return 10;
  zmq::context_t ctx(1);
  Results got;
  CatalogLink link(ctx, options("tcp://127.0.0.1:1"));  // nobody listens on port 1
  link.start();
  std::vector<int> hogs;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) hogs.push_back(fd);
  if (!link.try_lookup("item1", got.done())) return 11;
  if (!got.wait_for(1, 5s)) return 12;
  for (int fd : hogs) ::close(fd);
  return got.results[0].first.status == proto::Status::kUnavailable ? 0 : 13;
}

TEST(CatalogLinkDeathTest, OutOfDescriptorsKeepsTheOldSocketAndAnswers) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  EXPECT_EXIT(std::exit(lookup_with_no_descriptors_left()), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace bazaar::frontend
