#include "frontend/api_reply.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace bazaar::frontend {

namespace {

// Names the fast path writes verbatim: printable ASCII that JSON does not escape.
bool plain_name(std::string_view name) {
  for (char c : name) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

// Below this, cents/100 prints in fixed notation with at most two decimals, the way nlohmann
// prints the double nearest to it (shortest round-trip digits; fixed up to 15 integer digits).
constexpr std::int64_t kFastPriceLimit = 100'000'000'000'000;  // 10^14 cents

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// 2599 -> "25.99", 4210 -> "42.1", 5500 -> "55.0", 5 -> "0.05".
void append_price(std::string& out, std::int64_t cents) {
  append_int(out, cents / 100);
  const auto frac = static_cast<int>(cents % 100);
  out += '.';
  out += static_cast<char>('0' + frac / 10);
  if (frac % 10 != 0) out += static_cast<char>('0' + frac % 10);
}

}  // namespace

httpd::HttpResponse item_reply(const proto::Item& item) {
  if (!plain_name(item.name) || item.price_cents < 0 || item.price_cents >= kFastPriceLimit) {
    return data_reply(item_json(item));
  }
  httpd::HttpResponse r;
  r.status = 200;
  std::string& b = r.body;
  b.reserve(64 + item.name.size());
  b += R"({"data":{"name":")";
  b += item.name;
  b += R"(","price":)";
  append_price(b, item.price_cents);
  b += R"(,"quantity":)";
  append_int(b, item.quantity);
  b += "}}";
  return r;
}

httpd::HttpResponse data_reply(const nlohmann::ordered_json& data) {
  httpd::HttpResponse r;
  r.status = 200;
  // ordered_json, so keys come out in the documented order (name, price, quantity).
  r.body = httpd::json_body(nlohmann::ordered_json{{"data", data}});
  return r;
}

unsigned http_status_for(proto::Status status) {
  switch (status) {
    case proto::Status::kOk:
      return 200;
    case proto::Status::kUnknownItem:
      return 404;
    case proto::Status::kInsufficient:
      return 409;
    case proto::Status::kNotFound:
      return 404;
    case proto::Status::kBadRequest:
      return 400;
    case proto::Status::kUnavailable:
      return 503;
    case proto::Status::kConflict:
      return 422;
    case proto::Status::kNotLeader:  // the order link resolves leadership; should never surface
    case proto::Status::kInternal:
      return 500;
  }
  return 500;
}

double price_from_cents(std::int64_t cents) {
  // cents / 100.0 is the double nearest to the decimal price, which JSON prints back exactly
  // ("25.99"), since nlohmann::ordered_json prints the shortest representation that round-trips.
  return static_cast<double>(cents) / 100.0;
}

nlohmann::ordered_json item_json(const proto::Item& item) {
  return nlohmann::ordered_json{{"name", item.name},
                                {"price", price_from_cents(item.price_cents)},
                                {"quantity", item.quantity}};
}

}  // namespace bazaar::frontend
