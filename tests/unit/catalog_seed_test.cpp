#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "catalog/seed.h"
#include "proto_msgs/messages.h"

namespace bazaar::catalog {
namespace {

TEST(CatalogSeed, ToysHaveTheHandoutValues) {
  const std::vector<SeedItem> toys = toys_seed();
  const std::vector<std::pair<std::string, std::int64_t>> want = {
      {"Tux", 2599},  {"Whale", 3499}, {"Elephant", 2999}, {"Bird", 3999},    {"Risk", 1599},
      {"Sand", 1999}, {"Jenga", 2199}, {"Uno", 3599},      {"Pinball", 4999}, {"Clue", 999}};
  ASSERT_EQ(toys.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(toys[i].name, want[i].first);
    EXPECT_EQ(toys[i].price_cents, want[i].second);
    EXPECT_EQ(toys[i].quantity, 100);
  }
}

TEST(CatalogSeed, StocksHaveTheHandoutValues) {
  const std::vector<SeedItem> stocks = stocks_seed();
  const std::vector<std::pair<std::string, std::int64_t>> want = {
      {"GameStart", 1599},     {"FishCo", 1799},     {"BoarCo", 2859},    {"MenhirCo", 2149},
      {"CrassusRealty", 4210}, {"AsterixInc", 3333}, {"ObelixLtd", 2775}, {"IdefixPets", 999},
      {"DruidPotions", 5500},  {"RomanRoads", 1250}};
  ASSERT_EQ(stocks.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(stocks[i].name, want[i].first);
    EXPECT_EQ(stocks[i].price_cents, want[i].second);
    EXPECT_EQ(stocks[i].quantity, 100);
  }
}

TEST(CatalogSeed, LoadSeedPicksTheFlavour) {
  EXPECT_EQ(load_seed("toys").items.front().name, "Tux");
  EXPECT_EQ(load_seed("stocks").items.front().name, "GameStart");
}

TEST(CatalogSeed, PricesParseAndFormat) {
  std::int64_t c = -1;
  EXPECT_TRUE(parse_price("25.99", c));
  EXPECT_EQ(c, 2599);
  EXPECT_TRUE(parse_price("9.9", c));
  EXPECT_EQ(c, 990);
  EXPECT_TRUE(parse_price("55", c));
  EXPECT_EQ(c, 5500);
  EXPECT_TRUE(parse_price("0.05", c));
  EXPECT_EQ(c, 5);
  EXPECT_TRUE(parse_price("1000000000.00", c));
  EXPECT_EQ(c, kMaxPriceCents);
  for (const char* bad : {"", ".", "1.", ".5", "1.234", "-1", "+1", "1e3", "abc", "1,5", "1 .5",
                          "1000000000.01", "99999999999999999999"}) {
    EXPECT_FALSE(parse_price(bad, c)) << bad;
  }
  EXPECT_EQ(format_price(2599), "25.99");
  EXPECT_EQ(format_price(5500), "55.00");
  EXPECT_EQ(format_price(5), "0.05");
  EXPECT_EQ(format_price(0), "0.00");
  EXPECT_EQ(format_price(4210), "42.10");
}

TEST(CatalogSeed, NamesAreCheckedForBoundsAndControlCharacters) {
  EXPECT_TRUE(valid_item_name("Tux"));
  EXPECT_TRUE(valid_item_name("Board Game"));
  EXPECT_TRUE(valid_item_name("Cr\xC3\xA8me"));  // UTF-8
  EXPECT_TRUE(valid_item_name(std::string(proto::kMaxNameBytes, 'x')));
  EXPECT_FALSE(valid_item_name(""));
  EXPECT_FALSE(valid_item_name(std::string(proto::kMaxNameBytes + 1, 'x')));
  EXPECT_FALSE(valid_item_name("Tab\there"));
  EXPECT_FALSE(valid_item_name(std::string("Nul\0l", 5)));
  EXPECT_FALSE(valid_item_name("Del\x7F"));
  EXPECT_FALSE(valid_item_name("\xC3"));      // truncated UTF-8
  EXPECT_FALSE(valid_item_name("\xC0\xAF"));  // overlong
  EXPECT_FALSE(valid_item_name(" lead"));
}

TEST(CatalogSeed, CsvGoodWithHeaderBlankLinesAndCrlf) {
  const SeedResult r = parse_catalog_csv(
      "Name, Price, Quantity\r\n"
      "\r\n"
      "Widget,1.50,7\r\n"
      "  Big Gadget , 20 , 0 \n"
      "\n"
      "Gizmo,0.99,2147483647");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_EQ(r.items[0].name, "Widget");
  EXPECT_EQ(r.items[0].price_cents, 150);
  EXPECT_EQ(r.items[0].quantity, 7);
  EXPECT_EQ(r.items[1].name, "Big Gadget");
  EXPECT_EQ(r.items[1].price_cents, 2000);
  EXPECT_EQ(r.items[1].quantity, 0);
  EXPECT_EQ(r.items[2].quantity, proto::kMaxQuantity);
}

TEST(CatalogSeed, CsvWithoutHeader) {
  const SeedResult r = parse_catalog_csv("A,1,1\nB,2,2\n");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.items.size(), 2u);
}

struct BadCsv {
  const char* text;
  SeedError error;
  std::size_t line;
};

TEST(CatalogSeed, CsvErrorsNameTheLineAndTheKind) {
  const std::string long_name(proto::kMaxNameBytes + 1, 'n');
  const std::string long_line = long_name + ",1,1\n";
  const BadCsv cases[] = {
      {"", SeedError::kEmpty, 0},
      {"\n\n  \n", SeedError::kEmpty, 0},
      {"name,price,quantity\n", SeedError::kEmpty, 0},
      {"A,1,1\nB,2\n", SeedError::kBadLine, 2},
      {"A,1,1,1\n", SeedError::kBadLine, 1},
      {"A,1,1\n,2,2\n", SeedError::kBadName, 2},
      {long_line.c_str(), SeedError::kBadName, 1},
      {"A\x01"
       ",1,1\n",
       SeedError::kBadName, 1},
      {"A\xFF,1,1\n", SeedError::kBadName, 1},
      {"A,abc,1\n", SeedError::kBadPrice, 1},
      {"A,-1.00,1\n", SeedError::kBadPrice, 1},
      {"A,1.999,1\n", SeedError::kBadPrice, 1},
      {"A,,1\n", SeedError::kBadPrice, 1},
      {"A,1,-5\n", SeedError::kBadQuantity, 1},
      {"A,1,1.5\n", SeedError::kBadQuantity, 1},
      {"A,1,\n", SeedError::kBadQuantity, 1},
      {"A,1,2147483648\n", SeedError::kBadQuantity, 1},
      {"A,1,99999999999999999999\n", SeedError::kBadQuantity, 1},
      {"name,price,quantity\nA,1,1\n\nA,2,2\n", SeedError::kDuplicateName, 4},
  };
  for (const BadCsv& c : cases) {
    const SeedResult r = parse_catalog_csv(c.text);
    EXPECT_EQ(r.error, c.error) << c.text << " -> " << r.message;
    EXPECT_EQ(r.line, c.line) << c.text;
    EXPECT_FALSE(r.message.empty());
    EXPECT_TRUE(r.items.empty());
    if (c.line > 0) {
      EXPECT_EQ(r.message.rfind("line " + std::to_string(c.line) + ":", 0), 0u) << r.message;
    }
  }
}

TEST(CatalogSeed, CsvRefusesMoreItemsThanAListReplyCarries) {
  std::string text;
  for (std::size_t i = 0; i <= proto::kMaxListItems; ++i) {
    text += "item" + std::to_string(i) + ",1,1\n";
  }
  const SeedResult r = parse_catalog_csv(text);
  EXPECT_EQ(r.error, SeedError::kTooManyItems);
  EXPECT_EQ(r.line, proto::kMaxListItems + 1);
}

TEST(CatalogSeed, CsvFileLoadsAndUnreadableFileIsAnError) {
  const std::string path =
      testing::TempDir() + "bazaar_catalog_seed_" + std::to_string(::getpid()) + ".csv";
  {
    std::ofstream out(path);
    out << "name,price,quantity\nWidget,1.50,7\n";
  }
  const SeedResult good = load_seed(path);
  ASSERT_TRUE(good.ok()) << good.message;
  ASSERT_EQ(good.items.size(), 1u);
  EXPECT_EQ(good.items[0].name, "Widget");
  std::remove(path.c_str());

  const SeedResult missing = load_seed(path);
  EXPECT_EQ(missing.error, SeedError::kUnreadable);
  EXPECT_NE(missing.message.find(path), std::string::npos) << missing.message;

  const SeedResult dir = load_seed(testing::TempDir());
  EXPECT_EQ(dir.error, SeedError::kUnreadable) << dir.message;
}

}  // namespace
}  // namespace bazaar::catalog
