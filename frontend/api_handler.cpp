#include "frontend/api_handler.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "frontend/api_reply.h"
#include "frontend/request_parsing.h"

namespace bazaar::frontend {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kGet = "GET";
constexpr std::string_view kHead = "HEAD";
constexpr std::string_view kPost = "POST";
// What a GET route allows: HEAD is GET without the body (the HTTP layer drops it).
constexpr std::string_view kGetAllow = "GET, HEAD";

bool is_get(const httpd::HttpRequest& request) {
  return request.method == kGet || request.method == kHead;
}

// Parses `body` (discarded when malformed); `duplicate` tells whether some object named a key
// twice (nlohmann alone would keep the last silently).
json parse_body(std::string_view body, bool& duplicate) {
  duplicate = false;
  std::vector<std::vector<std::string>> open;  // keys of each object being parsed
  const auto cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty()) {
          auto& keys = open.back();
          const auto& key = parsed.get_ref<const std::string&>();
          if (std::find(keys.begin(), keys.end(), key) != keys.end()) duplicate = true;
          keys.push_back(key);
        }
        break;
      default:
        break;
    }
    return true;
  };
  return json::parse(body, cb, /*allow_exceptions=*/false);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The path of an origin-form target: everything before '?' or '#'.
std::string_view path_of(std::string_view target) {
  const auto end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

// Fallback wording for a service status with no message of its own.
std::string default_message(proto::Status status) {
  switch (status) {
    case proto::Status::kUnavailable:
      return "service unavailable, try again";
    case proto::Status::kBadRequest:
      return "the service refused the request as malformed";
    case proto::Status::kConflict:
      return "idempotency key reused with a different request";
    case proto::Status::kInternal:
      return "internal error";
    default:
      return proto::to_string(status);
  }
}

httpd::HttpResponse service_error(proto::Status status, const std::string& message) {
  return httpd::error_reply(http_status_for(status),
                            message.empty() ? default_message(status) : message);
}

std::string in_quotes(std::string_view s) {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "'" + std::string(s).
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

}  // namespace

ApiHandler::ApiHandler(RequestIdSource request_ids, MetricsRenderer metrics)
    : request_ids_(std::move(request_ids)), metrics_(std::move(metrics)) {}

RouteLabel ApiHandler::label(std::string_view target) {
  const std::string_view path = path_of(target);
  if (path == "/products" || path == "/stocks") return RouteLabel::kItemList;
  if (starts_with(path, "/products/") || starts_with(path, "/stocks/")) return RouteLabel::kItem;
  if (path == "/orders") return RouteLabel::kOrderPlace;
  if (starts_with(path, "/orders/")) return RouteLabel::kOrderGet;
  if (path == "/health") return RouteLabel::kHealth;
  if (path == "/metrics") return RouteLabel::kMetrics;
  return RouteLabel::kOther;
}

Routed ApiHandler::route(const httpd::HttpRequest& request) const {
  const std::string_view path = path_of(request.target);
  const bool get = is_get(request);

  if (path == "/products" || path == "/stocks") {
    if (!get) return httpd::method_not_allowed(kGetAllow);
    return ServiceCall{ListCall{}};
  }
  if (starts_with(path, "/products/")) return route_item(request, path.substr(10));
  if (starts_with(path, "/stocks/")) return route_item(request, path.substr(8));
  if (path == "/orders") {
    if (request.method != kPost) return httpd::method_not_allowed(kPost);
    return route_order_post(request);
  }
  if (starts_with(path, "/orders/")) return route_order_get(request, path.substr(8));
  if (path == "/health") {
    if (!get) return httpd::method_not_allowed(kGetAllow);
    return ServiceCall{HealthCall{}};
  }
  if (path == "/metrics") {
    if (!get) return httpd::method_not_allowed(kGetAllow);
    // Rendered here, without a service: /metrics must answer even when every service is down,
    // which is when it is needed most.
    httpd::HttpResponse r;
    r.body = metrics_ ? metrics_() : std::string();
    r.content_type = httpd::kPrometheusContentType;
    return r;
  }
  return httpd::error_reply(404, "no route for " + std::string(path));
}

Routed ApiHandler::route_item(const httpd::HttpRequest& request, std::string_view rest) const {
  // One path segment only: /products/a/b is not a route. An encoded %2F is a name byte.
  if (rest.find('/') != std::string_view::npos) {
    return httpd::error_reply(404, "no route for " + std::string(path_of(request.target)));
  }
  if (!is_get(request)) return httpd::method_not_allowed(kGetAllow);
  auto name = percent_decode(rest);
  if (!name) return httpd::error_reply(400, "bad percent-encoding in item name");
  if (!valid_item_name(*name)) return httpd::error_reply(400, "item name must be 1..64 bytes");
  return ServiceCall{LookupCall{std::move(*name)}};
}

Routed ApiHandler::route_order_get(const httpd::HttpRequest& request, std::string_view rest) const {
  if (rest.find('/') != std::string_view::npos) {
    return httpd::error_reply(404, "no route for " + std::string(path_of(request.target)));
  }
  if (!is_get(request)) return httpd::method_not_allowed(kGetAllow);
  auto text = percent_decode(rest);
  std::int64_t number = 0;
  const auto parsed = text ? parse_order_number(*text, number) : OrderNumberParse::kInvalid;
  switch (parsed) {
    case OrderNumberParse::kOk:
      break;
    case OrderNumberParse::kInvalid:
      return httpd::error_reply(400, "order number must be a non-negative integer");
    case OrderNumberParse::kOutOfRange:
      // Syntactically fine, so not a client error; just no such order.
      return httpd::error_reply(404, "no order number " + std::string(*text));
  }
  return ServiceCall{GetOrderCall{number}};
}

Routed ApiHandler::route_order_post(const httpd::HttpRequest& request) const {
  if (request.body.size() > httpd::kMaxBodyBytes)
    return httpd::error_reply(413, httpd::over_limit("body", httpd::kMaxBodyBytes));
  // Why refuse what a lenient parser would skip: a NUL ended the body for some readers and not
  // others, and with a key twice each reader picks its own value; the order must mean one thing.
  if (request.body.find('\0') != std::string::npos) {
    return httpd::error_reply(400, "malformed JSON body: NUL byte");
  }
  if (!json_depth_within(request.body, kMaxJsonDepth)) {
    return httpd::error_reply(400, "malformed JSON: nested too deeply");
  }
  bool duplicate = false;
  const json body = parse_body(request.body, duplicate);
  if (body.is_discarded()) return httpd::error_reply(400, "malformed JSON body");
  if (duplicate) return httpd::error_reply(400, "malformed JSON body: duplicate key");
  if (!body.is_object()) return httpd::error_reply(400, "body must be a JSON object");

  proto::PlaceOrderRequest order;
  const auto name = body.find("name");
  if (name == body.end()) return httpd::error_reply(400, "missing field 'name'");
  if (!name->is_string()) return httpd::error_reply(400, "field 'name' must be a string");
  order.name = name->get<std::string>();
  if (!valid_item_name(order.name))
    return httpd::error_reply(400, "field 'name' must be 1..64 bytes");

  const auto quantity = body.find("quantity");
  if (quantity == body.end()) return httpd::error_reply(400, "missing field 'quantity'");
  const auto q = parse_quantity(*quantity);
  if (!q) return httpd::error_reply(400, "field 'quantity' must be an integer in 1..2147483647");
  order.quantity = *q;

  order.side = proto::Side::kBuy;  // "type" is optional and defaults to buy
  const auto type = body.find("type");
  if (type != body.end()) {
    if (type->is_string() && *type == "buy") {
      order.side = proto::Side::kBuy;
    } else if (type->is_string() && *type == "sell") {
      order.side = proto::Side::kSell;
    } else {
      return httpd::error_reply(400, "field 'type' must be \"buy\" or \"sell\"");
    }
  }

  if (request.header_count("Idempotency-Key") > 1) {
    return httpd::error_reply(400, "more than one Idempotency-Key header");
  }
  if (const std::string* key = request.header("Idempotency-Key")) {
    if (!valid_idempotency_key(*key)) {
      return httpd::error_reply(400, "Idempotency-Key must be 1..128 bytes of visible ASCII");
    }
    order.request_id = *key;
  } else {
    // One fresh id per HTTP request; the order link reuses it for its own retries, so a retry
    // after a lost reply or a fail-over can never make a second order.
    order.request_id = request_ids_();
  }
  return ServiceCall{PlaceOrderCall{std::move(order)}};
}

httpd::HttpResponse ApiHandler::lookup_reply(const std::string& name, const LookupResult& r) {
  if (r.status == proto::Status::kOk) return item_reply(r.item);
  if (r.status == proto::Status::kUnknownItem) {
    return httpd::error_reply(404, "no item named " + in_quotes(name));
  }
  return service_error(r.status, r.message);
}

httpd::HttpResponse ApiHandler::order_reply(const proto::PlaceOrderRequest& order,
                                            const PlaceOrderResult& result) {
  switch (result.status) {
    case proto::Status::kOk:
      // Both editions' names for the same number.
      return data_reply(ordered_json{{"transaction_number", result.order_number},
                                     {"order_number", result.order_number}});
    case proto::Status::kUnknownItem:
      return httpd::error_reply(404, "no item named " + in_quotes(order.name));
    case proto::Status::kInsufficient:
      return httpd::error_reply(409, "not enough " + in_quotes(order.name) + " left to buy " +
                                         std::to_string(order.quantity));
    default:
      return service_error(result.status, result.message);
  }
}

httpd::HttpResponse ApiHandler::list_reply(const ListResult& r) {
  if (r.status != proto::Status::kOk) return service_error(r.status, r.message);
  ordered_json items = ordered_json::array();
  for (const auto& item : r.items) items.push_back(item_json(item));
  return data_reply(items);
}

httpd::HttpResponse ApiHandler::order_get_reply(std::int64_t number, const GetOrderResult& r) {
  if (r.status == proto::Status::kOk) {
    return data_reply(ordered_json{{"number", r.order.number},
                                   {"name", r.order.name},
                                   {"type", proto::to_string(r.order.side)},
                                   {"quantity", r.order.quantity}});
  }
  if (r.status == proto::Status::kNotFound) {
    return httpd::error_reply(404, "no order number " + std::to_string(number));
  }
  return service_error(r.status, r.message);
}

httpd::HttpResponse ApiHandler::health_reply(const HealthSnapshot& h) {
  ordered_json leader = nullptr;
  if (h.leader) leader = ordered_json{{"id", h.leader->id}, {"term", h.leader->term}};
  return data_reply(ordered_json{{"catalog", h.catalog},
                                 {"leader", std::move(leader)},
                                 {"bus", h.bus},
                                 {"cache_size", h.cache_size},
                                 {"cache_capacity", h.cache_capacity}});
}

}  // namespace bazaar::frontend
