#include "order/order_log.h"

#include <filesystem>

#include "common/cli.h"

namespace bazaar::order {

namespace {

constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;

proto::Order read_order(SQLite::Statement& q) {
  proto::Order o;
  o.number = q.getColumn(0).getInt64();
  o.name = q.getColumn(1).getString();
  o.side = q.getColumn(2).getInt() == 1 ? proto::Side::kSell : proto::Side::kBuy;
  o.quantity = q.getColumn(3).getInt64();
  o.request_id = q.getColumn(4).getString();
  return o;
}

SQLite::Database open_db(const std::string& path, int flags) {
  try {
    SQLite::Database db(path, flags, kBusyTimeoutMs);
    return db;
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("order database " + path + ": " + e.what());
  }
}

}  // namespace

OrderLog::OrderLog(const std::string& path)
    : db_(open_db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE)) {
  try {
    db_.exec("PRAGMA journal_mode=WAL");
    // FULL: a committed order must survive power loss, not only a process crash.
    db_.exec("PRAGMA synchronous=FULL");
    db_.exec(
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS orders("
        "  number INTEGER PRIMARY KEY,"
        "  term INTEGER NOT NULL,"
        "  request_id TEXT NOT NULL UNIQUE,"
        "  name TEXT NOT NULL,"
        "  side INTEGER NOT NULL CHECK(side IN (0,1)),"
        "  quantity INTEGER NOT NULL CHECK(quantity > 0));");
    SQLite::Statement v(db_, "SELECT value FROM meta WHERE key='schema_version'");
    if (v.executeStep()) {
      if (v.getColumn(0).getInt() != kSchemaVersion) {
        throw common::StartupError("order database " + path + ": unsupported schema version " +
                                   std::to_string(v.getColumn(0).getInt()));
      }
    } else {
      db_.exec("INSERT INTO meta(key, value) VALUES('schema_version', " +
               std::to_string(kSchemaVersion) + ")");
    }
    SQLite::Statement n(db_, "SELECT COUNT(*), COALESCE(MAX(number), -1) FROM orders");
    n.executeStep();
    size_ = n.getColumn(0).getInt64();
    if (n.getColumn(1).getInt64() != size_ - 1) {
      throw common::StartupError("order database " + path + ": order numbers have a gap");
    }
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("order database " + path + ": " + e.what());
  }
}

proto::Order OrderLog::append(proto::Order order, std::uint64_t term) {
  order.number = size_;
  SQLite::Statement ins(db_,
                        "INSERT INTO orders(number, term, request_id, name, side, quantity) "
                        "VALUES(?, ?, ?, ?, ?, ?)");
  ins.bind(1, static_cast<int64_t>(order.number));
  ins.bind(2, static_cast<int64_t>(term));
  ins.bind(3, order.request_id);
  ins.bind(4, order.name);
  ins.bind(5, static_cast<int>(order.side));
  ins.bind(6, static_cast<int64_t>(order.quantity));
  ins.exec();
  ++size_;
  return order;
}

std::optional<proto::Order> OrderLog::get(std::int64_t number) {
  SQLite::Statement q(db_,
                      "SELECT number, name, side, quantity, request_id FROM orders WHERE number=?");
  q.bind(1, static_cast<int64_t>(number));
  if (!q.executeStep()) return std::nullopt;
  return read_order(q);
}

std::optional<proto::Order> OrderLog::find_by_request_id(const std::string& request_id) {
  SQLite::Statement q(
      db_, "SELECT number, name, side, quantity, request_id FROM orders WHERE request_id=?");
  q.bind(1, request_id);
  if (!q.executeStep()) return std::nullopt;
  return read_order(q);
}

std::uint64_t OrderLog::term() {
  SQLite::Statement q(db_, "SELECT value FROM meta WHERE key='term'");
  return q.executeStep() ? static_cast<std::uint64_t>(q.getColumn(0).getInt64()) : 0;
}

void OrderLog::set_term(std::uint64_t term) {
  SQLite::Statement q(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES('term', ?)");
  q.bind(1, static_cast<int64_t>(term));
  q.exec();
}

void OrderLog::dump(const std::string& path,
                    const std::function<void(const std::string&)>& line) {
  if (!std::filesystem::exists(path)) {
    throw common::StartupError("order database " + path + ": no such file");
  }
  SQLite::Database db = open_db(path, SQLite::OPEN_READONLY);
  try {
    SQLite::Statement q(db,
                        "SELECT number, name, side, quantity, request_id FROM orders "
                        "ORDER BY number");
    while (q.executeStep()) {
      const proto::Order o = read_order(q);
      line(std::to_string(o.number) + " " + o.name + " " + proto::to_string(o.side) + " " +
           std::to_string(o.quantity));
    }
  } catch (const SQLite::Exception& e) {
    throw common::StartupError("order database " + path + ": " + e.what());
  }
}

}  // namespace bazaar::order
