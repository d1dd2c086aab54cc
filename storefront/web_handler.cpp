#include "storefront/web_handler.h"

#include <chrono>

#include "common/exposition.h"
#include "httpd/error_reply.h"

namespace bazaar::storefront {

namespace {

using Clock = std::chrono::steady_clock;

std::string_view path_of(std::string_view target) {
  const auto end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A client that asks for JSON and not for HTML (curl -H 'Accept: application/json', fetch());
// a browser navigating asks for text/html first.
bool wants_json(const httpd::HttpRequest& request) {
  const std::string* accept = request.header("Accept");
  if (accept == nullptr) return false;
  return accept->find("application/json") != std::string::npos &&
         accept->find("text/html") == std::string::npos;
}

}  // namespace

const char* to_string(WebRoute route) {
  switch (route) {
    case WebRoute::kStore:
      return "store";
    case WebRoute::kClusterPage:
      return "cluster";
    case WebRoute::kClusterJson:
      return "cluster_json";
    case WebRoute::kAsset:
      return "asset";
    case WebRoute::kEvents:
      return "events";
    case WebRoute::kCount:
      break;
  }
  return "?";
}

WebHandler::WebHandler(httpd::HttpRequestHandler& next, const StaticAssets& assets,
                       httpd::EventHub* hub, ClusterSource cluster, RateWindow* orders,
                       httpd::EventStreamOptions stream)
    : next_(next),
      assets_(assets),
      hub_(hub),
      cluster_(std::move(cluster)),
      orders_(orders),
      stream_(stream) {}

std::optional<WebRoute> WebHandler::classify(const httpd::HttpRequest& request) {
  const std::string_view path = path_of(request.target);
  if (path == "/") return WebRoute::kStore;
  if (path == "/cluster")
    return wants_json(request) ? WebRoute::kClusterJson : WebRoute::kClusterPage;
  if (path == "/cluster.json") return WebRoute::kClusterJson;
  if (path == "/events") return WebRoute::kEvents;
  if (path.substr(0, 8) == "/assets/") return WebRoute::kAsset;
  return std::nullopt;
}

httpd::HttpResponse WebHandler::reply(WebRoute route, const httpd::HttpRequest& request) {
  if (request.method != "GET") return httpd::method_not_allowed("GET");
  const std::string* inm = request.header("If-None-Match");
  auto page = [&](std::string_view name) {
    const StaticAsset* asset = assets_.find(name);
    if (asset == nullptr) return httpd::error_reply(404, "no page " + std::string(name));
    httpd::HttpResponse r = asset_reply(*asset, inm);
    if (r.status == 304) not_modified_.fetch_add(1, std::memory_order_relaxed);
    return r;
  };
  switch (route) {
    case WebRoute::kStore:
      return page("index.html");
    case WebRoute::kClusterPage:
      return page("cluster.html");
    case WebRoute::kAsset: {
      const std::string_view name = path_of(request.target).substr(8);
      // Only the scripts and styles are assets; the pages have their own routes.
      if (name.find('/') != std::string_view::npos ||
          !(ends_with(name, ".js") || ends_with(name, ".css"))) {
        return httpd::error_reply(404, "no asset " + std::string(name));
      }
      return page(name);
    }
    case WebRoute::kClusterJson: {
      if (!cluster_) return httpd::error_reply(404, "no cluster view");
      httpd::HttpResponse r;
      r.body = cluster_json(cluster_());
      r.headers.emplace_back("Cache-Control", "no-store");
      add_page_headers(r);
      return r;
    }
    case WebRoute::kEvents: {
      if (hub_ == nullptr) return httpd::error_reply(404, "no event stream");
      auto sub = hub_->subscribe();
      if (!sub) {
        return httpd::error_reply(503, "too many event streams open (--max-event-streams " +
                                           std::to_string(hub_->options().max_streams) +
                                           "), try again");
      }
      httpd::HttpResponse r;
      r.stream = std::make_shared<httpd::EventStreamHandoff>(std::move(sub), stream_);
      return r;
    }
    case WebRoute::kCount:
      break;
  }
  return httpd::error_reply(404, "no route");
}

void WebHandler::handle(httpd::HttpRequest request, httpd::ReplyCallback done) {
  if (const auto route = classify(request)) {
    served_[static_cast<std::size_t>(*route)].fetch_add(1, std::memory_order_relaxed);
    done(reply(*route, request));
    return;
  }
  if (orders_ != nullptr && request.method == "POST" && path_of(request.target) == "/orders") {
    // Timed here for the chart, from the request to its reply, whatever path it takes inside.
    done = [orders = orders_, start = Clock::now(),
            inner = std::move(done)](httpd::HttpResponse r) {
      const auto now = Clock::now();
      orders->record(now, now - start, r.status >= 500);
      inner(std::move(r));
    };
  }
  next_.handle(std::move(request), std::move(done));
}

std::vector<prometheus::MetricFamily> WebHandler::metric_families() const {
  std::vector<std::pair<std::string, double>> pages;
  for (std::size_t i = 0; i < served_.size(); ++i) {
    pages.emplace_back(to_string(static_cast<WebRoute>(i)),
                       static_cast<double>(served_[i].load(std::memory_order_relaxed)));
  }
  return {
      common::labelled_family(
          "bazaar_web_requests_total",
          "Requests for the pages, their assets, the cluster view and the event stream.",
          prometheus::MetricType::Counter, "page", pages),
      common::single_family("bazaar_web_not_modified_total",
                            "Pages and assets answered 304 (If-None-Match).",
                            prometheus::MetricType::Counter,
                            static_cast<double>(not_modified_.load(std::memory_order_relaxed))),
  };
}

}  // namespace bazaar::storefront
