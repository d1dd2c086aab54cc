#include "client/replies.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace bazaar::client {

using nlohmann::json;

namespace {

// Parses the body and finds its "data" member; kOk leaves it in `data`.
ReplyParse data_of(std::string_view body, json& doc, const json*& data, std::string& why) {
  doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return ReplyParse::kNotJson;
  if (!doc.is_object()) {
    why = "reply is not a JSON object";
    return ReplyParse::kBadShape;
  }
  const auto it = doc.find("data");
  if (it == doc.end()) {
    why = "reply has no \"data\"";
    return ReplyParse::kBadShape;
  }
  data = &*it;
  return ReplyParse::kOk;
}

bool get_int(const json& obj, const char* key, std::int64_t& out) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return false;
  out = it->get<std::int64_t>();
  return true;
}

bool get_string(const json& obj, const char* key, std::string& out) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool item_from(const json& j, ItemView& out, std::string& why) {
  if (!j.is_object()) {
    why = "item is not an object";
    return false;
  }
  const auto price = j.find("price");
  if (!get_string(j, "name", out.name) || price == j.end() || !price->is_number() ||
      !get_int(j, "quantity", out.quantity)) {
    why = "item lacks name, price or an integer quantity";
    return false;
  }
  out.price = price->get<double>();
  return true;
}

}  // namespace

ReplyParse parse_item(std::string_view body, ItemView& out, std::string& why) {
  json doc;
  const json* data = nullptr;
  if (const auto r = data_of(body, doc, data, why); r != ReplyParse::kOk) return r;
  return item_from(*data, out, why) ? ReplyParse::kOk : ReplyParse::kBadShape;
}

ReplyParse parse_item_list(std::string_view body, std::vector<ItemView>& out, std::string& why) {
  json doc;
  const json* data = nullptr;
  if (const auto r = data_of(body, doc, data, why); r != ReplyParse::kOk) return r;
  if (!data->is_array()) {
    why = "\"data\" is not a list";
    return ReplyParse::kBadShape;
  }
  out.clear();
  for (const auto& j : *data) {
    ItemView item;
    if (!item_from(j, item, why)) return ReplyParse::kBadShape;
    out.push_back(std::move(item));
  }
  return ReplyParse::kOk;
}

ReplyParse parse_order_ack(std::string_view body, std::int64_t& number, std::string& why) {
  json doc;
  const json* data = nullptr;
  if (const auto r = data_of(body, doc, data, why); r != ReplyParse::kOk) return r;
  std::int64_t transaction = -1;
  std::int64_t order = -1;
  if (!data->is_object() || !get_int(*data, "transaction_number", transaction) ||
      !get_int(*data, "order_number", order)) {
    why = "order reply lacks an integer transaction_number or order_number";
    return ReplyParse::kBadShape;
  }
  // Both editions' keys name the same order (DESIGN.md section 3): two numbers are a bug.
  if (transaction != order || order < 0) {
    why = "order reply has transaction_number " + std::to_string(transaction) +
          " and order_number " + std::to_string(order);
    return ReplyParse::kBadShape;
  }
  number = order;
  return ReplyParse::kOk;
}

ReplyParse parse_order(std::string_view body, OrderView& out, std::string& why) {
  json doc;
  const json* data = nullptr;
  if (const auto r = data_of(body, doc, data, why); r != ReplyParse::kOk) return r;
  if (!data->is_object() || !get_int(*data, "number", out.number) ||
      !get_string(*data, "name", out.name) || !get_string(*data, "type", out.type) ||
      !get_int(*data, "quantity", out.quantity)) {
    why = "order lacks number, name, type or quantity";
    return ReplyParse::kBadShape;
  }
  return ReplyParse::kOk;
}

std::string error_message(std::string_view body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return "";
  const auto err = doc.find("error");
  if (err == doc.end() || !err->is_object()) return "";
  std::string message;
  get_string(*err, "message", message);
  return message;
}

std::string compare_orders(const OrderView& recorded, const OrderView& fetched) {
  if (recorded == fetched) return "";
  const auto show = [](const OrderView& o) {
    return "#" + std::to_string(o.number) + " " + o.type + " " + std::to_string(o.quantity) + " " +
           o.name;
  };
  return "order " + std::to_string(recorded.number) + ": recorded " + show(recorded) +
         ", server has " + show(fetched);
}

bool looks_like_stocks(const std::vector<std::string>& names) {
  static constexpr std::array<std::string_view, 10> kStocks = {
      "GameStart",  "FishCo",    "BoarCo",     "MenhirCo",     "CrassusRealty",
      "AsterixInc", "ObelixLtd", "IdefixPets", "DruidPotions", "RomanRoads"};
  if (names.empty()) return false;
  return std::all_of(names.begin(), names.end(), [](const std::string& n) {
    return std::find(kStocks.begin(), kStocks.end(), n) != kStocks.end();
  });
}

}  // namespace bazaar::client
