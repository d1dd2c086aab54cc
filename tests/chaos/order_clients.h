// The chaos harness's clients: closed-loop threads that place keyed orders over HTTP and retry
// the SAME key with the SAME body after any failure until the order gets a final answer, and
// record what each key was finally told.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bazaar::chaos {

/// What a key was finally told.
enum class KeyOutcome : std::uint8_t {
  kAcknowledged,  // 200 with an order number
  kRefused,       // 409: not enough left to buy (a definite "no order")
  kRejected,      // any other 4xx: the harness or the service is wrong; a violation
  kUnfinished,    // still failing when the quiet deadline passed
};
const char* to_string(KeyOutcome outcome);

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
};

struct ClientOptions {
  std::vector<int> http_ports;  // one per frontend; client c starts on ports[c % size]
  int clients = 8;
  std::uint64_t seed = 1;
  std::vector<std::string> items;  // item names to trade
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
  /// Keys given a final answer so far (for progress lines while running).
  std::int64_t finished_keys() const { return finished_.load(); }

 private:
  void run(int client);
  void note_attempt(std::chrono::milliseconds took, int failure_class);

  ClientOptions options_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_new_{false};
  std::atomic<std::int64_t> deadline_ns_{0};  // steady_clock ns since epoch; 0: none yet
  std::atomic<std::int64_t> finished_{0};
  mutable std::mutex mu_;
  std::vector<KeyRecord> records_;
  ClientFigures figures_;
};

}  // namespace bazaar::chaos
