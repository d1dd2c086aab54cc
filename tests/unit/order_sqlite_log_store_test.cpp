// order::SqliteLogStore on real SQLite files: the LogStore contract (log_store_contract.h), a
// reopen, the order numbers written as entries commit, the lookups by number and by request id,
// the dump, and the migration of a schema-2 file (written here with that schema's SQL).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.h"
#include "log_store_contract.h"
#include "order/sqlite_log_store.h"

namespace bazaar::order {
namespace {

using raft::testing::all_entries;
using raft::testing::store_entries;
using raft::testing::stored_terms;

/// A path of its own in the test's temporary directory, removed (with its WAL) at the end.
class TempDb {
 public:
  TempDb() {
    static int count = 0;
    path_ = ::testing::TempDir() + "bazaar_log_store_" + std::to_string(::getpid()) + "_" +
            std::to_string(++count) + ".db";
    remove();
  }
  ~TempDb() { remove(); }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  const std::string& path() const { return path_; }

 private:
  void remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
  std::string path_;
};

struct SqliteFactory {
  std::unique_ptr<raft::LogStore> make() { return std::make_unique<SqliteLogStore>(db.path()); }
  TempDb db;
};

}  // namespace
}  // namespace bazaar::order

namespace bazaar::raft::testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, LogStoreContract, order::SqliteFactory);
}  // namespace bazaar::raft::testing

namespace bazaar::order {
namespace {

std::int64_t schema_version(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT value FROM meta WHERE key='schema_version'");
  return q.executeStep() ? q.getColumn(0).getInt64() : -1;
}

/// Order entries numbered 0, 1, 2, ... as the core numbers them, with a no-op first.
std::vector<proto::LogEntry> numbered(const std::vector<std::uint64_t>& terms) {
  auto log = store_entries(terms);
  log.front().kind = proto::LogEntry::kNoop;
  log.front().order_number = -1;
  std::int64_t n = 0;
  for (std::size_t k = 1; k < log.size(); ++k) log[k].order_number = n++;
  return log;
}

/// Writes `log` and {term 3, vote 2}, commit `commit` as a schema-2 file: that schema's tables and
/// meta keys, with every order numbered by its leader.
void write_schema_2(const std::string& path, const std::vector<proto::LogEntry>& log,
                    std::uint64_t commit) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode=WAL");
  SQLite::Transaction txn(db);
  db.exec(
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS entries("
      "  idx INTEGER PRIMARY KEY,"
      "  term INTEGER NOT NULL,"
      "  kind INTEGER NOT NULL CHECK(kind IN (0,1)),"
      "  order_number INTEGER NOT NULL,"
      "  request_id TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  side INTEGER NOT NULL CHECK(side IN (0,1)),"
      "  quantity INTEGER NOT NULL)");
  db.exec(
      "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', 2), ('term', 3), "
      "('voted_for', 2), ('commit_index', " +
      std::to_string(commit) + ")");
  SQLite::Statement append(db,
                           "INSERT OR REPLACE INTO entries(idx, term, kind, order_number, "
                           "request_id, name, side, quantity) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  for (std::size_t k = 0; k < log.size(); ++k) {
    const auto& e = log[k];
    append.bind(1, static_cast<int64_t>(k + 1));
    append.bind(2, static_cast<int64_t>(e.term));
    append.bind(3, static_cast<int>(e.kind));
    append.bind(4, static_cast<int64_t>(e.order_number));
    append.bind(5, e.request_id);
    append.bind(6, e.name);
    append.bind(7, static_cast<int>(e.side));
    append.bind(8, static_cast<int64_t>(e.quantity));
    append.exec();
    append.reset();
  }
  txn.commit();
}

/// Order entries as a core that no longer numbers them appends them (-1), with a no-op first.
std::vector<proto::LogEntry> unnumbered(const std::vector<std::uint64_t>& terms) {
  auto log = store_entries(terms);
  log.front().kind = proto::LogEntry::kNoop;
  log.front().request_id.clear();
  for (auto& e : log) e.order_number = -1;
  return log;
}

/// The order numbers of entries 1..last, -1 for one not numbered (not an order, or not yet).
std::vector<std::int64_t> stored_numbers(const SqliteLogStore& s) {
  std::vector<std::int64_t> out;
  for (std::uint64_t i = 1; i <= s.last_index(); ++i) out.push_back(s.order_number_at(i));
  return out;
}

std::int64_t meta_value(const std::string& path, const char* key) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT value FROM meta WHERE key=?");
  q.bind(1, key);
  return q.executeStep() ? q.getColumn(0).getInt64() : -1;
}

std::vector<std::string> dump_lines(const std::string& path) {
  std::vector<std::string> lines;
  SqliteLogStore::dump(path, [&](const std::string& line) { lines.push_back(line); });
  return lines;
}

TEST(SqliteLogStore, ReopensWhereItStopped) {
  TempDb db;
  {
    SqliteLogStore s(db.path());
    ASSERT_EQ(s.write({raft::HardState{2, 1}, std::nullopt, 1, numbered({1, 1, 2}), 2}),
              raft::WriteOutcome::kWritten);
    // A commit-only write (not synced at once) is still in the file after a clean close.
    ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 3}), raft::WriteOutcome::kWritten);
  }
  SqliteLogStore s(db.path());
  EXPECT_EQ(s.hard_state(), (raft::HardState{2, 1}));
  EXPECT_EQ(s.commit_index(), 3u);
  EXPECT_EQ(s.last_index(), 3u);
  EXPECT_EQ(s.term(3), 2u);
  EXPECT_EQ(s.term(2), 1u);
  EXPECT_EQ(all_entries(s), numbered({1, 1, 2}));
  // And goes on from there.
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 4, store_entries({2}), std::nullopt}),
            raft::WriteOutcome::kWritten);
  EXPECT_EQ(s.last_index(), 4u);
  EXPECT_EQ(schema_version(db.path()), SqliteLogStore::kSchemaVersion);
}

TEST(SqliteLogStore, KeepsTheClusterIdentityAcrossAReopen) {
  TempDb db;
  {
    SqliteLogStore s(db.path());
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.cluster_id(), 0u);
    EXPECT_EQ(s.known_peers(), 0u);
    // An id with the top bit set: stored in SQLite's signed integer, read back bit for bit.
    s.write_identity(0x9e3779b97f4a7c15ULL, (1u << 2) | (1u << 9));
    EXPECT_FALSE(s.empty());  // a recorded id alone makes it a member's database
  }
  SqliteLogStore s(db.path());
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.cluster_id(), 0x9e3779b97f4a7c15ULL);
  EXPECT_EQ(s.known_peers(), (1u << 2) | (1u << 9));
  EXPECT_EQ(s.last_index(), 0u);
  EXPECT_EQ(s.hard_state(), (raft::HardState{}));
}

TEST(SqliteLogStore, MigratesASchema2File) {
  TempDb db;
  const auto log = numbered({1, 1, 1, 2, 2});
  write_schema_2(db.path(), log, 4);
  ASSERT_EQ(schema_version(db.path()), 2);
  {
    SqliteLogStore s(db.path());
    EXPECT_EQ(schema_version(db.path()), SqliteLogStore::kSchemaVersion);
    EXPECT_EQ(s.hard_state(), (raft::HardState{3, 2}));
    EXPECT_EQ(s.commit_index(), 4u);
    EXPECT_EQ(s.last_index(), 5u);
    EXPECT_EQ(s.term(5), 2u);
    EXPECT_EQ(all_entries(s), log);
    // The request index of schema 3 and the order runs of schema 6 exist; schema 3's index by
    // order number is gone.
    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    for (const auto& [name, count] : std::vector<std::pair<std::string, int>>{
             {"entries_by_request", 1}, {"order_runs", 1}, {"entries_by_order", 0}}) {
      SQLite::Statement q(raw, "SELECT count(*) FROM sqlite_master WHERE name=?");
      q.bind(1, name);
      ASSERT_TRUE(q.executeStep());
      EXPECT_EQ(q.getColumn(0).getInt(), count) << name;
    }
    EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, 1, 2, -1}));
  }
  // A second open finds the current version: no migration, the same state.
  SqliteLogStore again(db.path());
  EXPECT_EQ(all_entries(again), log);
  // `bazaar-order --dump` still reads the migrated file: the committed orders, in order.
  EXPECT_EQ(dump_lines(db.path()),
            (std::vector<std::string>{"0 Tux sell 3", "1 Tux sell 3", "2 Tux sell 3"}));
}

// Schema 4 admits configuration entries, which schema 3's table refused (a CHECK constraint): a
// schema-3 file is copied into the new table at open, every entry and number kept, and its
// configuration index (none yet) read back after a write that sets one.
TEST(SqliteLogStore, MigratesASchema3FileToTakeConfigurationEntries) {
  TempDb db;
  const auto log = numbered({1, 1, 2});
  write_schema_2(db.path(), log, 3);
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    raw.exec(
        "UPDATE meta SET value=3 WHERE key='schema_version';"
        "INSERT INTO meta(key, value) VALUES('orders', 2)");
  }
  proto::LogEntry config;
  config.term = 2;
  config.kind = proto::LogEntry::kConfig;
  config.name = "1:v:tcp://a:1 2:v:tcp://a:2";
  {
    SqliteLogStore s(db.path());
    EXPECT_EQ(schema_version(db.path()), SqliteLogStore::kSchemaVersion);
    EXPECT_EQ(all_entries(s), log);
    EXPECT_EQ(s.committed_orders(), 2);
    EXPECT_EQ(s.config_index(), 0u);
    raft::LogWrite w;
    w.first_index = 4;
    w.entries = {config};
    w.commit_index = 4;
    w.config_index = 4;
    ASSERT_EQ(s.write(w), raft::WriteOutcome::kWritten);
  }
  SqliteLogStore again(db.path());
  EXPECT_EQ(again.config_index(), 4u);
  EXPECT_EQ(all_entries(again).back(), config);
  EXPECT_EQ(dump_lines(db.path()).size(), 2u) << "a configuration entry is no order";
}

/// Writes `log`, commit `commit` and `orders` committed orders as a schema-4 file, its entries
/// table declared as schema 4 created it or, `renamed`, as the migration from 3 left it (made
/// under another name and renamed, so that SQLite quotes the name in the declaration). With
/// `version` 5, as schema 5 wrote it: the same, its CHECK constraints as ranges.
void write_schema_4(const std::string& path, const std::vector<proto::LogEntry>& log,
                    std::uint64_t commit, std::int64_t orders, bool renamed, int version = 4) {
  write_schema_2(path, log, commit);
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  SQLite::Transaction txn(db);
  const std::string table = renamed ? "entries_4" : "entries";
  db.exec("ALTER TABLE entries RENAME TO entries_2");
  db.exec("CREATE TABLE " + table +
          "("
          "  idx INTEGER PRIMARY KEY,"
          "  term INTEGER NOT NULL,"
          "  kind INTEGER NOT NULL CHECK(" +
          (version == 5 ? "kind BETWEEN 0 AND 2" : "kind IN (0,1,2)") +
          "),"
          "  order_number INTEGER NOT NULL,"
          "  request_id TEXT NOT NULL,"
          "  name TEXT NOT NULL,"
          "  side INTEGER NOT NULL CHECK(" +
          (version == 5 ? "side BETWEEN 0 AND 1" : "side IN (0,1)") +
          "),"
          "  quantity INTEGER NOT NULL)");
  db.exec("INSERT INTO " + table + " SELECT * FROM entries_2");
  db.exec("DROP TABLE entries_2");
  if (renamed) db.exec("ALTER TABLE entries_4 RENAME TO entries");
  db.exec(
      "CREATE INDEX entries_by_order ON entries(order_number) WHERE kind=1;"
      "CREATE INDEX entries_by_request ON entries(request_id) WHERE kind=1;"
      "UPDATE meta SET value=" +
      std::to_string(version) +
      " WHERE key='schema_version';"
      "INSERT INTO meta(key, value) VALUES('orders', " +
      std::to_string(orders) + ")");
  txn.commit();
}

/// The rows of order_runs, (first_idx, first_number), ascending.
std::vector<std::pair<std::int64_t, std::int64_t>> order_runs(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT first_idx, first_number FROM order_runs ORDER BY first_idx");
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  while (q.executeStep()) out.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getInt64());
  return out;
}

/// A no-op at 1, orders at 2 and 3, a no-op at 4 (a new term), orders at 5, 6 and 7, numbered
/// as schema 2 to 5 numbered them (every order, in index order).
std::vector<proto::LogEntry> log_with_a_gap() {
  auto log = numbered({1, 1, 1, 2, 2, 2, 2});
  log[3].kind = proto::LogEntry::kNoop;
  log[3].request_id.clear();
  std::int64_t n = 0;
  for (auto& e : log) e.order_number = e.kind == proto::LogEntry::kOrder ? n++ : -1;
  return log;
}

std::string entries_declaration(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT sql FROM sqlite_schema WHERE type='table' AND name='entries'")
      .getString();
}

// Schema 5 only writes schema 4's CHECK constraints as ranges (a list costs SQLite a temporary
// B-tree for every insert): a schema-4 file is migrated in place, its entries kept, and the
// constraints still refuse what they refused.
TEST(SqliteLogStore, MigratesASchema4FileInPlaceAndKeepsItsConstraints) {
  for (const bool renamed : {false, true}) {
    SCOPED_TRACE(renamed ? "renamed" : "created");
    TempDb db;
    const auto log = numbered({1, 1, 2});
    write_schema_4(db.path(), log, 3, 2, renamed);
    {
      SqliteLogStore s(db.path());
      EXPECT_EQ(all_entries(s), log);
      EXPECT_EQ(s.committed_orders(), 2);
      EXPECT_EQ(s.commit_index(), 3u);
    }
    EXPECT_EQ(schema_version(db.path()), SqliteLogStore::kSchemaVersion);
    const std::string declared = entries_declaration(db.path());
    EXPECT_NE(declared.find("CHECK(kind BETWEEN 0 AND 2)"), std::string::npos) << declared;
    EXPECT_NE(declared.find("CHECK(side BETWEEN 0 AND 1)"), std::string::npos) << declared;
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
    EXPECT_THROW(raw.exec("INSERT INTO entries VALUES(4, 2, 3, -1, 'r', 'Tux', 0, 1)"),
                 SQLite::Exception);
    EXPECT_THROW(raw.exec("INSERT INTO entries VALUES(4, 2, 1, -1, 'r', 'Tux', 2, 1)"),
                 SQLite::Exception);
    SqliteLogStore again(db.path());
    EXPECT_EQ(all_entries(again), log);
  }
}

// The in-place migration rewrites only a declaration it knows: any other is refused, and the
// file is left at version 4.
TEST(SqliteLogStore, ASchema4FileWithAnotherTableIsRefusedAndLeftAsItWas) {
  TempDb db;
  write_schema_4(db.path(), numbered({1, 1}), 2, 1, false);
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    raw.exec("ALTER TABLE entries ADD COLUMN extra INTEGER");
  }
  const std::string before = entries_declaration(db.path());
  try {
    SqliteLogStore s(db.path());
    ADD_FAILURE() << "opened a schema-4 file with an unknown entries table";
  } catch (const common::StartupError& e) {
    EXPECT_NE(std::string(e.what()).find("not the one of schema 4"), std::string::npos) << e.what();
  }
  EXPECT_EQ(schema_version(db.path()), 4);
  EXPECT_EQ(entries_declaration(db.path()), before);
}

// Schema 2 refuses an order entry out of sequence anywhere in the log; schema 3 numbers only the
// committed ones, so a migrated file takes unnumbered entries past its commit index and is not
// checked as a schema-2 file again.
TEST(SqliteLogStore, AMigratedFileTakesUnnumberedEntries) {
  TempDb db;
  write_schema_2(db.path(), numbered({1, 1}), 2);
  {
    SqliteLogStore s(db.path());
    ASSERT_EQ(s.write({std::nullopt, std::nullopt, 3, unnumbered({3, 3}), std::nullopt}),
              raft::WriteOutcome::kWritten);
  }
  SqliteLogStore s(db.path());
  EXPECT_EQ(schema_version(db.path()), SqliteLogStore::kSchemaVersion);
  EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, -1, -1}));
  EXPECT_EQ(s.committed_orders(), 1);
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 4}, {{4, 1}}),
            raft::WriteOutcome::kWritten);
  EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, -1, 1}));
}

TEST(SqliteLogStore, ABrokenSchema2FileIsRefusedAndLeftAsItWas) {
  for (const char* breakage :
       {"DELETE FROM entries WHERE idx=1",  // the no-op: a hole, the numbers still in order
        "UPDATE entries SET order_number=7 WHERE idx=3"}) {
    SCOPED_TRACE(breakage);
    TempDb db;
    write_schema_2(db.path(), numbered({1, 1, 1, 1}), 2);
    {
      SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
      raw.exec(breakage);
    }
    EXPECT_THROW(SqliteLogStore s(db.path()), common::StartupError);
    EXPECT_EQ(schema_version(db.path()), 2) << "a failed migration changed the file";
    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    EXPECT_FALSE(raw.execAndGet("SELECT count(*) FROM sqlite_master WHERE name='entries_by_order'")
                     .getInt());
    EXPECT_FALSE(raw.execAndGet("SELECT count(*) FROM meta WHERE key='orders'").getInt());
  }
}

TEST(SqliteLogStore, RefusesFilesItCannotUse) {
  TempDb future;
  { SqliteLogStore s(future.path()); }
  {
    SQLite::Database raw(future.path(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE meta SET value=" + std::to_string(SqliteLogStore::kSchemaVersion + 1) +
             " WHERE key='schema_version'");
  }
  EXPECT_THROW(SqliteLogStore s(future.path()), common::StartupError);

  TempDb other;
  {
    SQLite::Database raw(other.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }
  EXPECT_THROW(SqliteLogStore s(other.path()), common::StartupError);

  TempDb text;
  {
    std::FILE* f = std::fopen(text.path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a database, not even close; it is long enough to have a header\n", f);
    std::fclose(f);
  }
  EXPECT_THROW(SqliteLogStore s(text.path()), common::StartupError);
}

TEST(SqliteLogStore, ReadsAFarRangeAndTermsFromDisk) {
  TempDb db;
  SqliteLogStore s(db.path());
  std::vector<std::uint64_t> terms(3000, 1);
  for (std::size_t k = 1000; k < terms.size(); ++k) terms[k] = 2;
  ASSERT_EQ(s.write({raft::HardState{2, -1}, std::nullopt, 1, store_entries(terms), 3000}),
            raft::WriteOutcome::kWritten);
  EXPECT_EQ(s.term(1000), 1u);
  EXPECT_EQ(s.term(1001), 2u);
  const raft::EntriesRead r = s.entries(990, 1990, SIZE_MAX);
  ASSERT_EQ(r.entries.size(), 1000u);
  EXPECT_EQ(r.entries.front().request_id, "r990");
  EXPECT_EQ(r.entries.back().request_id, "r1989");
  EXPECT_EQ(stored_terms(s).size(), 3000u);
}

// The replica's write as an entry commits: the number, the count and the commit index in one
// transaction, on disk once write() returns.
TEST(SqliteLogStore, NumbersOrdersAsTheyCommit) {
  TempDb db;
  {
    SqliteLogStore s(db.path());
    EXPECT_EQ(s.committed_orders(), 0);
    EXPECT_EQ(meta_value(db.path(), "orders"), 0);
    // Appended, committed and numbered in one write: the no-op and the first order.
    ASSERT_EQ(
        s.write({raft::HardState{1, 0}, std::nullopt, 1, unnumbered({1, 1, 1, 1, 1}), 2}, {{2, 0}}),
        raft::WriteOutcome::kWritten);
    EXPECT_EQ(s.committed_orders(), 1);
    // Then two more, committed with nothing else to write.
    ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 4}, {{3, 1}, {4, 2}}),
              raft::WriteOutcome::kWritten);
    EXPECT_EQ(s.committed_orders(), 3);
    EXPECT_EQ(s.commit_index(), 4u);
    EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, 1, 2, -1}));
    EXPECT_EQ(meta_value(db.path(), "orders"), 3);
    EXPECT_EQ(meta_value(db.path(), "commit_index"), 4);
    // An entry numbered already is not numbered again.
    EXPECT_THROW((void)s.write({std::nullopt, std::nullopt, 0, {}, 5}, {{4, 3}}), std::logic_error);
  }
  SqliteLogStore s(db.path());
  EXPECT_EQ(s.committed_orders(), 3);
  EXPECT_EQ(s.commit_index(), 4u);
  EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, 1, 2, -1}));
  // And goes on from there: the reopened store knows where the numbered orders end.
  EXPECT_THROW((void)s.write({std::nullopt, std::nullopt, 0, {}, 5}, {{4, 3}}), std::logic_error);
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 5}, {{5, 3}}),
            raft::WriteOutcome::kWritten);
  EXPECT_EQ(s.committed_orders(), 4);
  EXPECT_EQ(s.committed_order(3)->request_id, "r5");
}

TEST(SqliteLogStore, CommittedOrderFindsOnlyCommittedOrders) {
  TempDb db;
  SqliteLogStore s(db.path());
  auto log = unnumbered({1, 1, 1, 1});
  log[2].name = "Whale";
  log[2].side = proto::Side::kBuy;
  log[2].quantity = 12;
  // Entry 4 carries a stale number: the one a leader gave it before it committed.
  log[3].order_number = 2;
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 1, log, 3}, {{2, 0}, {3, 1}}),
            raft::WriteOutcome::kWritten);
  const auto first = s.committed_order(0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->request_id, "r2");
  EXPECT_EQ(first->order_number, 0);
  const auto second = s.committed_order(1);
  ASSERT_TRUE(second);
  auto expected = log[2];
  expected.order_number = 1;
  EXPECT_EQ(*second, expected);
  EXPECT_FALSE(s.committed_order(2)) << "entry 4 is not committed";
  EXPECT_FALSE(s.committed_order(-1));
  EXPECT_FALSE(s.committed_order(1000));
  // Committed but not yet numbered: not found either.
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 4}), raft::WriteOutcome::kWritten);
  EXPECT_FALSE(s.committed_order(2));
  ASSERT_EQ(s.write({}, {{4, 2}}), raft::WriteOutcome::kWritten);
  ASSERT_TRUE(s.committed_order(2));
  EXPECT_EQ(s.committed_order(2)->request_id, "r4");
}

TEST(SqliteLogStore, FindRequestFindsTheLatestEntryCommittedOrNot) {
  TempDb db;
  SqliteLogStore s(db.path());
  auto log = unnumbered({1, 1, 1, 2, 2});
  log[2].request_id = "retried";  // entry 3, and entry 5 below: a retry placed again
  log[4].request_id = "retried";
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 1, log, 3}, {{2, 0}, {3, 1}}),
            raft::WriteOutcome::kWritten);
  const auto committed = s.find_request("r2");
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->index, 2u);
  EXPECT_EQ(committed->entry.order_number, 0);
  EXPECT_EQ(committed->entry.name, "Tux");
  const auto pending = s.find_request("r4");
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->index, 4u);
  EXPECT_EQ(pending->entry.order_number, -1);
  EXPECT_EQ(pending->entry.term, 2u);
  const auto latest = s.find_request("retried");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->index, 5u);
  EXPECT_FALSE(s.find_request("never placed"));
  EXPECT_FALSE(s.find_request("")) << "the no-op (empty request id) is not an order";
  // Once the latest is cut off, the earlier entry is the latest again.
  ASSERT_EQ(s.write({std::nullopt, 5, 0, {}, std::nullopt}), raft::WriteOutcome::kWritten);
  ASSERT_TRUE(s.find_request("retried"));
  EXPECT_EQ(s.find_request("retried")->index, 3u);
  EXPECT_EQ(s.find_request("retried")->entry.order_number, 1);
}

// Each list breaks a rule, in a write that would also store a hard state, entries and a commit
// index: the write throws and none of it is stored, in memory or on disk, and the store goes on.
TEST(SqliteLogStore, ABadAppliedListThrowsAndStoresNothing) {
  struct Case {
    const char* why;
    std::vector<AppliedOrder> applied;
  };
  // Before the write: no-op 1 (committed), orders 2 and 3. The write appends order 4 and no-op
  // 5, and commits up to 5.
  const std::vector<Case> cases = {
      {"not numbered from committed_orders()", {{2, 1}}},
      {"numbers not consecutive", {{2, 0}, {3, 2}}},
      {"indexes not ascending", {{3, 0}, {2, 1}}},
      {"past the commit index", {{2, 0}, {3, 1}, {4, 2}, {6, 3}}},
      {"a no-op of this write", {{2, 0}, {3, 1}, {4, 2}, {5, 3}}},
      {"an order left out", {{3, 0}}},
      {"a stored no-op", {{1, 0}}},
      {"a stored no-op, the count of orders right", {{1, 0}, {3, 1}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    TempDb db;
    auto before = unnumbered({1, 1, 1});
    {
      SqliteLogStore s(db.path());
      ASSERT_EQ(s.write({raft::HardState{1, 0}, std::nullopt, 1, before, 1}),
                raft::WriteOutcome::kWritten);
      auto more = unnumbered({2, 2});
      std::swap(more[0], more[1]);  // an order, then a no-op
      EXPECT_THROW((void)s.write({raft::HardState{2, 1}, std::nullopt, 4, more, 5}, c.applied),
                   std::logic_error);
      EXPECT_EQ(s.hard_state(), (raft::HardState{1, 0}));
      EXPECT_EQ(s.commit_index(), 1u);
      EXPECT_EQ(s.last_index(), 3u);
      EXPECT_EQ(s.committed_orders(), 0);
      EXPECT_EQ(all_entries(s), before);
      // The statements were left ready: a good write after it goes through.
      ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 2}, {{2, 0}}),
                raft::WriteOutcome::kWritten);
    }
    SqliteLogStore s(db.path());
    EXPECT_EQ(s.hard_state(), (raft::HardState{1, 0}));
    EXPECT_EQ(s.commit_index(), 2u);
    EXPECT_EQ(s.last_index(), 3u);
    EXPECT_EQ(s.committed_orders(), 1);
    EXPECT_EQ(all_entries(s), before);
  }
}

TEST(SqliteLogStore, ARefusedWriteNumbersNothing) {
  TempDb db;
  SqliteLogStore s(db.path());
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 1, unnumbered({1, 1}), std::nullopt}),
            raft::WriteOutcome::kWritten);
  EXPECT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 3}, {{2, 0}}),
            raft::WriteOutcome::kCommitPastLog);
  EXPECT_EQ(s.committed_orders(), 0);
  EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, -1}));
}

TEST(SqliteLogStore, MigrationCountsTheOrdersAtOrBelowTheCommitIndex) {
  for (std::uint64_t commit : {0, 1, 3, 5}) {
    SCOPED_TRACE(commit);
    TempDb db;
    write_schema_2(db.path(), numbered({1, 1, 1, 2, 2}), commit);  // orders at 2..5
    const std::int64_t orders = commit <= 1 ? 0 : static_cast<std::int64_t>(commit) - 1;
    {
      SqliteLogStore s(db.path());
      EXPECT_EQ(s.committed_orders(), orders);
      EXPECT_EQ(meta_value(db.path(), "orders"), orders);
      if (orders > 0) {
        ASSERT_TRUE(s.committed_order(orders - 1));
        EXPECT_EQ(s.committed_order(orders - 1)->request_id, "r" + std::to_string(commit));
      }
      EXPECT_FALSE(s.committed_order(orders)) << "numbered by its leader, but not committed";
    }
    SqliteLogStore s(db.path());
    EXPECT_EQ(s.committed_orders(), orders);
    // The next order to commit takes the next number (here, the leader's number, as it was).
    if (commit < 5) {
      const std::uint64_t next = commit < 2 ? 2 : commit + 1;
      ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 5}, {{next, orders}}),
                raft::WriteOutcome::kWritten);
      ASSERT_TRUE(s.committed_order(orders));
      EXPECT_EQ(s.committed_order(orders)->request_id, "r" + std::to_string(next));
      EXPECT_EQ(s.committed_orders(), orders + 1);
    }
  }
}

TEST(SqliteLogStore, DumpPrintsTheCommittedOrders) {
  TempDb db;
  SqliteLogStore s(db.path());
  auto log = unnumbered({1, 1, 1, 1, 1});
  log[2].name = "Whale";
  log[2].side = proto::Side::kBuy;
  log[2].quantity = 12;
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 1, log, 3}, {{2, 0}, {3, 1}}),
            raft::WriteOutcome::kWritten);
  // Entry 4 committed but not yet numbered, entry 5 not committed: neither is printed.
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 4}), raft::WriteOutcome::kWritten);
  // Read-only, beside the open store (a replica's database while it runs).
  EXPECT_EQ(dump_lines(db.path()), (std::vector<std::string>{"0 Tux sell 3", "1 Whale buy 12"}));
  ASSERT_EQ(s.write({}, {{4, 2}}), raft::WriteOutcome::kWritten);
  EXPECT_EQ(dump_lines(db.path()),
            (std::vector<std::string>{"0 Tux sell 3", "1 Whale buy 12", "2 Tux sell 3"}));
}

TEST(SqliteLogStore, DumpReadsASchema2FileWithoutMigratingIt) {
  TempDb db;
  auto log = numbered({1, 1, 1, 2});
  log[1].name = "Whale";
  log[1].side = proto::Side::kBuy;
  log[1].quantity = 12;
  write_schema_2(db.path(), log, 3);
  EXPECT_EQ(dump_lines(db.path()), (std::vector<std::string>{"0 Whale buy 12", "1 Tux sell 3"}));
  EXPECT_EQ(schema_version(db.path()), 2);
  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  EXPECT_FALSE(
      raw.execAndGet("SELECT count(*) FROM sqlite_master WHERE name='entries_by_order'").getInt());
}

TEST(SqliteLogStore, DumpRefusesWhatItCannotRead) {
  TempDb missing;
  EXPECT_THROW(dump_lines(missing.path()), common::StartupError);
  EXPECT_FALSE(std::filesystem::exists(missing.path())) << "dump created the file";

  TempDb other;
  {
    SQLite::Database raw(other.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }
  EXPECT_THROW(dump_lines(other.path()), common::StartupError);

  TempDb future;
  { SqliteLogStore s(future.path()); }
  {
    SQLite::Database raw(future.path(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE meta SET value=" + std::to_string(SqliteLogStore::kSchemaVersion + 1) +
             " WHERE key='schema_version'");
  }
  EXPECT_THROW(dump_lines(future.path()), common::StartupError);

  TempDb text;
  {
    std::FILE* f = std::fopen(text.path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a database, not even close; it is long enough to have a header\n", f);
    std::fclose(f);
  }
  EXPECT_THROW(dump_lines(text.path()), common::StartupError);
}

}  // namespace
// Schema 6 keeps where the numbered orders are as runs: a schema-5 file (numbers in its rows) is
// migrated by one pass over its committed orders, and every order keeps its number.
TEST(SqliteLogStore, MigratesASchema5FileToOrderRuns) {
  TempDb db;
  // Commit 6: the orders at 2, 3, 5 and 6 are committed (numbers 0 to 3); 7 is not.
  write_schema_4(db.path(), log_with_a_gap(), 6, 4, false, 5);
  ASSERT_EQ(schema_version(db.path()), 5);
  {
    SqliteLogStore s(db.path());
    EXPECT_EQ(schema_version(db.path()), SqliteLogStore::kSchemaVersion);
    EXPECT_EQ(order_runs(db.path()),
              (std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 0}, {5, 2}}));
    EXPECT_EQ(s.committed_orders(), 4);
    EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, 1, -1, 2, 3, -1}));
    for (const auto& [number, id] : std::vector<std::pair<std::int64_t, std::string>>{
             {0, "r2"}, {1, "r3"}, {2, "r5"}, {3, "r6"}}) {
      const auto order = s.committed_order(number);
      ASSERT_TRUE(order) << number;
      EXPECT_EQ(order->request_id, id);
      EXPECT_EQ(order->order_number, number);
      EXPECT_EQ(s.find_request(id)->entry.order_number, number);
    }
    EXPECT_FALSE(s.committed_order(4));
    EXPECT_EQ(s.find_request("r7")->entry.order_number, -1) << "not committed";
    // The next commit goes on from the migrated state.
    ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 7}, {{7, 4}}),
              raft::WriteOutcome::kWritten);
    EXPECT_EQ(s.committed_order(4)->request_id, "r7");
  }
  SqliteLogStore again(db.path());
  EXPECT_EQ(again.committed_orders(), 5);
  EXPECT_EQ(stored_numbers(again), (std::vector<std::int64_t>{-1, 0, 1, -1, 2, 3, 4}));
  EXPECT_EQ(order_runs(db.path()),
            (std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 0}, {5, 2}}));
  EXPECT_EQ(dump_lines(db.path()),
            (std::vector<std::string>{"0 Tux sell 3", "1 Tux sell 3", "2 Tux sell 3",
                                      "3 Tux sell 3", "4 Tux sell 3"}));
}

// A schema-5 file that counts more committed orders than it holds at or below its commit index
// is refused, and left at version 5.
TEST(SqliteLogStore, ASchema5FileThatMissesOrdersIsRefusedAndLeftAsItWas) {
  TempDb db;
  write_schema_4(db.path(), log_with_a_gap(), 6, 5, false, 5);
  try {
    SqliteLogStore s(db.path());
    ADD_FAILURE() << "opened a schema-5 file that counts 5 committed orders and holds 4";
  } catch (const common::StartupError& e) {
    EXPECT_NE(std::string(e.what()).find("5 committed orders, but 4"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(schema_version(db.path()), 5);
}

// Orders on both sides of a no-op (a new term's first entry) take consecutive numbers; the runs
// find each of them, before and after a reopen, and a number past the gap is not mistaken for
// the no-op's index.
TEST(SqliteLogStore, NumbersOrdersAcrossANoOp) {
  TempDb db;
  auto log = log_with_a_gap();
  for (auto& e : log) e.order_number = -1;  // as the core appends them
  {
    SqliteLogStore s(db.path());
    ASSERT_EQ(s.write({raft::HardState{2, 1}, std::nullopt, 1, log, 3}, {{2, 0}, {3, 1}}),
              raft::WriteOutcome::kWritten);
    ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 6}, {{5, 2}, {6, 3}}),
              raft::WriteOutcome::kWritten);
    EXPECT_EQ(s.committed_order(2)->request_id, "r5");
    EXPECT_EQ(s.find_request("r6")->entry.order_number, 3);
  }
  EXPECT_EQ(order_runs(db.path()),
            (std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 0}, {5, 2}}));
  SqliteLogStore s(db.path());
  EXPECT_EQ(stored_numbers(s), (std::vector<std::int64_t>{-1, 0, 1, -1, 2, 3, -1}));
  EXPECT_EQ(s.committed_order(1)->request_id, "r3");
  EXPECT_EQ(s.committed_order(3)->request_id, "r6");
  // The reopened store knows the last numbered order is at 6: 7 is next, not 6 again.
  EXPECT_THROW((void)s.write({std::nullopt, std::nullopt, 0, {}, 7}, {{6, 4}}), std::logic_error);
  ASSERT_EQ(s.write({std::nullopt, std::nullopt, 0, {}, 7}, {{7, 4}}),
            raft::WriteOutcome::kWritten);
  EXPECT_EQ(s.committed_order(4)->request_id, "r7");
}

// Reads share a snapshot until the next write (see SqliteLogStore::hold_snapshot): another
// connection still reads the file meanwhile, every write ends the snapshot, and the WAL keeps
// being checkpointed and reused however many reads come between the writes.
TEST(SqliteLogStore, ReadsBetweenWritesHoldNeitherReadersNorTheCheckpointBack) {
  TempDb db;
  SqliteLogStore s(db.path());
  ASSERT_EQ(s.write({raft::HardState{1, 1}, std::nullopt, 1, unnumbered({1}), 1}),
            raft::WriteOutcome::kWritten);
  SQLite::Database other(db.path(), SQLite::OPEN_READONLY);
  auto other_commit = [&] {
    return other.execAndGet("SELECT value FROM meta WHERE key='commit_index'").getInt64();
  };
  std::uint64_t index = 2;
  for (std::int64_t number = 0; number < 3000; ++number, ++index) {
    std::string id = std::to_string(index);
    id.insert(0, 1, 'q');  // not "q" + ...: GCC 12 warns (-Wrestrict) on that, wrongly
    auto e = raft::testing::store_entry(1, id);
    e.order_number = -1;
    ASSERT_FALSE(s.find_request(e.request_id));  // opens the snapshot
    const raft::LogWrite w{std::nullopt, std::nullopt, index, {e}, index};
    ASSERT_EQ(s.write(w, {{index, number}}), raft::WriteOutcome::kWritten);
    ASSERT_EQ(s.find_request(e.request_id)->entry.order_number, number);
    if (number % 1000 == 0) {
      EXPECT_EQ(other_commit(), static_cast<std::int64_t>(index));
    }
  }
  // 3,000 transactions of a few pages each: about 50 MiB of WAL if it were never reset.
  const auto wal = std::filesystem::file_size(db.path() + "-wal");
  EXPECT_LT(wal, 16u << 20) << "the WAL grew to " << wal << " bytes";
  EXPECT_EQ(s.committed_order(2999)->request_id, "q3001");
}

}  // namespace bazaar::order
