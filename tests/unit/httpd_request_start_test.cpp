// The request-start sniff: what the server answers 400 at once, before a whole head arrives.
#include <gtest/gtest.h>

#include <string>

#include "httpd/request_start.h"

namespace bazaar::httpd {
namespace {

TEST(Sniff, RequestStarts) {
  for (const char* ok : {"G", "GET", "GET ", "GET /products/Tux", "GET /x HTTP/1.1\r\n",
                         "POST /orders HT", "M-SEARCH * HTTP/1.1"}) {
    EXPECT_EQ(sniff_request_start(ok), RequestStart::kPlausible) << ok;
  }
  for (const std::string& bad :
       {std::string("\x16\x03\x01\x02\x00", 5), std::string(" GET / HTTP/1.1"), std::string("\r\n"),
        std::string("GET\x01/"), std::string("this is not http\r\n\r\n"),
        std::string("GET /a\x01"
                    "b HTTP/1.1"),
        std::string("GET  HTTP/1.1"), std::string(40, 'A'), std::string("{\"name\":\"Tux\"}")}) {
    EXPECT_EQ(sniff_request_start(bad), RequestStart::kGarbage) << bad;
  }
}

}  // namespace
}  // namespace bazaar::httpd
