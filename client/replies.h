// What bazaar-client reads out of the front end's JSON replies (DESIGN.md section 3), as pure
// functions of the body text, so the session client's checks are unit-tested without sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::client {

/// Outcome of reading a reply body.
enum class ReplyParse : std::uint8_t {
  kOk,
  kNotJson,   // the body is not JSON at all
  kBadShape,  // JSON, but not the shape DESIGN.md promises for this request
};

/// An item as GET /products/<name> (or /stocks/<name>) returns it.
struct ItemView {
  std::string name;
  double price = 0;
  std::int64_t quantity = 0;
};

/// An order as the client placed it, or as GET /orders/<n> returns it.
struct OrderView {
  std::int64_t number = -1;
  std::string name;
  std::string type;  // "buy" or "sell"
  std::int64_t quantity = 0;
  bool operator==(const OrderView&) const = default;
};

/// `{"data":{"name":…,"price":…,"quantity":…}}`. On kBadShape, `why` says what is wrong.
ReplyParse parse_item(std::string_view body, ItemView& out, std::string& why);

/// `{"data":[item, …]}`.
ReplyParse parse_item_list(std::string_view body, std::vector<ItemView>& out, std::string& why);

/// `{"data":{"transaction_number":n,"order_number":n}}`. Both keys must be present, be
/// non-negative integers and be equal; anything else is kBadShape with `why`.
ReplyParse parse_order_ack(std::string_view body, std::int64_t& number, std::string& why);

/// `{"data":{"number":n,"name":…,"type":…,"quantity":q}}`.
ReplyParse parse_order(std::string_view body, OrderView& out, std::string& why);

/// The `error.message` of an error reply, or "" when there is none.
std::string error_message(std::string_view body);

/// Empty when `fetched` is the order that was `recorded`; otherwise one line that says how they
/// differ, e.g. "order 7: recorded buy 2 Tux, server has buy 3 Tux".
std::string compare_orders(const OrderView& recorded, const OrderView& fetched);

/// True when every name is one of the stocks flavour's ten (DESIGN.md section 2): the client
/// then trades both ways on /stocks routes, as the second edition's client does.
bool looks_like_stocks(const std::vector<std::string>& names);

}  // namespace bazaar::client
