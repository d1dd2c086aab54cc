// send_tagged / recv_tagged: the [tag, "", body] envelope of requests on DEALER sockets.
#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <string>
#include <vector>
#include <zmq_addon.hpp>

#include "common/zmq_util.h"

namespace bazaar::common {
namespace {

using namespace std::chrono_literals;

// A DEALER connected to a ROUTER over inproc, as a link and the service it talks to.
struct Pair {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  zmq::socket_t dealer{ctx, zmq::socket_type::dealer};
  Pair() {
    router.bind("inproc://tagged");
    dealer.connect("inproc://tagged");
  }
  // The next whole message the ROUTER gets (routing id first).
  std::vector<zmq::message_t> at_router() {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    EXPECT_EQ(zmq::poll(&item, 1, 2000ms), 1);
    std::vector<zmq::message_t> parts;
    EXPECT_TRUE(zmq::recv_multipart(router, std::back_inserter(parts)));
    return parts;
  }
  // Waits until the DEALER has a message to read.
  void wait_dealer() {
    zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
    EXPECT_EQ(zmq::poll(&item, 1, 2000ms), 1);
  }
};

TEST(Tagged, RequestGoesAsTagEmptyBodyAndTheEchoComesBackAsAReply) {
  Pair p;
  ASSERT_TRUE(send_tagged(p.dealer, 0x0102030405060708ull, "request"));
  auto parts = p.at_router();
  ASSERT_EQ(parts.size(), 4u);  // [routing id, tag, "", body]
  EXPECT_EQ(parts[1].size(), 8u);
  EXPECT_EQ(parts[2].size(), 0u);
  EXPECT_EQ(parts[3].to_string_view(), "request");

  EXPECT_EQ(recv_tagged(p.dealer).outcome, TaggedOutcome::kNone);  // nothing yet
  // The service echoes every frame before the body, then its reply.
  for (int i = 0; i < 3; ++i) p.router.send(parts[i], zmq::send_flags::sndmore);
  p.router.send(zmq::str_buffer("reply"), zmq::send_flags::none);
  p.wait_dealer();
  TaggedReply r = recv_tagged(p.dealer);
  ASSERT_EQ(r.outcome, TaggedOutcome::kReply);
  EXPECT_EQ(r.tag, 0x0102030405060708ull);
  EXPECT_EQ(r.body.to_string_view(), "reply");
}

TEST(Tagged, AMessageOfAnotherShapeIsDroppedWholeAndTheNextIsRead) {
  Pair p;
  ASSERT_TRUE(send_tagged(p.dealer, 7, "x"));
  auto parts = p.at_router();
  ASSERT_EQ(parts.size(), 4u);
  const std::string routing(parts[0].to_string_view());
  // A short tag, a non-empty delimiter, a missing body: each is malformed.
  const std::vector<std::vector<std::string>> bad{
      {"abc", "", "body"}, {std::string(8, 'a'), "x", "body"}, {std::string(8, 'a'), ""}};
  for (const auto& frames : bad) {
    p.router.send(zmq::buffer(routing), zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      p.router.send(zmq::buffer(frames[i]),
                    i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  for (int i = 0; i < 3; ++i) p.router.send(parts[i], zmq::send_flags::sndmore);
  p.router.send(zmq::str_buffer("good"), zmq::send_flags::none);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    p.wait_dealer();
    EXPECT_EQ(recv_tagged(p.dealer).outcome, TaggedOutcome::kMalformed) << i;
  }
  p.wait_dealer();
  TaggedReply r = recv_tagged(p.dealer);
  ASSERT_EQ(r.outcome, TaggedOutcome::kReply);
  EXPECT_EQ(r.tag, 7u);
  EXPECT_EQ(r.body.to_string_view(), "good");
}

TEST(Tagged, ASocketThatCannotTakeTheMessageRefusesItWithoutBlocking) {
  zmq::context_t ctx(1);
  zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
  // No peer, and ZMQ_IMMEDIATE: nothing is queued (as the leader's DEALER to a dead catalog).
  dealer.set(zmq::sockopt::immediate, 1);
  dealer.connect("tcp://127.0.0.1:1");
  EXPECT_FALSE(send_tagged(dealer, 1, "x"));
}

}  // namespace
}  // namespace bazaar::common
