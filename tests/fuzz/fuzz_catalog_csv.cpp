// libFuzzer target: the catalog's CSV loader (catalog/seed.*). Whatever the text, the loader
// returns items or one error naming a line; items it returns always satisfy the bounds the
// database relies on, and their prices survive format_price/parse_price unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "catalog/seed.h"
#include "proto_msgs/messages.h"

namespace catalog = bazaar::catalog;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = catalog::parse_catalog_csv(text);
  if (!result.ok()) {
    if (!result.items.empty() && result.error == catalog::SeedError::kNone) abort();
    if (result.message.empty()) abort();  // every error is explained
    return 0;
  }
  if (result.items.empty() || result.items.size() > bazaar::proto::kMaxListItems) abort();
  std::set<std::string_view> names;
  for (const auto& item : result.items) {
    if (!catalog::valid_item_name(item.name)) abort();
    if (!names.insert(item.name).second) abort();  // duplicates are refused
    if (item.price_cents < 0 || item.price_cents > catalog::kMaxPriceCents) abort();
    if (item.quantity < 0 || item.quantity > bazaar::proto::kMaxQuantity) abort();
    std::int64_t cents = -1;
    if (!catalog::parse_price(catalog::format_price(item.price_cents), cents) ||
        cents != item.price_cents) {
      fprintf(stderr, "price %lld does not round-trip\n", static_cast<long long>(item.price_cents));
      abort();
    }
  }
  // The price parser alone, on the whole input: in range whenever it accepts.
  std::int64_t cents = -1;
  if (catalog::parse_price(text, cents) && (cents < 0 || cents > catalog::kMaxPriceCents)) abort();
  return 0;
}
