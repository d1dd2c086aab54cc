#include "httpd/request_start.h"

#include <cstddef>

namespace bazaar::httpd {

namespace {

// RFC 7230 tchar: the characters of a method token.
bool is_tchar(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= 'a' && c <= 'z') return true;
  if (c >= '0' && c <= '9') return true;
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return kSymbols.find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

RequestStart sniff_request_start(std::string_view bytes) {
  constexpr std::size_t kMaxMethod = 32;
  std::size_t i = 0;
  // Method: 1..kMaxMethod tchars, then one space.
  while (i < bytes.size() && bytes[i] != ' ') {
    if (!is_tchar(static_cast<unsigned char>(bytes[i])) || i >= kMaxMethod) {
      return RequestStart::kGarbage;
    }
    ++i;
  }
  if (i == bytes.size()) return RequestStart::kPlausible;
  if (i == 0) return RequestStart::kGarbage;
  ++i;
  // Target: visible bytes (Beast's pathchar: anything but controls, space and DEL), then space.
  const std::size_t target_start = i;
  while (i < bytes.size() && bytes[i] != ' ') {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x21 || c == 0x7f) return RequestStart::kGarbage;
    ++i;
  }
  if (i == bytes.size()) return RequestStart::kPlausible;
  if (i == target_start) return RequestStart::kGarbage;
  ++i;
  static constexpr std::string_view kVersion = "HTTP/";
  for (std::size_t k = 0; k < kVersion.size() && i + k < bytes.size(); ++k) {
    if (bytes[i + k] != kVersion[k]) return RequestStart::kGarbage;
  }
  return RequestStart::kPlausible;
}

}  // namespace bazaar::httpd
