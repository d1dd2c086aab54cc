#include "httpd/sse_format.h"

#include <nlohmann/json.hpp>

namespace bazaar::httpd {

namespace {

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string json_text(const nlohmann::ordered_json& j) {
  // Invalid UTF-8 (a name is checked by the catalog, but never trust it here) is replaced, not
  // thrown on: one bad name must not stop the stream.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string format_sse_event(std::string_view kind, std::string_view data) {
  std::string out;
  out.reserve(kind.size() + data.size() + 24);
  out += "event: ";
  for (const char c : kind) out += token_char(c) ? c : '_';
  out += "\ndata: ";
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;  // CRLF is one break
      out += "\ndata: ";
    } else {
      out += c;
    }
  }
  out += "\n\n";
  return out;
}

std::string format_sse_comment(std::string_view text) {
  std::string out = ": ";
  for (const char c : text) out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\n\n";
  return out;
}

std::string format_sse_retry(std::uint32_t ms) {
  return "retry: " + std::to_string(ms) + "\n\n";
}

std::string sse_response_head(unsigned http_version) {
  std::string head = http_version == 10 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n";
  head +=
      "Server: bazaar-frontend\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-store\r\n"
      "X-Content-Type-Options: nosniff\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n"
      "\r\n";
  return head;
}

std::string item_event_data(std::string_view name, std::uint64_t version) {
  return json_text(nlohmann::ordered_json{{"name", std::string(name)}, {"version", version}});
}

std::string leader_event_data(std::uint32_t id, std::uint64_t term) {
  return json_text(nlohmann::ordered_json{{"id", id}, {"term", term}});
}

std::string resync_event_data(std::string_view reason) {
  return json_text(nlohmann::ordered_json{{"reason", std::string(reason)}});
}

}  // namespace bazaar::httpd
