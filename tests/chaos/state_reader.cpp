#include "tests/chaos/state_reader.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "tests/integration/cluster.h"

namespace bazaar::chaos {

namespace {

using testing::Cluster;
using testing::lines_of;

constexpr int kBusyTimeoutMs = 5000;
constexpr int kSideSell = 1;   // proto::Side::kSell
constexpr int kStatusOk = 0;   // proto::Status::kOk
constexpr int kKindOrder = 1;  // proto::LogEntry::kOrder

}  // namespace

ReplicaState StateReader::replica(int k) const {
  ReplicaState r;
  r.name = "order-" + std::to_string(k);
  const std::string db = dir_ + "/" + r.name + ".db";
  // Orders first, dump second: if the commit index moves in between, the dump is the longer
  // one and the checker reports the difference (converged_replicas() reads again).
  try {
    SQLite::Database d(db, SQLite::OPEN_READONLY, kBusyTimeoutMs);
    SQLite::Transaction snapshot(d);  // one read snapshot for the commit index and the entries
    std::int64_t commit = 0;
    SQLite::Statement m(d, "SELECT value FROM meta WHERE key='commit_index'");
    if (m.executeStep()) commit = m.getColumn(0).getInt64();
    // Schema 6 keeps where the numbered orders are as runs (order/sqlite_log_store.h): order
    // first_number + k is at first_idx + k, up to the next run. Older files number each row.
    std::map<std::int64_t, std::int64_t> runs;  // first_idx -> first_number
    const bool has_runs = d.tableExists("order_runs");
    if (has_runs) {
      SQLite::Statement rq(d, "SELECT first_idx, first_number FROM order_runs");
      while (rq.executeStep()) runs[rq.getColumn(0).getInt64()] = rq.getColumn(1).getInt64();
    }
    // Columns by name, so a schema that gains columns still reads.
    SQLite::Statement q(d,
                        "SELECT idx, order_number, request_id, name, side, quantity FROM entries "
                        "WHERE kind=? AND idx<=? ORDER BY idx");
    q.bind(1, kKindOrder);
    q.bind(2, static_cast<int64_t>(commit));
    while (q.executeStep()) {
      CommittedOrder o;
      o.number = q.getColumn("order_number").getInt64();
      if (has_runs) {
        const std::int64_t idx = q.getColumn("idx").getInt64();
        auto run = runs.upper_bound(idx);
        o.number =
            run == runs.begin() ? -1 : std::prev(run)->second + (idx - std::prev(run)->first);
      }
      o.request_id = q.getColumn("request_id").getString();
      o.name = q.getColumn("name").getString();
      o.sell = q.getColumn("side").getInt() == kSideSell;
      o.quantity = q.getColumn("quantity").getInt64();
      r.orders.push_back(std::move(o));
    }
  } catch (const std::exception& e) {
    r.error = db + ": " + e.what();
    return r;
  }
  auto [rc, out] = Cluster::run_binary({Cluster::bin("bazaar-order"), "--dump", "--db", db});
  if (rc != 0) {
    r.error = "bazaar-order --dump exited " + std::to_string(rc) + ": " + out;
    return r;
  }
  r.dump = lines_of(out);
  return r;
}

std::vector<ReplicaState> StateReader::converged_replicas(
    int replicas, std::chrono::milliseconds patience) const {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    std::vector<ReplicaState> all;
    bool same = true;
    for (int k = 1; k <= replicas; ++k) {
      all.push_back(replica(k));
      const auto& r = all.back();
      same = same && r.error.empty() && r.dump.size() == r.orders.size() &&
             r.orders == all.front().orders && r.dump == all.front().dump;
    }
    if (same || std::chrono::steady_clock::now() > deadline) return all;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::map<std::string, std::int64_t> StateReader::catalog(std::string& error) const {
  std::map<std::string, std::int64_t> items;
  auto [rc, out] =
      Cluster::run_binary({Cluster::bin("bazaar-catalog"), "--dump", "--db", dir_ + "/catalog.db"});
  if (rc != 0) {
    error = "bazaar-catalog --dump exited " + std::to_string(rc) + ": " + out;
    return {};
  }
  for (const auto& line : lines_of(out)) {
    // "<name> <price> <quantity>"; stock names hold no spaces, but take the last two fields
    // from the right anyway.
    const auto q = line.rfind(' ');
    const auto p = q == std::string::npos || q == 0 ? std::string::npos : line.rfind(' ', q - 1);
    if (p == std::string::npos) {
      error = "unexpected catalog dump line '" + line + "'";
      return {};
    }
    try {
      items[line.substr(0, p)] = std::stoll(line.substr(q + 1));
    } catch (const std::exception&) {
      error = "unexpected catalog dump line '" + line + "'";
      return {};
    }
  }
  return items;
}

std::vector<AppliedTrade> StateReader::applied_trades() const {
  std::vector<AppliedTrade> out;
  try {
    SQLite::Database d(dir_ + "/catalog.db", SQLite::OPEN_READONLY, kBusyTimeoutMs);
    SQLite::Statement q(
        d, "SELECT request_id, name, side, quantity FROM applied_trades WHERE status=?");
    q.bind(1, kStatusOk);
    while (q.executeStep()) {
      AppliedTrade t;
      t.request_id = q.getColumn("request_id").getString();
      t.name = q.getColumn("name").getString();
      t.sell = q.getColumn("side").getInt() == kSideSell;
      t.quantity = q.getColumn("quantity").getInt64();
      out.push_back(std::move(t));
    }
  } catch (const std::exception&) {
    return {};  // only evidence for a report; its absence changes no verdict
  }
  return out;
}

}  // namespace bazaar::chaos
