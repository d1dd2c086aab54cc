// JSON reply bodies of the HTTP API (DESIGN.md section 3): {"data": ...} (errors are
// httpd::error_reply), and the proto-status-to-HTTP mapping.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "httpd/error_reply.h"
#include "httpd/http_message.h"
#include "proto_msgs/messages.h"

namespace bazaar::frontend {

/// 200 {"data": data}.
httpd::HttpResponse data_reply(const nlohmann::ordered_json& data);

/// HTTP status for a service's answer: kOk 200, kUnknownItem 404, kInsufficient 409,
/// kNotFound 404, kBadRequest 400, kUnavailable 503, kConflict 422, anything else 500.
unsigned http_status_for(proto::Status status);

/// {"name":..,"price":<cents/100>,"quantity":..}
nlohmann::ordered_json item_json(const proto::Item& item);

/// 200 {"data": item_json(item)}, byte for byte what data_reply(item_json(item)) gives, but
/// written directly for the common case (a plain ASCII name, an ordinary price): this is the
/// body of every cached lookup, the front end's hottest path.
httpd::HttpResponse item_reply(const proto::Item& item);

/// Prices are integer cents inside and a JSON number with two decimals outside (2599 -> 25.99).
double price_from_cents(std::int64_t cents);

}  // namespace bazaar::frontend
