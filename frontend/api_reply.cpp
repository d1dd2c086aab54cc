#include "frontend/api_reply.h"

#include <nlohmann/json.hpp>

namespace bazaar::frontend {

namespace {

// Replies use ordered_json so keys come out in the documented order (name, price, quantity).
// Names come from URLs and bodies and may hold invalid UTF-8; replace it rather than throw.
std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

ApiResponse data_reply(const nlohmann::ordered_json& data) {
  ApiResponse r;
  r.status = 200;
  r.body = dump_json(nlohmann::ordered_json{{"data", data}});
  return r;
}

ApiResponse error_reply(unsigned status, std::string_view message) {
  ApiResponse r;
  r.status = status;
  nlohmann::ordered_json err{{"code", status}, {"message", std::string(message)}};
  r.body = dump_json(nlohmann::ordered_json{{"error", std::move(err)}});
  // Every 503 here means "a dependency is briefly away" (no leader, no catalog, queue full):
  // tell clients when to come back.
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

ApiResponse method_not_allowed(std::string_view allow) {
  ApiResponse r = error_reply(405, "method not allowed; allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
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
    case proto::Status::kNotLeader:  // the bridge resolves leadership; should never surface
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
