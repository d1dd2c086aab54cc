// What a new catalog database is filled with: the two built-in flavours (DESIGN.md section 2) or
// a CSV file, plus the text form of prices (cents inside, "25.99" outside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::catalog {

/// One item as seeded: quantity is the initial stock, version and volume start at 1 and 0.
struct SeedItem {
  std::string name;
  std::int64_t price_cents = 0;
  std::int64_t quantity = 0;
};

/// Largest price a catalog accepts: 1 000 000 000.00. Far below 2^53 cents, so the price stays
/// exact as a JSON number (a double) over HTTP.
inline constexpr std::int64_t kMaxPriceCents = 100'000'000'000;

/// Largest CSV file the loader reads. A catalog has at most proto::kMaxListItems items, and even
/// with long names and generous padding that is well under this.
inline constexpr std::size_t kMaxCsvBytes = 4 << 20;

/// Why a seed could not be made. kNone means success.
enum class SeedError : std::uint8_t {
  kNone = 0,
  kUnreadable,     // the file cannot be opened or read
  kTooLarge,       // the file is over kMaxCsvBytes
  kEmpty,          // no item lines at all
  kBadLine,        // a line is not three comma-separated fields
  kBadName,        // empty, over proto::kMaxNameBytes, control characters or not UTF-8
  kBadPrice,       // not digits with at most two decimals, or over kMaxPriceCents
  kBadQuantity,    // negative, not an integer, or over proto::kMaxQuantity
  kDuplicateName,  // the same name twice
  kTooManyItems,   // more than proto::kMaxListItems items (a ListReply could not carry them)
};
const char* to_string(SeedError e);

/// The items of a seed in seed order, or the first error found. `line` is the 1-based line of
/// the offending line for the per-line errors (0 otherwise); `message` is one human-readable
/// line ("line 3: bad price \"abc\" (expected e.g. 25.99)").
struct SeedResult {
  std::vector<SeedItem> items;
  SeedError error = SeedError::kNone;
  std::size_t line = 0;
  std::string message;
  bool ok() const { return error == SeedError::kNone; }
};

/// The toy store of the first edition: ten toys at quantity 100.
std::vector<SeedItem> toys_seed();

/// The stock exchange of the second edition: ten stocks at quantity 100.
std::vector<SeedItem> stocks_seed();

/// Parses CSV text: one `name,price,quantity` line per item, in seed order. A first non-blank
/// line reading `name,price,quantity` (any case) is a header and skipped; blank lines are
/// skipped; spaces around fields are trimmed; CRLF line ends are accepted. There is no quoting:
/// a name cannot contain a comma.
SeedResult parse_catalog_csv(std::string_view text);

/// Reads and parses the CSV file at `path` (see parse_catalog_csv).
SeedResult load_catalog_csv(const std::string& path);

/// The seed named by a --catalog value: "toys", "stocks", or otherwise a CSV file path.
SeedResult load_seed(const std::string& catalog);

/// Parses a price with at most two decimals ("25.99", "9.9", "55", "55.00") into cents.
/// Returns false for anything else (signs, exponents, spaces, a third decimal, too large).
bool parse_price(std::string_view text, std::int64_t& cents);

/// Formats cents with exactly two decimals: 2599 -> "25.99", 5 -> "0.05".
std::string format_price(std::int64_t cents);

/// True when `name` can be an item name: 1..kMaxNameBytes bytes of valid UTF-8 with no control
/// characters. Inner spaces are allowed (dump lines are parsed from the right); leading or
/// trailing ones are not, so a name always survives the CSV trim unchanged.
bool valid_item_name(std::string_view name);

}  // namespace bazaar::catalog
