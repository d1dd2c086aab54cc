// The SQLite files grow in chunks (common/sqlite_growth.h): checked on a real file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/sqlite_growth.h"

namespace bazaar::common {
namespace {

std::uintmax_t size_after_writes(const std::string& path, bool chunked) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode=WAL");
    if (chunked) grow_in_chunks(db);
    db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    for (int i = 0; i < 200; ++i) {
      db.exec("INSERT INTO t(v) VALUES('" + std::string(100, 'x') + "')");
    }
    // Move the WAL into the main file, where the growth step applies.
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const auto size = std::filesystem::file_size(path);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return size;
}

TEST(SqliteGrowth, TheMainFileGrowsInWholeChunks) {
  const std::string path = testing::TempDir() + "bazaar_growth_" + std::to_string(::getpid());
  const auto page_by_page = size_after_writes(path + "-plain.db", false);
  const auto chunked = size_after_writes(path + "-chunked.db", true);
  EXPECT_LT(page_by_page, static_cast<std::uintmax_t>(kSqliteChunkBytes));
  EXPECT_GT(page_by_page, 0u);
  EXPECT_EQ(chunked % kSqliteChunkBytes, 0u) << chunked;
  EXPECT_GE(chunked, static_cast<std::uintmax_t>(kSqliteChunkBytes));
}

}  // namespace
}  // namespace bazaar::common
