// The chaos harness's clients: closed-loop threads that place keyed orders over HTTP and retry
// the SAME key with the SAME body after any failure until the order gets a final answer, and
// record what each key was finally told. After each acknowledgement a client reads the order
// back (GET /orders/N) and looks its item up through the same front end (read-your-writes). A
// few "one-shot" clients send each order once without a key and give up on any failure: the
// client G2 must also hold for.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace bazaar::client {
class HttpClient;
}

namespace bazaar::chaos {

/// What a key was finally told.
enum class KeyOutcome : std::uint8_t {
  kAcknowledged,  // 200 with an order number
  kRefused,       // 409: not enough left to buy (a definite "no order")
  kRejected,      // any other 4xx: the harness or the service is wrong; a violation
  kUnfinished,    // still failing when the quiet deadline passed
};
const char* to_string(KeyOutcome outcome);

/// What reading an acknowledged order back (GET /orders/N, right after the ack) gave.
enum class ReadBack : std::uint8_t {
  kNotChecked,   // not acknowledged, so nothing to read
  kOk,           // 200 with the order as acknowledged
  kNotFound,     // 404: the front end called an acknowledged order unknown (G7)
  kWrong,        // another order, or another final error
  kUnavailable,  // only 5xx/timeouts within the read-back budget
};
/// Inline: the checker (linked without the clients) prints it too.
inline const char* to_string(ReadBack r) {
  switch (r) {
    case ReadBack::kNotChecked:
      return "not checked";
    case ReadBack::kOk:
      return "ok";
    case ReadBack::kNotFound:
      return "404";
    case ReadBack::kWrong:
      return "wrong";
    case ReadBack::kUnavailable:
      return "unavailable";
  }
  return "?";
}

/// One Idempotency-Key and its fate.
struct KeyRecord {
  std::string key;
  std::string name;
  bool sell = false;
  std::int64_t quantity = 0;
  KeyOutcome outcome = KeyOutcome::kUnfinished;
  std::int64_t number = -1;  // the acknowledged order number
  int attempts = 0;
  std::string last_error;  // the last failure seen for this key (status and body, or I/O error)
  bool oneshot = false;    // sent once, without a key (`key` is empty); unfinished = gave up
  int frontend = -1;       // index of the front end that gave the final answer
  ReadBack readback = ReadBack::kNotChecked;
  std::string readback_detail;          // the reply that made readback not kOk
  std::int64_t expected_quantity = -1;  // the item's quantity after this order (owned items)
  std::int64_t looked_up = -1;          // what that front end served right after (-1: no reply)
};

struct ClientOptions {
  std::vector<std::string>
      urls;  // one per frontend ("http://HOST:PORT"); client c starts on c % size
  int clients = 8;
  int oneshot_clients = 0;  // more threads: no key, one attempt, never retried
  // More threads that keep reading recently acknowledged orders (GET /orders/N through any
  // front end, again and again), so a read meets every fail-over (G7), not only the one
  // read-back right after the ack.
  int readers = 0;
  std::uint64_t seed = 1;
  std::vector<std::string> items;  // item names to trade
  // Item ownership for the read-your-writes check: keyed client c alone trades items[c], so it
  // knows the exact quantity after each acknowledged order; the items past the keyed clients go
  // to the one-shot clients. Needs clients < items.size() and `initial`; off otherwise.
  bool own_items = false;
  std::map<std::string, std::int64_t> initial;
  std::chrono::milliseconds readback_budget{20000};  // retrying 5xx/timeouts of a read-back
  std::chrono::milliseconds attempt_timeout{5000};
  int max_quantity = 5;  // most orders are 1..max_quantity; one in 16 is 20..60
};

/// Counters over every attempt of every client.
struct ClientFigures {
  std::int64_t attempts = 0;
  std::int64_t retries = 0;                    // attempts after the first one of a key
  std::int64_t failed_5xx = 0;                 // 5xx replies (503 while a service is down, ...)
  std::int64_t failed_timeout = 0;             // no complete reply within attempt_timeout
  std::int64_t failed_connection = 0;          // refused, reset, or a broken reply
  std::chrono::milliseconds worst_attempt{0};  // one HTTP exchange
  std::chrono::milliseconds worst_order{0};    // first attempt of a key to its final answer
  std::int64_t readbacks = 0, readback_retries = 0;   // GET /orders/N after an ack, and retries
  std::int64_t lookups_checked = 0;                   // owned-item lookups compared after an ack
  std::int64_t rereads = 0, rereads_unavailable = 0;  // the readers' reads, and their 5xx/timeouts
  std::int64_t failures() const { return failed_5xx + failed_timeout + failed_connection; }
};

/// Runs `clients` threads. Each draws (item, side, quantity) from its own seeded generator,
/// sends POST /orders with a fresh key, and retries that key (with a short back-off, switching
/// frontend when there are several) until it is acknowledged or refused. Thread-safe.
class OrderClients {
 public:
  explicit OrderClients(ClientOptions options);
  ~OrderClients();
  OrderClients(const OrderClients&) = delete;
  OrderClients& operator=(const OrderClients&) = delete;

  void start();
  /// Stops issuing new keys; each client finishes the key it holds, giving up on it at
  /// `deadline` (it is then recorded as kUnfinished). Blocks until every thread has ended.
  void finish(std::chrono::steady_clock::time_point deadline);

  /// Valid after finish(): every key issued, in no particular order.
  std::vector<KeyRecord> records() const;
  /// Valid after finish(): the same, moved out (records() is empty afterwards).
  std::vector<KeyRecord> take_records();
  ClientFigures figures() const;
  /// Valid after finish(): the readers' wrong answers for acknowledged orders (a 404, another
  /// order), one line each, at most 100.
  std::vector<std::string> reread_failures() const;
  /// Keys given a final answer so far (for progress lines while running).
  std::int64_t finished_keys() const { return finished_.load(); }

 private:
  void run(int client);
  void run_oneshot(int client);
  void run_reader(int reader);
  /// Remembers an acknowledged order for the readers (a bounded ring of the latest).
  void remember_ack(const KeyRecord& r);
  /// Reads order `r.number` back through `http[f]` (then the others), filling r.readback.
  void read_back(KeyRecord& r, std::vector<std::unique_ptr<client::HttpClient>>& http,
                 std::size_t f, std::mt19937_64& rng);
  void note_attempt(std::chrono::milliseconds took, int failure_class);

  ClientOptions options_;
  std::vector<std::thread> threads_;
  std::vector<std::thread> reader_threads_;
  std::atomic<bool> stop_new_{false};
  std::atomic<std::int64_t> deadline_ns_{0};  // steady_clock ns since epoch; 0: none yet
  std::atomic<std::int64_t> finished_{0};
  std::atomic<bool> stop_readers_{false};
  std::vector<KeyRecord> recent_;  // ring of the latest acks (guarded by mu_), bounded
  std::size_t recent_next_ = 0;
  std::vector<std::string> reread_failures_;  // guarded by mu_
  mutable std::mutex mu_;
  std::vector<KeyRecord> records_;
  ClientFigures figures_;
};

}  // namespace bazaar::chaos
