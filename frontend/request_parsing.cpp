#include "frontend/request_parsing.h"

#include <array>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "proto_msgs/messages.h"

namespace bazaar::frontend {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool valid_item_name(std::string_view name) {
  if (name.empty() || name.size() > proto::kMaxNameBytes) return false;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::optional<std::int64_t> parse_quantity(const nlohmann::json& value) {
  // nlohmann keeps integers as integers and anything with '.', 'e' or overflow as a float, so
  // 2.0 and 1e3 are refused here like 2.5: a quantity is written as an integer.
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v < 1 || v > static_cast<std::uint64_t>(proto::kMaxQuantity)) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < 1 || v > proto::kMaxQuantity) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

OrderNumberParse parse_order_number(std::string_view text, std::int64_t& number) {
  if (text.empty()) return OrderNumberParse::kInvalid;
  // One spelling a number: "00" or "007" would name order 0 or 7 under another URL.
  if (text.size() > 1 && text[0] == '0') return OrderNumberParse::kInvalid;
  std::int64_t v = 0;
  bool overflow = false;
  for (char c : text) {
    if (c < '0' || c > '9') return OrderNumberParse::kInvalid;
    const int d = c - '0';
    if (v > (std::numeric_limits<std::int64_t>::max() - d) / 10) overflow = true;
    if (!overflow) v = v * 10 + d;
  }
  if (overflow) return OrderNumberParse::kOutOfRange;
  number = v;
  return OrderNumberParse::kOk;
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > proto::kMaxRequestIdBytes) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool json_depth_within(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return false;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return true;
}

std::string random_request_id() {
  // One generator per thread, seeded from the OS: ids from different threads and processes
  // must not collide, and a lock here would serialise every POST.
  thread_local std::mt19937_64 gen = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  // UUIDv7 layout (RFC 9562): 48 bits of Unix milliseconds first, then version 7, 12 random
  // bits, the variant and 62 random bits. Why time first: every store keyed by request id (the
  // catalog's applied_trades B-tree above all) then inserts at its right edge, so a batch of
  // trades dirties one or two pages instead of one random page per trade. That cut the
  // catalog's CPU per order by a third (docs/PERFORMANCE.md).
  const auto ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::uint64_t hi = ((ms & 0xffffffffffffULL) << 16) | 0x7000 | (gen() & 0x0fff);
  std::uint64_t lo = 0x8000000000000000ULL | (gen() & 0x3fffffffffffffffULL);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 15; i >= 0; --i, hi >>= 4) out[static_cast<std::size_t>(i)] = kHex[hi & 0xf];
  for (int i = 31; i >= 16; --i, lo >>= 4) out[static_cast<std::size_t>(i)] = kHex[lo & 0xf];
  return out;
}

}  // namespace bazaar::frontend
