// order::SqliteLogStore on real SQLite files: the LogStore contract (log_store_contract.h), a
// reopen, and the migration of a file that today's OrderLog (schema 2) wrote.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/cli.h"
#include "log_store_contract.h"
#include "order/order_log.h"
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

/// Writes `log` and {term 3, vote 2}, commit `commit`, through today's OrderLog: a schema-2 file.
void write_schema_2(const std::string& path, const std::vector<proto::LogEntry>& log,
                    std::uint64_t commit) {
  OrderLog old(path);
  raft::Ready r;
  r.hard_state = raft::HardState{3, 2};
  r.first_index = 1;
  r.entries = log;
  r.commit_index = commit;
  r.commit_changed = true;
  old.persist(r);
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

TEST(SqliteLogStore, MigratesAFileThatOrderLogWrote) {
  TempDb db;
  const auto log = numbered({1, 1, 1, 2, 2});
  write_schema_2(db.path(), log, 4);
  ASSERT_EQ(schema_version(db.path()), 2);
  {
    SqliteLogStore s(db.path());
    EXPECT_EQ(schema_version(db.path()), 3);
    EXPECT_EQ(s.hard_state(), (raft::HardState{3, 2}));
    EXPECT_EQ(s.commit_index(), 4u);
    EXPECT_EQ(s.last_index(), 5u);
    EXPECT_EQ(s.term(5), 2u);
    EXPECT_EQ(all_entries(s), log);
    // The indexes of schema 3 exist.
    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    SQLite::Statement q(raw,
                        "SELECT count(*) FROM sqlite_master WHERE type='index' AND name IN "
                        "('entries_by_order', 'entries_by_request')");
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getInt(), 2);
  }
  // A second open finds version 3: no migration, the same state.
  SqliteLogStore again(db.path());
  EXPECT_EQ(all_entries(again), log);
  // `bazaar-order --dump` still reads the migrated file: the committed orders, in order.
  std::vector<std::string> lines;
  OrderLog::dump(db.path(), [&](const std::string& line) { lines.push_back(line); });
  EXPECT_EQ(lines, (std::vector<std::string>{"0 Tux sell 3", "1 Tux sell 3", "2 Tux sell 3"}));
}

TEST(SqliteLogStore, TheMigrationIsOneWay) {
  TempDb db;
  write_schema_2(db.path(), numbered({1, 1}), 2);
  { SqliteLogStore s(db.path()); }
  try {
    OrderLog old(db.path());
    FAIL() << "OrderLog opened a schema-3 file";
  } catch (const common::StartupError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported schema version 3"), std::string::npos)
        << e.what();
  }
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
  }
}

TEST(SqliteLogStore, RefusesFilesItCannotUse) {
  TempDb future;
  { SqliteLogStore s(future.path()); }
  {
    SQLite::Database raw(future.path(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE meta SET value=4 WHERE key='schema_version'");
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

}  // namespace
}  // namespace bazaar::order
