#include "httpd/http_message.h"

#include <boost/algorithm/string/predicate.hpp>

namespace bazaar::httpd {

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (boost::algorithm::iequals(field, name)) return &value;
  }
  return nullptr;
}

std::size_t HttpRequest::header_count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [field, value] : headers) {
    if (boost::algorithm::iequals(field, name)) ++n;
  }
  return n;
}

std::string over_limit(std::string_view what, std::size_t limit_bytes) {
  std::string message = "request ";
  message += what;
  message += " over ";
  if (limit_bytes % 1024 == 0) {
    message += std::to_string(limit_bytes / 1024);
    message += " KiB";
  } else {
    message += std::to_string(limit_bytes);
    message += " bytes";
  }
  return message;
}

}  // namespace bazaar::httpd
