#include "httpd/error_reply.h"

#include <nlohmann/json.hpp>

namespace bazaar::httpd {

std::string json_body(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

HttpResponse error_reply(unsigned status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  nlohmann::ordered_json err{{"code", status}, {"message", std::string(message)}};
  r.body = json_body(nlohmann::ordered_json{{"error", std::move(err)}});
  // Every 503 means "a dependency is briefly away" (no leader, no catalog, queue full, too many
  // connections): tell clients when to come back.
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse r = error_reply(405, "method not allowed; allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

}  // namespace bazaar::httpd
