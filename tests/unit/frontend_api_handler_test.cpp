// The REST API through the router and the dispatcher with fake services: routes, JSON shapes,
// every row of the error table (DESIGN.md section 3). No sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend/api_dispatcher.h"
#include "frontend/api_handler.h"
#include "frontend/api_reply.h"
#include "frontend_fake_services.h"

namespace bazaar::frontend {
namespace {

using nlohmann::json;
using testing::FakeServices;

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest() : api_([this] { return "gen-" + std::to_string(++ids_); }) {}

  httpd::HttpResponse call(const std::string& method, const std::string& target,
                           const std::string& body = "", httpd::HeaderList headers = {}) {
    httpd::HttpRequest req{method, target, std::move(headers), body};
    httpd::HttpResponse r;
    bool answered = false;
    dispatcher_.handle(std::move(req), [&](httpd::HttpResponse reply) {
      r = std::move(reply);
      answered = true;
    });
    EXPECT_TRUE(answered);  // the fake services answer at once
    check_shape(r);
    return r;
  }

  httpd::HttpResponse post_order(const std::string& body, httpd::HeaderList headers = {}) {
    return call("POST", "/orders", body, std::move(headers));
  }

  // Every reply: valid JSON, {"data":..} on 2xx, else {"error":{"code":status,"message":str}}.
  static void check_shape(const httpd::HttpResponse& r) {
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_EQ(j.size(), 1u) << r.body;
    if (r.status >= 200 && r.status < 300) {
      EXPECT_TRUE(j.contains("data")) << r.body;
    } else {
      ASSERT_TRUE(j.contains("error")) << r.body;
      EXPECT_EQ(j["error"]["code"], r.status) << r.body;
      EXPECT_TRUE(j["error"]["message"].is_string()) << r.body;
      EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    }
  }

  static std::string header(const httpd::HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "<none>";
  }

  int ids_ = 0;
  ApiHandler api_;
  FakeServices backend_;
  ApiDispatcher dispatcher_{api_, backend_};
};

// ---- lookups -------------------------------------------------------------------------------

TEST_F(ApiHandlerTest, LookupBothRouteFamilies) {
  for (const char* target : {"/products/Tux", "/stocks/Tux"}) {
    const auto r = call("GET", target);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, R"({"data":{"name":"Tux","price":25.99,"quantity":100}})");
  }
  EXPECT_EQ(backend_.looked_up, (std::vector<std::string>{"Tux", "Tux"}));
}

TEST_F(ApiHandlerTest, PricesHaveTwoDecimals) {
  backend_.lookup_result.item.price_cents = 5500;
  EXPECT_EQ(json::parse(call("GET", "/stocks/Tux").body)["data"]["price"], 55.0);
  backend_.lookup_result.item.price_cents = 999;
  EXPECT_EQ(call("GET", "/stocks/Tux").body,
            R"({"data":{"name":"Tux","price":9.99,"quantity":100}})");
  backend_.lookup_result.item.price_cents = 4210;
  EXPECT_NE(call("GET", "/stocks/Tux").body.find("\"price\":42.1"), std::string::npos);
}

TEST_F(ApiHandlerTest, LookupUnknownItemIs404) {
  backend_.lookup_result.status = proto::Status::kUnknownItem;
  const auto r = call("GET", "/products/Nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(r.body.find("Nope"), std::string::npos);
}

TEST_F(ApiHandlerTest, CatalogDownIs503WithRetryAfter) {
  backend_.lookup_result.status = proto::Status::kUnavailable;
  const auto r = call("GET", "/products/Tux");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "Retry-After"), "1");
  backend_.list_result.status = proto::Status::kUnavailable;
  EXPECT_EQ(call("GET", "/stocks").status, 503u);
}

TEST_F(ApiHandlerTest, NamesArePercentDecoded) {
  EXPECT_EQ(call("GET", "/products/Tux%20Deluxe").status, 200u);
  EXPECT_EQ(call("GET", "/products/a%2Fb").status, 200u);
  EXPECT_EQ(call("GET", "/products/T%c3%bcx").status, 200u);
  EXPECT_EQ(call("GET", "/products/a+b").status, 200u);
  EXPECT_EQ(backend_.looked_up,
            (std::vector<std::string>{"Tux Deluxe", "a/b", "T\xc3\xbcx", "a+b"}));
}

TEST_F(ApiHandlerTest, BadNamesAre400) {
  EXPECT_EQ(call("GET", "/products/%zz").status, 400u);
  EXPECT_EQ(call("GET", "/products/abc%2").status, 400u);
  EXPECT_EQ(call("GET", "/products/").status, 400u);
  EXPECT_EQ(call("GET", "/products/" + std::string(65, 'x')).status, 400u);
  EXPECT_EQ(call("GET", "/stocks/" + std::string(64, 'x')).status, 200u);
  // 65 bytes after decoding, though the URL form is longer.
  EXPECT_EQ(call("GET", "/stocks/" + std::string(63, 'x') + "%41%42").status, 400u);
  // Invalid UTF-8 reaches the error message without breaking the JSON.
  backend_.lookup_result.status = proto::Status::kUnknownItem;
  EXPECT_EQ(call("GET", "/products/%ff%fe").status, 404u);
}

TEST_F(ApiHandlerTest, QueryStringIsIgnored) {
  EXPECT_EQ(call("GET", "/products/Tux?verbose=1").status, 200u);
  EXPECT_EQ(backend_.looked_up.back(), "Tux");
  EXPECT_EQ(call("GET", "/health?x").status, 200u);
}

TEST_F(ApiHandlerTest, ListBothRouteFamilies) {
  for (const char* target : {"/products", "/stocks"}) {
    const auto r = call("GET", target);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, R"({"data":[{"name":"Tux","price":25.99,"quantity":100},)"
                      R"({"name":"Whale","price":34.99,"quantity":7}]})");
  }
}

// ---- routes and methods --------------------------------------------------------------------

TEST_F(ApiHandlerTest, UnknownRoutesAre404) {
  for (const char* target : {"/", "/productsX", "/products/a/b", "/orders/1/2", "/health/",
                             "/metricsx", "*", "http://host/products/Tux", ""}) {
    EXPECT_EQ(call("GET", target).status, 404u) << target;
  }
  EXPECT_EQ(call("DELETE", "/nothing").status, 404u);
}

TEST_F(ApiHandlerTest, WrongMethodIs405WithAllow) {
  struct Case {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const Case& c :
       {Case{"POST", "/products/Tux", "GET, HEAD"}, Case{"DELETE", "/stocks/Tux", "GET, HEAD"},
        Case{"PUT", "/products", "GET, HEAD"}, Case{"POST", "/stocks", "GET, HEAD"},
        Case{"GET", "/orders", "POST"}, Case{"PUT", "/orders", "POST"},
        Case{"HEAD", "/orders", "POST"}, Case{"POST", "/orders/1", "GET, HEAD"},
        Case{"DELETE", "/orders/1", "GET, HEAD"}, Case{"POST", "/health", "GET, HEAD"},
        Case{"get", "/health", "GET, HEAD"}}) {
    const auto r = call(c.method, c.target, R"({"name":"Tux","quantity":1})");
    EXPECT_EQ(r.status, 405u) << c.method << " " << c.target;
    EXPECT_EQ(header(r, "Allow"), c.allow) << c.method << " " << c.target;
  }
  EXPECT_TRUE(backend_.placed.empty());
  EXPECT_TRUE(backend_.looked_up.empty());
}

// ---- orders --------------------------------------------------------------------------------

TEST_F(ApiHandlerTest, PlaceOrderReturnsBothNumberNames) {
  const auto r = post_order(R"({"name":"Tux","quantity":2,"type":"buy"})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"data":{"transaction_number":7,"order_number":7}})");
  ASSERT_EQ(backend_.placed.size(), 1u);
  EXPECT_EQ(backend_.placed[0].name, "Tux");
  EXPECT_EQ(backend_.placed[0].quantity, 2);
  EXPECT_EQ(backend_.placed[0].side, proto::Side::kBuy);
}

TEST_F(ApiHandlerTest, TypeDefaultsToBuyAndSellIsSell) {
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":3})").status, 200u);
  EXPECT_EQ(post_order(R"({"quantity":4,"type":"sell","name":"Tux","extra":[1]})").status, 200u);
  ASSERT_EQ(backend_.placed.size(), 2u);
  EXPECT_EQ(backend_.placed[0].side, proto::Side::kBuy);
  EXPECT_EQ(backend_.placed[1].side, proto::Side::kSell);
  EXPECT_EQ(backend_.placed[1].quantity, 4);
}

TEST_F(ApiHandlerTest, QuantityEdgeCases) {
  for (const char* ok : {"1", "2147483647", "100"}) {
    EXPECT_EQ(post_order(std::string(R"({"name":"Tux","quantity":)") + ok + "}").status, 200u)
        << ok;
  }
  for (const char* bad :
       {"0", "-1", "2.5", "2.0", "1e3", "\"2\"", "true", "false", "null", "2147483648",
        "-2147483648", "9223372036854775808", "99999999999999999999", "[]", "{}", "-0"}) {
    const auto r = post_order(std::string(R"({"name":"Tux","quantity":)") + bad + "}");
    EXPECT_EQ(r.status, 400u) << bad;
  }
  ASSERT_EQ(backend_.placed.size(), 3u);
  EXPECT_EQ(backend_.placed[1].quantity, 2147483647);
}

TEST_F(ApiHandlerTest, MissingOrMistypedFieldsAre400) {
  for (const char* body : {
           R"({"quantity":1})",                            // no name
           R"({"name":"Tux"})",                            // no quantity
           R"({"name":5,"quantity":1})",                   // name not a string
           R"({"name":null,"quantity":1})",                //
           R"({"name":"","quantity":1})",                  // empty name
           R"({"name":"Tux","quantity":1,"type":"BUY"})",  // type not buy/sell
           R"({"name":"Tux","quantity":1,"type":"hold"})",
           R"({"name":"Tux","quantity":1,"type":1})",
           R"({"name":"Tux","quantity":1,"type":null})",
       }) {
    EXPECT_EQ(post_order(body).status, 400u) << body;
  }
  EXPECT_EQ(post_order(R"({"name":")" + std::string(65, 'x') + R"(","quantity":1})").status, 400u);
  EXPECT_TRUE(backend_.placed.empty());
}

TEST_F(ApiHandlerTest, MalformedJsonIs400) {
  for (const std::string& body :
       std::vector<std::string>{"", "{", "not json", "[]", R"("Tux")", "42", "null",
                                R"({"name":"Tux","quantity":1} trailing)",
                                "{\"name\":\"T\xff\",\"quantity\":1}",  // invalid UTF-8
                                std::string(5000, '[') + std::string(5000, ']'),
                                "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}"}) {
    EXPECT_EQ(post_order(body).status, 400u) << body.substr(0, 40);
  }
  // Deep nesting inside a string is just text.
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1,"note":"[[[[[[[[[[[[[[[[[[[[[[[["})").status,
            200u);
}

TEST_F(ApiHandlerTest, BodyOver64KiBIs413) {
  std::string body =
      R"({"name":"Tux","quantity":1,"pad":")" + std::string(httpd::kMaxBodyBytes, 'x') + "\"}";
  EXPECT_EQ(post_order(body).status, 413u);
}

TEST_F(ApiHandlerTest, IdempotencyKeyBecomesRequestId) {
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1})", {{"Idempotency-Key", "key-1"}}).status,
            200u);
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1})", {{"idempotency-key", "key-1"}}).status,
            200u);
  const std::string longest(128, '~');
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1})", {{"IDEMPOTENCY-KEY", longest}}).status,
            200u);
  ASSERT_EQ(backend_.placed.size(), 3u);
  EXPECT_EQ(backend_.placed[0].request_id, "key-1");
  EXPECT_EQ(backend_.placed[1].request_id, "key-1");
  EXPECT_EQ(backend_.placed[2].request_id, longest);
  EXPECT_EQ(ids_, 0);  // no id generated when the client gave one
}

TEST_F(ApiHandlerTest, WithoutKeyEveryRequestGetsAFreshId) {
  post_order(R"({"name":"Tux","quantity":1})");
  post_order(R"({"name":"Tux","quantity":1})");
  ASSERT_EQ(backend_.placed.size(), 2u);
  EXPECT_EQ(backend_.placed[0].request_id, "gen-1");
  EXPECT_EQ(backend_.placed[1].request_id, "gen-2");
}

TEST_F(ApiHandlerTest, BadIdempotencyKeysAre400) {
  for (const std::string& key :
       {std::string(), std::string(129, 'k'), std::string("a b"), std::string("tab\there"),
        std::string("caf\xc3\xa9"), std::string("nul\0x", 5)}) {
    EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1})", {{"Idempotency-Key", key}}).status, 400u)
        << key;
  }
  EXPECT_TRUE(backend_.placed.empty());
}

TEST_F(ApiHandlerTest, OrderOutcomesMapToStatuses) {
  struct Case {
    proto::Status status;
    unsigned http;
  };
  for (const Case& c :
       {Case{proto::Status::kUnknownItem, 404}, Case{proto::Status::kInsufficient, 409},
        Case{proto::Status::kUnavailable, 503}, Case{proto::Status::kBadRequest, 400},
        Case{proto::Status::kConflict, 422}, Case{proto::Status::kInternal, 500},
        Case{proto::Status::kNotLeader, 500}}) {
    backend_.place_result = {c.status, -1, {}};
    const auto r = post_order(R"({"name":"Tux","quantity":1000})");
    EXPECT_EQ(r.status, c.http) << proto::to_string(c.status);
    if (c.http == 503) {
      EXPECT_EQ(header(r, "Retry-After"), "1");
    }
  }
}

TEST_F(ApiHandlerTest, GetOrder) {
  const auto r = call("GET", "/orders/7");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"data":{"number":7,"name":"Tux","type":"buy","quantity":2}})");
  backend_.get_result.order.side = proto::Side::kSell;
  EXPECT_NE(call("GET", "/orders/0").body.find(R"("type":"sell")"), std::string::npos);
  EXPECT_EQ(call("GET", "/orders/%37").status, 200u);
  EXPECT_EQ(call("HEAD", "/orders/7").status, 200u);  // GET without a body (the HTTP layer)
  EXPECT_EQ(backend_.got, (std::vector<std::int64_t>{7, 0, 7, 7}));
}

TEST_F(ApiHandlerTest, BadOrderNumbersAre400) {
  for (const char* target :
       {"/orders/-1", "/orders/abc", "/orders/1.5", "/orders/", "/orders/+1", "/orders/1e3",
        "/orders/%zz", "/orders/%20", "/orders/00", "/orders/007", "/orders/%300"}) {
    EXPECT_EQ(call("GET", target).status, 400u) << target;
  }
  EXPECT_TRUE(backend_.got.empty());
}

TEST_F(ApiHandlerTest, UnknownOrderIs404) {
  backend_.get_result.status = proto::Status::kNotFound;
  EXPECT_EQ(call("GET", "/orders/12345").status, 404u);
  EXPECT_EQ(call("GET", "/orders/99999999999999999999999").status, 404u);  // beyond int64
  backend_.get_result.status = proto::Status::kUnavailable;
  const auto r = call("GET", "/orders/1");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(header(r, "Retry-After"), "1");
}

TEST_F(ApiHandlerTest, Health) {
  EXPECT_EQ(call("GET", "/health").body,
            R"({"data":{"catalog":true,"leader":{"id":3,"term":5},"bus":true,"cache_size":0,)"
            R"("cache_capacity":0}})");
  backend_.health_result = {false, std::nullopt, false, 12, 100};
  EXPECT_EQ(call("GET", "/health").body,
            R"({"data":{"catalog":false,"leader":null,"bus":false,"cache_size":12,)"
            R"("cache_capacity":100}})");
}

TEST(ApiReply, StatusMapping) {
  EXPECT_EQ(http_status_for(proto::Status::kOk), 200u);
  EXPECT_EQ(http_status_for(proto::Status::kUnknownItem), 404u);
  EXPECT_EQ(http_status_for(proto::Status::kInsufficient), 409u);
  EXPECT_EQ(http_status_for(proto::Status::kNotFound), 404u);
  EXPECT_EQ(http_status_for(proto::Status::kBadRequest), 400u);
  EXPECT_EQ(http_status_for(proto::Status::kUnavailable), 503u);
  EXPECT_EQ(http_status_for(proto::Status::kConflict), 422u);
  EXPECT_EQ(http_status_for(proto::Status::kInternal), 500u);
}

TEST(ApiReply, ErrorBodyShape) {
  const auto r = httpd::error_reply(418, "short and stout");
  EXPECT_EQ(r.body, R"({"error":{"code":418,"message":"short and stout"}})");
  EXPECT_TRUE(r.headers.empty());
  const auto m = httpd::method_not_allowed("GET");
  EXPECT_EQ(m.status, 405u);
  ASSERT_EQ(m.headers.size(), 1u);
  EXPECT_EQ(m.headers[0], (std::pair<std::string, std::string>{"Allow", "GET"}));
}

// Issue 14, E: what a lenient parser would read one way and another reader another way.
TEST_F(ApiHandlerTest, NulDuplicateKeysAndTwoIdempotencyKeysAre400) {
  const std::string nul = std::string(R"({"name":"Tux","quantity":1})") + '\0' + "junk";
  EXPECT_EQ(post_order(nul).status, 400u);
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1,"quantity":50})").status, 400u);
  EXPECT_EQ(post_order(R"({"name":"Tux","name":"Whale","quantity":1})").status, 400u);
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1})",
                       {{"Idempotency-Key", "a"}, {"idempotency-key", "b"}})
                .status,
            400u);
  EXPECT_TRUE(backend_.placed.empty());
  // The same key name in two different objects is no duplicate.
  EXPECT_EQ(post_order(R"({"name":"Tux","quantity":1,"x":{"name":1}})").status, 200u);
}

TEST_F(ApiHandlerTest, HeadIsServedOnGetRoutes) {
  EXPECT_EQ(call("HEAD", "/products/Tux").status, 200u);
  EXPECT_EQ(call("HEAD", "/products").status, 200u);
  EXPECT_EQ(call("HEAD", "/health").status, 200u);
}

}  // namespace
}  // namespace bazaar::frontend
