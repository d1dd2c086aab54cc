#include "client/session_client.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace bazaar::client {

namespace {

constexpr std::size_t kRecentOrders = 1024;  // bound of the ring query_random picks from

bool is_success(unsigned status) {
  return status >= 200 && status < 300;
}

}  // namespace

const char* to_string(RequestKind kind) {
  switch (kind) {
    case RequestKind::kLookup:
      return "lookup";
    case RequestKind::kOrder:
      return "order";
    case RequestKind::kQuery:
      return "query";
    case RequestKind::kList:
      return "list";
  }
  return "?";
}

SessionClient::SessionClient(HttpClient& http, SessionOptions options, Observer observer)
    : http_(http),
      options_(std::move(options)),
      observer_(std::move(observer)),
      rng_(options_.seed),
      prefix_(options_.edition == Edition::kStocks ? "/stocks/" : "/products/") {
  if (options_.max_quantity < 1) options_.max_quantity = 1;
}

SessionClient::Timed SessionClient::timed(const char* method, const std::string& target,
                                          const std::string& body) {
  const auto start = std::chrono::steady_clock::now();
  Timed t;
  t.result = std::string_view(method) == "POST" ? http_.post_json(target, body)
                                                : http_.request(method, target);
  t.finished = std::chrono::steady_clock::now();
  t.latency = std::chrono::duration_cast<std::chrono::microseconds>(t.finished - start);
  return t;
}

void SessionClient::observe(RequestKind kind, const Timed& t, bool bad_reply) {
  if (!observer_) return;
  RequestSample s;
  s.kind = kind;
  s.status = t.result.ok() ? t.result.reply.status : 0;
  s.error = t.result.error;
  s.bad_reply = bad_reply;
  s.finished = t.finished;
  s.latency = t.latency;
  observer_(s);
}

StepOutcome SessionClient::transport_failure(const std::string& what, const HttpResult& r) {
  last_error_ = what + ": " + r.message;
  return StepOutcome::kTransportError;
}

StepOutcome SessionClient::bad_reply(const std::string& what, const std::string& why) {
  last_error_ = what + ": " + why;
  return StepOutcome::kBadReply;
}

void SessionClient::mismatch(std::string message) {
  ++counters_.mismatches;
  if (messages_.size() < kMaxMessages) messages_.push_back(std::move(message));
}

const std::string& SessionClient::random_item() {
  std::uniform_int_distribution<std::size_t> pick(0, options_.items.size() - 1);
  return options_.items[pick(rng_)];
}

StepOutcome SessionClient::lookup_random(std::optional<ItemView>* found) {
  const std::string& name = random_item();
  const std::string target = prefix_ + percent_encode(name);
  ++counters_.lookups;
  const Timed t = timed("GET", target, "");
  if (!t.result.ok()) {
    ++counters_.lookup_errors;
    observe(RequestKind::kLookup, t, false);
    return transport_failure("GET " + target, t.result);
  }
  if (!is_success(t.result.reply.status)) {
    ++counters_.lookup_errors;
    // An error reply must still be JSON (DESIGN.md section 3).
    const bool json = !nlohmann::json::parse(t.result.reply.body, nullptr, false).is_discarded();
    observe(RequestKind::kLookup, t, !json);
    return json ? StepOutcome::kOk
                : bad_reply("GET " + target, "reply is not JSON (HTTP " +
                                                 std::to_string(t.result.reply.status) + ")");
  }
  ItemView item;
  std::string why;
  const ReplyParse parsed = parse_item(t.result.reply.body, item, why);
  observe(RequestKind::kLookup, t, parsed != ReplyParse::kOk);
  if (parsed == ReplyParse::kNotJson) return bad_reply("GET " + target, "reply is not JSON");
  if (parsed == ReplyParse::kBadShape) return bad_reply("GET " + target, why);
  if (found) *found = std::move(item);
  return StepOutcome::kOk;
}

StepOutcome SessionClient::place(const std::string& name, const std::string& type,
                                 std::int64_t quantity) {
  const std::string body =
      "{\"name\":" +
      nlohmann::json(name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      ",\"quantity\":" + std::to_string(quantity) + ",\"type\":\"" + type + "\"}";
  ++counters_.orders_sent;
  const Timed t = timed("POST", "/orders", body);
  if (!t.result.ok()) {
    // No reply: the order may have been made. It is not recorded, so it is not checked.
    ++counters_.orders_unknown;
    observe(RequestKind::kOrder, t, false);
    return transport_failure("POST /orders", t.result);
  }
  if (!is_success(t.result.reply.status)) {
    ++counters_.orders_refused;
    const bool json = !nlohmann::json::parse(t.result.reply.body, nullptr, false).is_discarded();
    observe(RequestKind::kOrder, t, !json);
    return json ? StepOutcome::kOk
                : bad_reply("POST /orders", "reply is not JSON (HTTP " +
                                                std::to_string(t.result.reply.status) + ")");
  }
  std::int64_t number = -1;
  std::string why;
  const ReplyParse parsed = parse_order_ack(t.result.reply.body, number, why);
  observe(RequestKind::kOrder, t, parsed == ReplyParse::kNotJson);
  if (parsed == ReplyParse::kNotJson) return bad_reply("POST /orders", "reply is not JSON");
  if (parsed == ReplyParse::kBadShape) {
    // The server said yes, but not in a way anyone could check: that is its error, not ours.
    ++counters_.orders_acknowledged;
    mismatch("POST /orders " + type + " " + std::to_string(quantity) + " " + name + ": " + why);
    return StepOutcome::kOk;
  }
  ++counters_.orders_acknowledged;
  const OrderView recorded{number, name, type, quantity};
  if (!numbers_.insert(number).second) {
    mismatch("order number " + std::to_string(number) + " acknowledged twice");
    return StepOutcome::kOk;
  }
  if (recent_.size() < kRecentOrders) {
    recent_.push_back(recorded);
  } else {
    recent_[recent_next_] = recorded;
    recent_next_ = (recent_next_ + 1) % kRecentOrders;
  }
  if (options_.verify_at_once) return check(recorded);
  pending_.push_back(recorded);
  return StepOutcome::kOk;
}

StepOutcome SessionClient::order_random() {
  const std::string& name = random_item();
  std::uniform_int_distribution<std::int64_t> qty(1, options_.max_quantity);
  const std::int64_t quantity = qty(rng_);
  std::string type = "buy";
  if (options_.edition == Edition::kStocks && std::bernoulli_distribution(0.5)(rng_)) {
    type = "sell";
  }
  return place(name, type, quantity);
}

StepOutcome SessionClient::check(const OrderView& recorded) {
  const std::string target = "/orders/" + std::to_string(recorded.number);
  const Timed t = timed("GET", target, "");
  if (!t.result.ok()) {
    ++counters_.unverified;
    observe(RequestKind::kQuery, t, false);
    return transport_failure("GET " + target, t.result);
  }
  const unsigned status = t.result.reply.status;
  if (status == 404) {
    // G1: an acknowledged order must exist.
    observe(RequestKind::kQuery, t, false);
    mismatch("order " + std::to_string(recorded.number) + " was acknowledged but GET " + target +
             " says 404: " + error_message(t.result.reply.body));
    return StepOutcome::kOk;
  }
  if (!is_success(status)) {
    ++counters_.unverified;
    const bool json = !nlohmann::json::parse(t.result.reply.body, nullptr, false).is_discarded();
    observe(RequestKind::kQuery, t, !json);
    return json ? StepOutcome::kOk
                : bad_reply("GET " + target,
                            "reply is not JSON (HTTP " + std::to_string(status) + ")");
  }
  OrderView fetched;
  std::string why;
  const ReplyParse parsed = parse_order(t.result.reply.body, fetched, why);
  observe(RequestKind::kQuery, t, parsed == ReplyParse::kNotJson);
  if (parsed == ReplyParse::kNotJson) return bad_reply("GET " + target, "reply is not JSON");
  if (parsed == ReplyParse::kBadShape) {
    mismatch("GET " + target + ": " + why);
    return StepOutcome::kOk;
  }
  if (std::string diff = compare_orders(recorded, fetched); !diff.empty()) {
    mismatch(std::move(diff));
  } else {
    ++counters_.verified;
  }
  return StepOutcome::kOk;
}

StepOutcome SessionClient::query_random() {
  if (recent_.empty()) return StepOutcome::kOk;
  std::uniform_int_distribution<std::size_t> pick(0, recent_.size() - 1);
  return check(recent_[pick(rng_)]);
}

StepOutcome SessionClient::list() {
  const std::string target = prefix_.substr(0, prefix_.size() - 1);
  const Timed t = timed("GET", target, "");
  if (!t.result.ok()) {
    observe(RequestKind::kList, t, false);
    return transport_failure("GET " + target, t.result);
  }
  const bool json = !nlohmann::json::parse(t.result.reply.body, nullptr, false).is_discarded();
  observe(RequestKind::kList, t, !json);
  return json ? StepOutcome::kOk : bad_reply("GET " + target, "reply is not JSON");
}

StepOutcome SessionClient::step() {
  std::optional<ItemView> item;
  if (const auto r = lookup_random(&item); r != StepOutcome::kOk) return r;
  if (!item || item->quantity <= 0) return StepOutcome::kOk;
  if (!std::bernoulli_distribution(std::clamp(options_.p, 0.0, 1.0))(rng_)) return StepOutcome::kOk;
  std::uniform_int_distribution<std::int64_t> qty(1, options_.max_quantity);
  const std::int64_t quantity = qty(rng_);
  std::string type = "buy";
  if (options_.edition == Edition::kStocks && std::bernoulli_distribution(0.5)(rng_)) {
    type = "sell";
  }
  // The handout's client buys what the lookup showed: the item it just looked up.
  return place(item->name, type, quantity);
}

StepOutcome SessionClient::verify() {
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    if (const auto r = check(pending_[i]); r != StepOutcome::kOk) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return r;
    }
  }
  pending_.clear();
  return StepOutcome::kOk;
}

}  // namespace bazaar::client
