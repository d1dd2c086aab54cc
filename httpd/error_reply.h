// The error reply every part of the HTTP service sends (DESIGN.md section 3):
// {"error": {"code": <status>, "message": ...}}. The server itself answers with it (400, 413,
// 431, 503 when full), so it lives here rather than with the API's other replies.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "httpd/http_message.h"

namespace bazaar::httpd {

/// The text of a JSON reply body: compact, and invalid UTF-8 in strings (names and messages echo
/// URLs and bodies) replaced rather than thrown on. Every JSON reply of the API is written by it.
[[nodiscard]] std::string json_body(const nlohmann::ordered_json& j);

/// {"error":{"code":status,"message":message}} with `status`; a 503 also gets Retry-After: 1.
/// `message` may hold any bytes: invalid UTF-8 is replaced, never thrown on.
[[nodiscard]] HttpResponse error_reply(unsigned status, std::string_view message);

/// 405 naming the allowed methods in an Allow header.
[[nodiscard]] HttpResponse method_not_allowed(std::string_view allow);

}  // namespace bazaar::httpd
