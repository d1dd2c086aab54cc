// The course handout's client (bazaar-client session): look up a random item; if any is left,
// with probability p place an order; remember every acknowledged order and check, at the end
// (or right away), that the server returns exactly what was acknowledged. The load generator
// runs one per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "client/http_client.h"
#include "client/replies.h"

namespace bazaar::client {

/// The request types the client measures.
enum class RequestKind : std::uint8_t { kLookup, kOrder, kQuery, kList };
inline constexpr std::size_t kRequestKinds = 4;
const char* to_string(RequestKind kind);

/// One finished request, as the observer sees it.
struct RequestSample {
  RequestKind kind = RequestKind::kLookup;
  unsigned status = 0;                             // HTTP status; 0 when none came back
  HttpClientError error = HttpClientError::kNone;  // why none came back
  bool bad_reply = false;                          // a reply that is not the promised JSON
  std::chrono::steady_clock::time_point finished;  // when the reply (or the failure) came
  std::chrono::microseconds latency{0};
};

/// Which routes and trades the client uses: toys buy on /products, stocks buy and sell on
/// /stocks (the two editions of the handout).
enum class Edition : std::uint8_t { kToys, kStocks };

/// What a step, a verification or a single request ended in.
enum class StepOutcome : std::uint8_t {
  kOk,              // done (an HTTP error status counts as done: it is counted, not fatal)
  kTransportError,  // no HTTP reply: unreachable, timed out, connection broken
  kBadReply,        // a reply that is not JSON, or not the shape DESIGN.md promises
};

struct SessionOptions {
  double p = 0.5;          // probability of an order after a lookup that found stock
  std::uint64_t seed = 1;  // the random choices are a function of the seed
  Edition edition = Edition::kToys;
  std::vector<std::string> items;  // names to pick from (must not be empty)
  std::int64_t max_quantity = 3;   // each order is for 1..max_quantity units
  bool verify_at_once = false;     // query each acknowledged order right after it (load)
};

/// What a session did; mismatches are the orders the server got wrong.
struct SessionCounters {
  std::uint64_t lookups = 0;
  std::uint64_t lookup_errors = 0;  // lookups without a 200
  std::uint64_t orders_sent = 0;
  std::uint64_t orders_acknowledged = 0;
  std::uint64_t orders_refused = 0;  // an error status, e.g. 409 sold out or 503
  std::uint64_t orders_unknown = 0;  // no reply: the order may or may not have been made
  std::uint64_t verified = 0;        // acknowledged orders the server returned as recorded
  std::uint64_t unverified = 0;      // acknowledged orders the query could not fetch (no 200)
  std::uint64_t mismatches = 0;      // acknowledged orders the server returned differently
};

/// Not thread-safe: one per thread, each with its own HttpClient.
class SessionClient {
 public:
  using Observer = std::function<void(const RequestSample&)>;

  /// Uses `http` (kept by reference) for every request; calls `observer`, when set, after each.
  SessionClient(HttpClient& http, SessionOptions options, Observer observer = {});

  /// One iteration of the handout's loop: look up a random item; if its quantity is above zero,
  /// with probability p order 1..max_quantity of it (toys: buy; stocks: buy or sell, even odds)
  /// and record the order when acknowledged (with verify_at_once, query it at once).
  StepOutcome step();

  /// Primitives the load generator's --mix uses; each is one request (query_random: none, and
  /// kOk, when no order has been acknowledged yet).
  StepOutcome lookup_random(std::optional<ItemView>* found = nullptr);
  StepOutcome order_random();
  StepOutcome query_random();
  StepOutcome list();

  /// Fetches every acknowledged order not yet checked with GET /orders/<n> and compares it with
  /// what was recorded. Stops at the first transport error or bad reply.
  StepOutcome verify();

  const SessionCounters& counters() const { return counters_; }
  /// One line per mismatch (at most kMaxMessages kept; counters().mismatches counts them all).
  const std::vector<std::string>& mismatch_messages() const { return messages_; }
  /// The last transport error or bad reply, as one line ("" when none).
  const std::string& last_error() const { return last_error_; }
  /// Every order number this client had acknowledged (to find duplicates across clients).
  const std::unordered_set<std::int64_t>& acknowledged_numbers() const { return numbers_; }

  static constexpr std::size_t kMaxMessages = 20;

 private:
  struct Timed {
    HttpResult result;
    std::chrono::microseconds latency{0};
    std::chrono::steady_clock::time_point finished;
  };
  Timed timed(const char* method, const std::string& target, const std::string& body);
  void observe(RequestKind kind, const Timed& t, bool bad_reply);
  StepOutcome transport_failure(const std::string& what, const HttpResult& r);
  StepOutcome bad_reply(const std::string& what, const std::string& why);
  void mismatch(std::string message);
  StepOutcome place(const std::string& name, const std::string& type, std::int64_t quantity);
  StepOutcome check(const OrderView& recorded);
  const std::string& random_item();

  HttpClient& http_;
  SessionOptions options_;
  Observer observer_;
  std::mt19937_64 rng_;
  std::string prefix_;  // "/products/" or "/stocks/"
  SessionCounters counters_;
  std::vector<OrderView> pending_;  // acknowledged, not yet verified
  // Recent acknowledged orders that query_random picks from; a ring of bounded size.
  std::vector<OrderView> recent_;
  std::size_t recent_next_ = 0;
  std::unordered_set<std::int64_t> numbers_;
  std::vector<std::string> messages_;
  std::string last_error_;
};

}  // namespace bazaar::client
