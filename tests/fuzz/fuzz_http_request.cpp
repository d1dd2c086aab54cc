// libFuzzer target: the front end's request path from raw bytes. The bytes are what a client
// sends on one connection: the first-bytes sniff, Beast's parser with the server's limits, then
// ApiHandler::route() and the dispatcher against fake services whose answers the first input
// byte picks. Beyond "no crash", it checks that every reply keeps the DESIGN.md section 3 shape.
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "frontend/api_dispatcher.h"
#include "frontend/api_handler.h"
#include "httpd/http_session.h"
#include "httpd/request_start.h"
#include "tests/unit/frontend_fake_services.h"

namespace beast = boost::beast;
namespace http = beast::http;
using bazaar::frontend::ApiHandler;
using bazaar::httpd::HttpRequest;
using bazaar::httpd::HttpResponse;

namespace {

// The same limits HttpSession gives its parser (http_server.h defaults).
constexpr auto kHeaderLimit = static_cast<std::uint32_t>(bazaar::httpd::kMaxHeadBytes);
constexpr std::size_t kMaxRequestsPerInput = 4;  // pipelined requests read from one input

[[noreturn]] void fail(const char* why, const HttpResponse& r) {
  fprintf(stderr, "invariant broken: %s (status %u, body %s)\n", why, r.status, r.body.c_str());
  abort();
}

bool has_header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (beast::iequals(n, name)) return !v.empty();
  }
  return false;
}

// Every reply is {"data": ...} or {"error": {"code": status, "message": string}}; 405 names
// what is allowed and 503 says when to retry (DESIGN.md section 3).
void check_reply(const HttpResponse& r) {
  if (r.status < 200 || r.status > 599) fail("status out of range", r);
  if (r.content_type != bazaar::httpd::kJsonContentType) return;  // /metrics text
  const auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) fail("body is not a JSON object", r);
  if (r.status == 200) {
    if (!j.contains("data")) fail("200 without data", r);
  } else {
    if (!j.contains("error") || !j["error"].is_object()) fail("error reply without error", r);
    const auto& e = j["error"];
    if (!e.contains("code") || !e["code"].is_number_integer() || e["code"] != r.status)
      fail("error code differs from status", r);
    if (!e.contains("message") || !e["message"].is_string()) fail("error without message", r);
  }
  if (r.status == 405 && !has_header(r, "Allow")) fail("405 without Allow", r);
  if (r.status == 503 && !has_header(r, "Retry-After")) fail("503 without Retry-After", r);
}

// The services' answers, chosen by one input byte: every status a service may return.
void script_services(bazaar::frontend::testing::FakeServices& b, std::uint8_t pick) {
  using bazaar::proto::Status;
  const auto status = static_cast<Status>(pick % (bazaar::proto::kMaxStatus + 1));
  b.lookup_result.status = status;
  b.list_result.status = status;
  b.place_result.status = status;
  b.get_result.status = status;
  if (pick & 0x80) b.health_result.leader.reset();
}

HttpRequest to_api(http::request<http::string_body>& req) {
  HttpRequest api;  // as HttpSession::handle_request builds it
  api.method = std::string(req.method_string());
  api.target = std::string(req.target());
  for (const auto& field : req) {
    api.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  api.body = std::move(req.body());
  return api;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  bazaar::frontend::testing::FakeServices services;
  script_services(services, data[0]);
  ++data;
  --size;

  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (bazaar::httpd::sniff_request_start(input) == bazaar::httpd::RequestStart::kGarbage)
    return 0;  // answered 400 at once by the session

  int ids = 0;
  const ApiHandler api([&ids] { return "fuzz-" + std::to_string(++ids); },
                       [] { return std::string("# metrics\n"); });
  bazaar::frontend::ApiDispatcher dispatcher(api, services);
  for (std::size_t n = 0; n < kMaxRequestsPerInput && !input.empty(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(bazaar::httpd::kMaxBodyBytes);
    parser.eager(true);
    beast::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done() && used < input.size()) {
      const std::size_t k =
          parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
      used += k;
      if (ec == http::error::need_more) {
        ec = {};
        if (k == 0) break;  // Beast wants more bytes than there are
        continue;
      }
      if (ec || k == 0) break;
    }
    if (ec || !parser.is_done()) return 0;  // 400/413/431 or waiting: the HTTP layer's job
    // The session's framing checks: a refused head closes the connection.
    const bazaar::httpd::FramingVerdict framing = bazaar::httpd::check_framing(parser.get());
    if (framing.status != 0) {
      if (framing.status != 400 && framing.status != 501) abort();
      return 0;
    }
    input.remove_prefix(used);
    HttpRequest request = to_api(parser.get());
    HttpResponse reply;
    bool answered = false;
    dispatcher.handle(std::move(request), [&](HttpResponse r) {
      reply = std::move(r);
      answered = true;
    });
    if (!answered) abort();  // the fake services answer at once
    check_reply(reply);
    // The reply must also be writable as an HTTP response.
    http::response<http::string_body> res;
    res.result(reply.status);
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.body() = reply.body;
    res.prepare_payload();
  }
  return 0;
}
