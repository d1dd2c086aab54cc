// A quick look at the first bytes of a connection, before Beast's parser has a whole head.
// Pure, no I/O.
#pragma once

#include <cstdint>
#include <string_view>

namespace bazaar::httpd {

enum class RequestStart : std::uint8_t {
  kPlausible,  // a request line that may well be valid (or too short to tell)
  kGarbage,    // no HTTP request starts like this: answer 400 without waiting for more
};
/// Looks at the first bytes of a request: method token, space, target of visible bytes, space,
/// "HTTP/". The parser alone would wait for a blank line (up to the header limit or the read
/// deadline) before rejecting binary junk; this answers it at once.
[[nodiscard]] RequestStart sniff_request_start(std::string_view bytes);

}  // namespace bazaar::httpd
