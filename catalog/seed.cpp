#include "catalog/seed.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_set>

#include "proto_msgs/messages.h"

namespace bazaar::catalog {

namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. The frontend turns
// names into JSON, and a JSON encoder refuses (or throws on) invalid UTF-8.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMinForLen[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLen[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    // C1 control characters (U+0080..U+009F) are control characters too.
    if (cp >= 0x80 && cp <= 0x9F) return false;
    i += len;
  }
  return true;
}

SeedResult line_error(SeedError e, std::size_t line, const std::string& what) {
  SeedResult r;
  r.error = e;
  r.line = line;
  r.message = "line " + std::to_string(line) + ": " + what;
  return r;
}

SeedResult file_error(SeedError e, const std::string& what) {
  SeedResult r;
  r.error = e;
  r.message = what;
  return r;
}

std::string printable(std::string_view s) {
  // Keep error lines one line long and printable whatever the file holds.
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? '?' : c;
  }
  if (s.size() > 80) out += "...";
  out += '"';
  return out;
}

std::vector<SeedItem> with_quantity_100(
    std::initializer_list<std::pair<const char*, std::int64_t>> items) {
  std::vector<SeedItem> out;
  out.reserve(items.size());
  for (const auto& [name, cents] : items) out.push_back(SeedItem{name, cents, 100});
  return out;
}

}  // namespace

const char* to_string(SeedError e) {
  switch (e) {
    case SeedError::kNone:
      return "none";
    case SeedError::kUnreadable:
      return "unreadable file";
    case SeedError::kTooLarge:
      return "file too large";
    case SeedError::kEmpty:
      return "no items";
    case SeedError::kBadLine:
      return "bad line";
    case SeedError::kBadName:
      return "bad name";
    case SeedError::kBadPrice:
      return "bad price";
    case SeedError::kBadQuantity:
      return "bad quantity";
    case SeedError::kDuplicateName:
      return "duplicate name";
    case SeedError::kTooManyItems:
      return "too many items";
  }
  return "?";
}

std::vector<SeedItem> toys_seed() {
  return with_quantity_100({{"Tux", 2599},
                            {"Whale", 3499},
                            {"Elephant", 2999},
                            {"Bird", 3999},
                            {"Risk", 1599},
                            {"Sand", 1999},
                            {"Jenga", 2199},
                            {"Uno", 3599},
                            {"Pinball", 4999},
                            {"Clue", 999}});
}

std::vector<SeedItem> stocks_seed() {
  return with_quantity_100({{"GameStart", 1599},
                            {"FishCo", 1799},
                            {"BoarCo", 2859},
                            {"MenhirCo", 2149},
                            {"CrassusRealty", 4210},
                            {"AsterixInc", 3333},
                            {"ObelixLtd", 2775},
                            {"IdefixPets", 999},
                            {"DruidPotions", 5500},
                            {"RomanRoads", 1250}});
}

bool parse_price(std::string_view text, std::int64_t& cents) {
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 12) return false;
  if (dot != std::string_view::npos && (frac.empty() || frac.size() > 2)) return false;
  std::int64_t units = 0;
  for (char c : whole) {
    if (!is_digit(c)) return false;
    units = units * 10 + (c - '0');
  }
  std::int64_t hundredths = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    const char c = i < frac.size() ? frac[i] : '0';
    if (!is_digit(c)) return false;
    hundredths = hundredths * 10 + (c - '0');
  }
  const std::int64_t total = units * 100 + hundredths;  // whole has <= 12 digits: no overflow
  if (total > kMaxPriceCents) return false;
  cents = total;
  return true;
}

std::string format_price(std::int64_t cents) {
  const bool negative = cents < 0;  // never stored, but keep the function total
  const std::uint64_t abs =
      negative ? 0 - static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  std::string out = negative ? "-" : "";
  out += std::to_string(abs / 100);
  out += '.';
  out += static_cast<char>('0' + abs % 100 / 10);
  out += static_cast<char>('0' + abs % 10);
  return out;
}

bool valid_item_name(std::string_view name) {
  if (name.empty() || name.size() > proto::kMaxNameBytes) return false;
  if (name.front() == ' ' || name.back() == ' ') return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return valid_utf8(name);
}

SeedResult parse_catalog_csv(std::string_view text) {
  SeedResult out;
  std::unordered_set<std::string> seen;
  bool first_content_line = true;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty()) continue;

    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
      const auto comma = line.find(',', start);
      fields.push_back(trim(line.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (first_content_line) {
      first_content_line = false;
      if (fields.size() == 3 && equals_ignore_case(fields[0], "name") &&
          equals_ignore_case(fields[1], "price") && equals_ignore_case(fields[2], "quantity")) {
        continue;
      }
    }
    if (fields.size() != 3) {
      return line_error(
          SeedError::kBadLine, line_no,
          "expected 3 fields name,price,quantity, got " + std::to_string(fields.size()));
    }
    const std::string_view name = fields[0];
    if (name.empty()) return line_error(SeedError::kBadName, line_no, "empty name");
    if (name.size() > proto::kMaxNameBytes) {
      return line_error(SeedError::kBadName, line_no,
                        "name longer than " + std::to_string(proto::kMaxNameBytes) + " bytes");
    }
    if (!valid_item_name(name)) {
      return line_error(SeedError::kBadName, line_no,
                        "name " + printable(name) + " has control characters or is not UTF-8");
    }
    SeedItem item;
    item.name = std::string(name);
    if (!parse_price(fields[1], item.price_cents)) {
      return line_error(SeedError::kBadPrice, line_no,
                        "bad price " + printable(fields[1]) +
                            " (expected a non-negative amount with at most two decimals, e.g. "
                            "25.99, at most " +
                            format_price(kMaxPriceCents) + ")");
    }
    const std::string_view qty = fields[2];
    bool qty_ok = !qty.empty() && qty.size() <= 10;
    std::int64_t q = 0;
    for (char c : qty) {
      if (!qty_ok || !is_digit(c)) {  // at most 10 digits: no overflow
        qty_ok = false;
        break;
      }
      q = q * 10 + (c - '0');
    }
    if (!qty_ok || q > proto::kMaxQuantity) {
      return line_error(SeedError::kBadQuantity, line_no,
                        "bad quantity " + printable(qty) + " (expected an integer 0.." +
                            std::to_string(proto::kMaxQuantity) + ")");
    }
    item.quantity = q;
    if (!seen.insert(item.name).second) {
      return line_error(SeedError::kDuplicateName, line_no,
                        "duplicate name " + printable(item.name));
    }
    if (out.items.size() >= proto::kMaxListItems) {
      return line_error(SeedError::kTooManyItems, line_no,
                        "more than " + std::to_string(proto::kMaxListItems) + " items");
    }
    out.items.push_back(std::move(item));
  }
  if (out.items.empty()) return file_error(SeedError::kEmpty, "no items");
  return out;
}

SeedResult load_catalog_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return file_error(SeedError::kUnreadable,
                      "cannot read catalog file " + path + ": " + std::strerror(errno));
  }
  // Read one byte past the bound so an oversized file is told apart from one exactly at it.
  std::string text(kMaxCsvBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return file_error(SeedError::kUnreadable,
                      "cannot read catalog file " + path + ": " + std::strerror(errno));
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxCsvBytes) {
    return file_error(SeedError::kTooLarge, "catalog file " + path + " is larger than " +
                                                std::to_string(kMaxCsvBytes) + " bytes");
  }
  SeedResult r = parse_catalog_csv(text);
  if (!r.ok()) r.message = "catalog file " + path + ": " + r.message;
  return r;
}

SeedResult load_seed(const std::string& catalog) {
  SeedResult r;
  if (catalog == "toys") {
    r.items = toys_seed();
  } else if (catalog == "stocks") {
    r.items = stocks_seed();
  } else {
    r = load_catalog_csv(catalog);
  }
  return r;
}

}  // namespace bazaar::catalog
