// Checks on untrusted HTTP input (URL pieces, JSON fields, header values): pure, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::frontend {

/// Maximum nesting of arrays/objects accepted in a request body (deeper is refused unparsed, so
/// a hostile body cannot make the parser or the destructor recurse deeply).
inline constexpr std::size_t kMaxJsonDepth = 16;

/// Decodes %XX escapes ('+' stays '+': this is a path, not a form). nullopt when a '%' is not
/// followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view in);

/// Item names are 1..proto::kMaxNameBytes bytes without control characters (0x00-0x1f, 0x7f):
/// no catalog can hold such a name (catalog::valid_item_name), so it never goes further.
bool valid_item_name(std::string_view name);

/// A quantity is a JSON integer in 1..2^31-1: not a float (2.5 or 2.0), string, bool or null.
std::optional<std::int64_t> parse_quantity(const nlohmann::json& value);

enum class OrderNumberParse : std::uint8_t {
  kOk,
  kInvalid,     // not a non-negative decimal integer (empty, sign, dot, letters, leading 0)
  kOutOfRange,  // digits only, but beyond int64: a valid number no order can have
};
/// Parses the <n> of /orders/<n> (already percent-decoded).
OrderNumberParse parse_order_number(std::string_view text, std::int64_t& number);

/// Idempotency keys are 1..proto::kMaxRequestIdBytes bytes of visible ASCII (0x21..0x7e).
bool valid_idempotency_key(std::string_view key);

/// True when no array/object in `text` nests deeper than `max_depth` (strings are skipped).
bool json_depth_within(std::string_view text, std::size_t max_depth);

/// A fresh request id: a UUIDv7 (Unix milliseconds, then 74 random bits) as 32 lowercase hex
/// digits, so ids sort by the time they were made.
std::string random_request_id();

}  // namespace bazaar::frontend
