// Plain data passed between the HTTP layer and the API logic, free of any Beast type, so the
// router and handlers can be unit-tested without sockets.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::httpd {

class StreamHandoff;  // stream_handoff.h

/// Header fields as (name, value) pairs, in arrival order.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One decoded HTTP request, as the HTTP layer hands it to the API.
struct HttpRequest {
  std::string method;  // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target;  // origin-form, e.g. "/products/Tux?x=1"
  HeaderList headers;
  std::string body;

  /// The value of the first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  /// How many headers are named `name` (case-insensitive).
  std::size_t header_count(std::string_view name) const;
};

/// Largest request body accepted (DESIGN.md section 3): the HTTP layer answers 413 beyond it,
/// chunked bodies included, and the router refuses a larger one that reached it anyway.
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;
/// Largest request head accepted: the HTTP layer answers 431 beyond it.
inline constexpr std::size_t kMaxHeadBytes = 8 * 1024;

/// The message of a 413 or 431: "request body over 64 KiB" for `what` "body" and 64 KiB.
std::string over_limit(std::string_view what, std::size_t limit_bytes);

/// Content type of every API reply (DESIGN.md section 3).
inline constexpr std::string_view kJsonContentType = "application/json";
/// Content type of GET /metrics (Prometheus text exposition format).
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

/// One reply. `body` is JSON except for /metrics; the HTTP layer sends `content_type`.
struct HttpResponse {
  unsigned status = 200;
  std::string body;
  HeaderList headers;  // extra headers, e.g. Allow, Retry-After
  /// Must view static storage (one of the constants above): replies outlive any local string.
  std::string_view content_type = kJsonContentType;
  /// Set on a reply that turns the connection into a long-lived stream (GET /events): the HTTP
  /// layer then writes nothing itself and hands the connection to it (stream_handoff.h).
  std::shared_ptr<StreamHandoff> stream;
};

}  // namespace bazaar::httpd
