#include "storefront/static_assets.h"

#include <cstdint>

namespace bazaar::storefront {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  if (ends_with(name, ".html")) return kHtmlContentType;
  if (ends_with(name, ".css")) return kCssContentType;
  if (ends_with(name, ".js")) return kJsContentType;
  return kOctetContentType;
}

std::string make_etag(std::string_view body) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) tag += kHex[(h >> shift) & 0xF];
  tag += '"';
  return tag;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  std::string_view rest = if_none_match;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (entry == "*") return true;
    if (entry.substr(0, 2) == "W/") entry.remove_prefix(2);
    if (!entry.empty() && entry == etag) return true;
  }
  return false;
}

StaticAssets::StaticAssets(const std::vector<EmbeddedFile>& files, std::string_view edition) {
  for (const auto& f : files) {
    StaticAsset a;
    a.name = f.name;
    a.content_type = content_type_for(a.name);
    a.body.assign(f.data, f.size);
    if (a.content_type == kHtmlContentType) a.body = replace_all(a.body, "{{EDITION}}", edition);
    a.etag = make_etag(a.body);
    assets_.push_back(std::move(a));
  }
}

const StaticAsset* StaticAssets::find(std::string_view name) const {
  for (const auto& a : assets_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void add_page_headers(httpd::HttpResponse& reply) {
  reply.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply.headers.emplace_back("Referrer-Policy", "no-referrer");
}

httpd::HttpResponse asset_reply(const StaticAsset& asset, const std::string* if_none_match) {
  httpd::HttpResponse r;
  r.content_type = asset.content_type;
  r.headers.emplace_back("ETag", asset.etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  add_page_headers(r);
  if (if_none_match != nullptr && etag_matches(*if_none_match, asset.etag)) {
    r.status = 304;  // the body stays empty; Beast sends no Content-Length body for a 304
    return r;
  }
  r.body = asset.body;
  return r;
}

}  // namespace bazaar::storefront
