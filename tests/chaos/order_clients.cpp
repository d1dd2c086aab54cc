#include "tests/chaos/order_clients.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "frontend/http_client.h"

namespace bazaar::chaos {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Failure classes of one attempt, for the figures.
constexpr int kNoFailure = 0, kFailed5xx = 1, kFailedTimeout = 2, kFailedConnection = 3;

constexpr milliseconds kFirstBackoff{20};
constexpr milliseconds kMaxBackoff{400};

// The body of the reply, shortened for a report line.
std::string excerpt(const std::string& body) {
  return body.size() > 200 ? body.substr(0, 200) + "..." : body;
}

}  // namespace

const char* to_string(KeyOutcome outcome) {
  switch (outcome) {
    case KeyOutcome::kAcknowledged:
      return "acknowledged";
    case KeyOutcome::kRefused:
      return "refused";
    case KeyOutcome::kRejected:
      return "rejected";
    case KeyOutcome::kUnfinished:
      return "unfinished";
  }
  return "?";
}

OrderClients::OrderClients(ClientOptions options) : options_(std::move(options)) {}

OrderClients::~OrderClients() {
  finish(Clock::now());
}

void OrderClients::start() {
  for (int c = 0; c < options_.clients; ++c) threads_.emplace_back([this, c] { run(c); });
}

void OrderClients::finish(Clock::time_point deadline) {
  deadline_ns_ = duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  stop_new_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::vector<KeyRecord> OrderClients::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}

std::vector<KeyRecord> OrderClients::take_records() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(records_);
}

ClientFigures OrderClients::figures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return figures_;
}

void OrderClients::note_attempt(milliseconds took, int failure_class) {
  std::lock_guard<std::mutex> lock(mu_);
  ++figures_.attempts;
  figures_.worst_attempt = std::max(figures_.worst_attempt, took);
  if (failure_class == kFailed5xx) ++figures_.failed_5xx;
  if (failure_class == kFailedTimeout) ++figures_.failed_timeout;
  if (failure_class == kFailedConnection) ++figures_.failed_connection;
}

void OrderClients::run(int client) {
  // Each client its own generator, so what it orders depends on the seed and its index only.
  std::mt19937_64 rng(options_.seed * 1000003ULL + static_cast<std::uint64_t>(client));
  std::vector<std::unique_ptr<frontend::HttpClient>> http;
  for (int port : options_.http_ports) {
    http.push_back(std::make_unique<frontend::HttpClient>(
        "http://127.0.0.1:" + std::to_string(port), options_.attempt_timeout));
  }
  std::size_t f = static_cast<std::size_t>(client) % http.size();
  const auto past_deadline = [this] {
    const std::int64_t d = deadline_ns_.load();
    return d != 0 &&
           duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count() > d;
  };

  for (std::int64_t seq = 0; !stop_new_; ++seq) {
    KeyRecord r;
    r.key = "chaos-" + std::to_string(options_.seed) + "-c" + std::to_string(client) + "-" +
            std::to_string(seq);
    r.name = options_.items[rng() % options_.items.size()];
    r.sell = rng() % 2 == 1;
    r.quantity =
        1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(options_.max_quantity));
    // Now and then a large one, so stocks reach 0 and refused buys (409) happen under faults
    // too: a refusal is recorded at the catalog and must stay a refusal when the key comes back.
    if (rng() % 16 == 0) r.quantity = 20 + static_cast<std::int64_t>(rng() % 41);
    // One body for every attempt of the key: a retry must be byte-for-byte the same request.
    const std::string body = nlohmann::json{
        {"name", r.name},
        {"quantity", r.quantity},
        {"type", r.sell ? "sell"
                        : "buy"}}.dump();
    const auto first = Clock::now();
    milliseconds backoff = kFirstBackoff;
    for (;;) {
      if (past_deadline()) {
        r.outcome = KeyOutcome::kUnfinished;
        break;
      }
      ++r.attempts;
      const auto t0 = Clock::now();
      const frontend::HttpResult res =
          http[f]->post_json("/orders", body, {{"Idempotency-Key", r.key}});
      const auto took = duration_cast<milliseconds>(Clock::now() - t0);
      int failure = kNoFailure;
      bool final = true;
      if (!res.ok()) {
        failure =
            res.error == frontend::HttpClientError::kTimeout ? kFailedTimeout : kFailedConnection;
        r.last_error = std::string(frontend::to_string(res.error)) + ": " + res.message;
        // A connection that timed out may still deliver the old reply: never reuse it.
        http[f]->close();
        final = false;
      } else if (res.reply.status == 200) {
        const auto j = nlohmann::json::parse(res.reply.body, nullptr, false);
        const auto data = j.is_object() ? j.find("data") : j.end();
        if (data != j.end() && data->is_object() && data->contains("order_number") &&
            (*data)["order_number"].is_number_integer() &&
            data->value("transaction_number", std::int64_t{-2}) ==
                (*data)["order_number"].get<std::int64_t>()) {
          r.outcome = KeyOutcome::kAcknowledged;
          r.number = (*data)["order_number"].get<std::int64_t>();
        } else {
          r.outcome = KeyOutcome::kRejected;
          r.last_error = "200 with an unexpected body: " + excerpt(res.reply.body);
        }
      } else if (res.reply.status == 409) {
        r.outcome = KeyOutcome::kRefused;
      } else if (res.reply.status >= 500) {
        failure = kFailed5xx;
        r.last_error = std::to_string(res.reply.status) + " " + excerpt(res.reply.body);
        final = false;
      } else {
        r.outcome = KeyOutcome::kRejected;
        r.last_error = std::to_string(res.reply.status) + " " + excerpt(res.reply.body);
      }
      note_attempt(took, failure);
      if (final) break;
      // Another frontend, if there is one: the key must mean the same order through any of them.
      f = (f + 1) % http.size();
      std::this_thread::sleep_for(backoff + milliseconds(rng() % 20));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    if (r.attempts == 0) continue;  // never sent (the deadline came first): not issued
    const auto total = duration_cast<milliseconds>(Clock::now() - first);
    std::lock_guard<std::mutex> lock(mu_);
    figures_.retries += r.attempts - 1;
    if (r.outcome != KeyOutcome::kUnfinished)
      figures_.worst_order = std::max(figures_.worst_order, total);
    records_.push_back(std::move(r));
    finished_.fetch_add(1);
  }
}

}  // namespace bazaar::chaos
