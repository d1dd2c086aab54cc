#include "tests/chaos/order_clients.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "client/http_client.h"

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
  for (int c = 0; c < options_.oneshot_clients; ++c) {
    threads_.emplace_back([this, c] { run_oneshot(options_.clients + c); });
  }
  for (int r = 0; r < options_.readers; ++r) {
    reader_threads_.emplace_back([this, r] { run_reader(r); });
  }
}

void OrderClients::finish(Clock::time_point deadline) {
  deadline_ns_ = duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  stop_new_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  // The readers last: they read the orders acknowledged until the very end.
  stop_readers_ = true;
  for (auto& t : reader_threads_) {
    if (t.joinable()) t.join();
  }
  reader_threads_.clear();
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
  std::vector<std::unique_ptr<client::HttpClient>> http;
  for (const auto& url : options_.urls) {
    http.push_back(std::make_unique<client::HttpClient>(url, options_.attempt_timeout));
  }
  std::size_t f = static_cast<std::size_t>(client) % http.size();
  std::int64_t owned_quantity = 0;
  if (options_.own_items) {
    owned_quantity = options_.initial.at(options_.items[static_cast<std::size_t>(client)]);
  }
  const auto past_deadline = [this] {
    const std::int64_t d = deadline_ns_.load();
    return d != 0 &&
           duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count() > d;
  };

  for (std::int64_t seq = 0; !stop_new_; ++seq) {
    KeyRecord r;
    r.key = "chaos-" + std::to_string(options_.seed) + "-c" + std::to_string(client) + "-" +
            std::to_string(seq);
    // An owned item: the same draw is made (so the rest of the sequence is unchanged), then
    // the client's own item is traded.
    r.name = options_.items[rng() % options_.items.size()];
    if (options_.own_items) r.name = options_.items[static_cast<std::size_t>(client)];
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
      const client::HttpResult res =
          http[f]->post_json("/orders", body, {{"Idempotency-Key", r.key}});
      const auto took = duration_cast<milliseconds>(Clock::now() - t0);
      int failure = kNoFailure;
      bool final = true;
      if (!res.ok()) {
        failure =
            res.error == client::HttpClientError::kTimeout ? kFailedTimeout : kFailedConnection;
        r.last_error = std::string(client::to_string(res.error)) + ": " + res.message;
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
      if (final) {
        r.frontend = static_cast<int>(f);
        break;
      }
      // Another frontend, if there is one: the key must mean the same order through any of them.
      f = (f + 1) % http.size();
      std::this_thread::sleep_for(backoff + milliseconds(rng() % 20));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    if (r.attempts == 0) continue;  // never sent (the deadline came first): not issued
    const auto total = duration_cast<milliseconds>(Clock::now() - first);
    if (r.outcome == KeyOutcome::kAcknowledged) {
      remember_ack(r);
      read_back(r, http, f, rng);
      if (options_.own_items) {
        auto& q = owned_quantity;
        q += r.sell ? r.quantity : -r.quantity;
        r.expected_quantity = q;
        // Read-your-writes, client-observed: no one else trades this item, so the front end
        // that acknowledged must serve exactly this quantity (an older value is a stale read).
        const auto res = http[f]->get("/products/" + r.name);
        if (res.ok() && res.reply.status == 200) {
          const auto j = nlohmann::json::parse(res.reply.body, nullptr, false);
          if (j.is_object() && j.contains("data") && j["data"].is_object() &&
              j["data"].value("quantity", std::int64_t{-2}) >= 0) {
            r.looked_up = j["data"]["quantity"].get<std::int64_t>();
          }
        } else if (!res.ok()) {
          http[f]->close();
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (r.looked_up >= 0) ++figures_.lookups_checked;
    figures_.retries += r.attempts - 1;
    if (r.outcome != KeyOutcome::kUnfinished)
      figures_.worst_order = std::max(figures_.worst_order, total);
    records_.push_back(std::move(r));
    finished_.fetch_add(1);
  }
}

}  // namespace bazaar::chaos

namespace bazaar::chaos {

using namespace std::chrono_literals;

void OrderClients::remember_ack(const KeyRecord& r) {
  constexpr std::size_t kRecent = 256;
  std::lock_guard<std::mutex> lock(mu_);
  KeyRecord copy;
  copy.name = r.name;
  copy.sell = r.sell;
  copy.quantity = r.quantity;
  copy.number = r.number;
  if (recent_.size() < kRecent) {
    recent_.push_back(std::move(copy));
  } else {
    recent_[recent_next_] = std::move(copy);
  }
  recent_next_ = (recent_next_ + 1) % kRecent;
}

std::vector<std::string> OrderClients::reread_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reread_failures_;
}

void OrderClients::run_reader(int reader) {
  std::mt19937_64 rng(options_.seed * 7919ULL + static_cast<std::uint64_t>(reader));
  std::vector<std::unique_ptr<client::HttpClient>> http;
  for (const auto& url : options_.urls) {
    http.push_back(std::make_unique<client::HttpClient>(url, 2000ms));
  }
  while (!stop_readers_) {
    KeyRecord o;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!recent_.empty()) {
        // The latest acks most often: the one that counts is the order acknowledged just
        // before a leader was cut off, read while the next one takes office.
        const std::size_t back = std::min<std::size_t>(recent_.size(), 1 + rng() % 32);
        o = recent_[(recent_next_ + recent_.size() - back) % recent_.size()];
      }
    }
    if (o.number < 0) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    const std::size_t f = rng() % http.size();
    const auto res = http[f]->get("/orders/" + std::to_string(o.number));
    std::string wrong;
    if (!res.ok()) {
      http[f]->close();
    } else if (res.reply.status == 200) {
      const auto j = nlohmann::json::parse(res.reply.body, nullptr, false);
      const auto d = j.is_object() ? j.value("data", nlohmann::json()) : nlohmann::json();
      const bool same = d.is_object() && d.value("number", std::int64_t{-1}) == o.number &&
                        d.value("name", std::string()) == o.name &&
                        d.value("type", std::string()) == (o.sell ? "sell" : "buy") &&
                        d.value("quantity", std::int64_t{-1}) == o.quantity;
      if (!same) wrong = "200 with another order: " + excerpt(res.reply.body);
    } else if (res.reply.status < 500) {
      wrong = std::to_string(res.reply.status) + " " + excerpt(res.reply.body);
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++figures_.rereads;
    if (!res.ok() || res.reply.status >= 500) ++figures_.rereads_unavailable;
    if (!wrong.empty() && reread_failures_.size() < 100) {
      reread_failures_.push_back("order " + std::to_string(o.number) + " (" +
                                 (o.sell ? "sell " : "buy ") + std::to_string(o.quantity) + " " +
                                 o.name + "), acknowledged, read again through frontend-" +
                                 std::to_string(f + 1) + ": " + wrong);
    }
  }
}

void OrderClients::read_back(KeyRecord& r, std::vector<std::unique_ptr<client::HttpClient>>& http,
                             std::size_t f, std::mt19937_64& rng) {
  const auto until = Clock::now() + options_.readback_budget;
  const std::string target = "/orders/" + std::to_string(r.number);
  milliseconds backoff = kFirstBackoff;
  std::int64_t tries = 0;
  r.readback = ReadBack::kUnavailable;
  for (; Clock::now() < until; ++tries) {
    const auto res = http[f]->get(target);
    if (res.ok() && res.reply.status == 200) {
      const auto j = nlohmann::json::parse(res.reply.body, nullptr, false);
      const auto d = j.is_object() ? j.value("data", nlohmann::json()) : nlohmann::json();
      const bool same = d.is_object() && d.value("number", std::int64_t{-1}) == r.number &&
                        d.value("name", std::string()) == r.name &&
                        d.value("type", std::string()) == (r.sell ? "sell" : "buy") &&
                        d.value("quantity", std::int64_t{-1}) == r.quantity;
      r.readback = same ? ReadBack::kOk : ReadBack::kWrong;
      if (!same) r.readback_detail = "200 " + excerpt(res.reply.body);
      break;
    }
    if (res.ok() && res.reply.status == 404) {  // final: the order is acknowledged
      r.readback = ReadBack::kNotFound;
      r.readback_detail = "frontend-" + std::to_string(f + 1) + ": 404 " + excerpt(res.reply.body);
      break;
    }
    if (res.ok() && res.reply.status < 500) {
      r.readback = ReadBack::kWrong;
      r.readback_detail = std::to_string(res.reply.status) + " " + excerpt(res.reply.body);
      break;
    }
    r.readback_detail = res.ok() ? std::to_string(res.reply.status) + " " + excerpt(res.reply.body)
                                 : std::string(client::to_string(res.error)) + ": " + res.message;
    if (!res.ok()) http[f]->close();
    // Unavailable (a partition, a pause): the same front end twice, then the others too.
    if (tries % 2 == 1) f = (f + 1) % http.size();
    std::this_thread::sleep_for(backoff + milliseconds(rng() % 20));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++figures_.readbacks;
  figures_.readback_retries += tries;
}

void OrderClients::run_oneshot(int client) {
  std::mt19937_64 rng(options_.seed * 1000003ULL + static_cast<std::uint64_t>(client));
  std::vector<std::unique_ptr<client::HttpClient>> http;
  for (const auto& url : options_.urls) {
    http.push_back(std::make_unique<client::HttpClient>(url, options_.attempt_timeout));
  }
  std::size_t f = static_cast<std::size_t>(client) % http.size();
  // The items no keyed client owns (all of them without ownership).
  const std::size_t first = options_.own_items ? static_cast<std::size_t>(options_.clients) : 0;
  for (std::int64_t seq = 0; !stop_new_; ++seq) {
    KeyRecord r;
    r.oneshot = true;
    r.name = options_.items[first + rng() % (options_.items.size() - first)];
    r.sell = rng() % 2 == 1;
    r.quantity =
        1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(options_.max_quantity));
    const std::string body = nlohmann::json{
        {"name", r.name},
        {"quantity", r.quantity},
        {"type", r.sell ? "sell"
                        : "buy"}}.dump();
    r.attempts = 1;
    const auto t0 = Clock::now();
    const client::HttpResult res = http[f]->post_json("/orders", body, {});
    const auto took = duration_cast<milliseconds>(Clock::now() - t0);
    int failure = kNoFailure;
    if (!res.ok()) {
      failure = res.error == client::HttpClientError::kTimeout ? kFailedTimeout : kFailedConnection;
      r.last_error = std::string(client::to_string(res.error)) + ": " + res.message;
      http[f]->close();
    } else if (res.reply.status == 200) {
      const auto j = nlohmann::json::parse(res.reply.body, nullptr, false);
      const auto d = j.is_object() ? j.value("data", nlohmann::json()) : nlohmann::json();
      if (d.is_object() && d.value("order_number", std::int64_t{-1}) >= 0) {
        r.outcome = KeyOutcome::kAcknowledged;
        r.number = d["order_number"].get<std::int64_t>();
      } else {
        r.outcome = KeyOutcome::kRejected;
        r.last_error = "200 with an unexpected body: " + excerpt(res.reply.body);
      }
    } else if (res.reply.status == 409) {
      r.outcome = KeyOutcome::kRefused;
    } else if (res.reply.status >= 500) {
      failure = kFailed5xx;
      r.last_error = std::to_string(res.reply.status) + " " + excerpt(res.reply.body);
    } else {
      r.outcome = KeyOutcome::kRejected;
      r.last_error = std::to_string(res.reply.status) + " " + excerpt(res.reply.body);
    }
    note_attempt(took, failure);
    r.frontend = static_cast<int>(f);
    if (r.outcome == KeyOutcome::kAcknowledged) {
      remember_ack(r);
      read_back(r, http, f, rng);
    }
    // Given up (kUnfinished): the client moves on, as one without a key would; the next order
    // goes to the next front end.
    if (failure != kNoFailure) {
      f = (f + 1) % http.size();
      std::this_thread::sleep_for(50ms);  // no tight loop of 503s while there is no leader
    }
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back(std::move(r));
    finished_.fetch_add(1);
  }
}

}  // namespace bazaar::chaos
