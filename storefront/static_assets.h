// The pages of the front end (storefront, cluster view), compiled into the binary, and the
// conditional-GET rules they are served with.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "httpd/http_message.h"

namespace bazaar::storefront {

inline constexpr std::string_view kHtmlContentType = "text/html; charset=utf-8";
inline constexpr std::string_view kCssContentType = "text/css; charset=utf-8";
inline constexpr std::string_view kJsContentType = "text/javascript; charset=utf-8";
inline constexpr std::string_view kOctetContentType = "application/octet-stream";

/// Every page and asset is served with this policy: scripts and styles only as files from this
/// origin (no inline script or style, no eval), connections only to this origin, no frames, no
/// plugins, nothing else (images, fonts, media) at all.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One file of storefront/web as compiled in (the generated web_assets.cpp).
struct EmbeddedFile {
  const char* name;  // file name, e.g. "store.js"
  const char* data;
  std::size_t size;
};

/// The files compiled in, in storefront/web's order.
const std::vector<EmbeddedFile>& embedded_files();

/// One servable file with its validator.
struct StaticAsset {
  std::string name;
  std::string_view content_type;  // one of the constants above
  std::string body;
  std::string etag;  // strong, quoted: "\"<16 hex digits>\""
};

/// The set of assets, built once at start-up; read-only afterwards, so thread-safe.
class StaticAssets {
 public:
  /// `files` as they are, except that "{{EDITION}}" in an .html file becomes `edition`
  /// ("products" or "stocks": the REST collection the storefront lists and buys from).
  StaticAssets(const std::vector<EmbeddedFile>& files, std::string_view edition);

  /// The asset named `name` (a file name, e.g. "index.html"), or nullptr.
  const StaticAsset* find(std::string_view name) const;

  const std::vector<StaticAsset>& all() const { return assets_; }

 private:
  std::vector<StaticAsset> assets_;
};

/// The content type for a file name, by its extension.
std::string_view content_type_for(std::string_view name);

/// A strong ETag of `body`: FNV-1a 64 in hex, quoted. Stable across runs and builds.
std::string make_etag(std::string_view body);

/// True when an If-None-Match value names `etag`: "*", or a comma-separated list in which one
/// entry (weak "W/" prefix ignored, as RFC 9110 13.1.2 asks for GET) equals it.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

/// 200 with the asset, or 304 (no body) when `if_none_match` (may be null) names its ETag.
/// Either way with ETag, Cache-Control: no-cache (revalidate every time: a new binary shows at
/// once), the Content-Security-Policy and nosniff.
httpd::HttpResponse asset_reply(const StaticAsset& asset, const std::string* if_none_match);

/// The security headers every page reply carries (also the JSON of /cluster).
void add_page_headers(httpd::HttpResponse& reply);

}  // namespace bazaar::storefront
