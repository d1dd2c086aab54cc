// The browser side of the front end: the storefront (GET /), the cluster page (GET /cluster,
// GET /cluster.json), the push stream (GET /events) and their assets, in front of the REST API.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "httpd/event_hub.h"
#include "httpd/event_stream_writer.h"
#include "httpd/http_request_handler.h"
#include "storefront/cluster_view.h"
#include "storefront/rate_window.h"
#include "storefront/static_assets.h"

namespace bazaar::storefront {

/// Assembles the cluster view when /cluster.json is asked for; must not block (it reads what
/// the ClusterMonitor found last). Thread-safe.
using ClusterSource = std::function<ClusterSnapshot()>;

/// What a request is, as far as the pages go.
enum class WebRoute : std::uint8_t {
  kStore,        // GET /
  kClusterPage,  // GET /cluster (HTML)
  kClusterJson,  // GET /cluster with Accept: application/json, GET /cluster.json
  kAsset,        // GET /assets/<file>.css|.js
  kEvents,       // GET /events
  kCount,
};

const char* to_string(WebRoute route);

/// A httpd::HttpRequestHandler in front of another (the API dispatcher): answers the web routes
/// itself on the I/O thread (nothing of theirs waits on a service) and passes every other request
/// on untouched. It also times POST /orders for the cluster page's chart. Thread-safe.
class WebHandler : public httpd::HttpRequestHandler {
 public:
  /// Everything must outlive the handler; `hub`, `orders` may be null (no /events: 404; no
  /// chart), `cluster` may be empty (/cluster.json: 404).
  WebHandler(httpd::HttpRequestHandler& next, const StaticAssets& assets, httpd::EventHub* hub,
             ClusterSource cluster, RateWindow* orders, httpd::EventStreamOptions stream);

  void handle(httpd::HttpRequest request, httpd::ReplyCallback done) override;
  void on_rejected(unsigned status) override { next_.on_rejected(status); }

  /// Which web route `request` is, or nothing (an API request). Pure.
  static std::optional<WebRoute> classify(const httpd::HttpRequest& request);

  /// The reply to a web request (classify() gave `route`); a GET /events reply carries the
  /// stream handoff, or is 503 when --max-event-streams are open.
  httpd::HttpResponse reply(WebRoute route, const httpd::HttpRequest& request);

  /// bazaar_web_requests_total{page} and bazaar_web_not_modified_total, appended to /metrics.
  std::vector<prometheus::MetricFamily> metric_families() const;

 private:
  httpd::HttpRequestHandler& next_;
  const StaticAssets& assets_;
  httpd::EventHub* const hub_;
  const ClusterSource cluster_;
  RateWindow* const orders_;
  const httpd::EventStreamOptions stream_;
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(WebRoute::kCount)> served_{};
  std::atomic<std::uint64_t> not_modified_{0};
};

}  // namespace bazaar::storefront
