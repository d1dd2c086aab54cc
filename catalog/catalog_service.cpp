#include "catalog/catalog_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <string_view>
#include <unordered_map>
#include <zmq_addon.hpp>

#include "catalog/request_handler.h"
#include "common/cli.h"
#include "common/socket_policy.h"
#include "common/stop_signal.h"
#include "common/zap_handler.h"
#include "common/zmq_util.h"

namespace bazaar::catalog {

namespace {

// Messages moved per socket per poll round: enough to drain a burst, few enough that one busy
// direction cannot starve the other.
constexpr int kForwardBatch = 256;

// zmq::poll, with a signal's EINTR read as "nothing ready" (the caller checks the stop flag).
int poll_for(zmq::pollitem_t* items, std::size_t n, std::chrono::milliseconds timeout) {
  try {
    return zmq::poll(items, n, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return 0;
    throw;
  }
}

// Moves up to kForwardBatch whole replies from the workers to the clients. Never blocks: a
// ROUTER drops a reply whose client is gone or whose queue is full, and the client's deadline and
// retry (Lazy Pirate) cover it.
void forward_replies(zmq::socket_t& backend, zmq::socket_t& frontend) {
  for (int i = 0; i < kForwardBatch; ++i) {
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(backend, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
      return;
    }
    (void)zmq::send_multipart(frontend, parts, zmq::send_flags::dontwait);
  }
}

}  // namespace

CatalogService::CatalogService(CatalogConfig config)
    : config_(std::move(config)),
      incarnation_(config_.incarnation != 0 ? config_.incarnation : common::new_incarnation()),
      backend_endpoint_("inproc://catalog-workers-" + std::to_string(incarnation_)),
      ctx_(1),
      frontend_(ctx_, zmq::socket_type::router),
      backend_(ctx_, zmq::socket_type::dealer) {
  if (config_.workers < 1 || config_.workers > kMaxWorkers) {
    throw common::StartupError("--workers must be 1.." + std::to_string(kMaxWorkers));
  }
  // Sockets before the database: a busy port or a malformed endpoint must not leave a fresh
  // database behind.
  common::configure_socket(frontend_);
  common::configure_socket(backend_);
  // With CURVE, this context's ZAP handler admits only the cluster's client key (SECURITY.md).
  if (const auto& curve = common::socket_policy().curve) {
    common::ZapHandler::start(ctx_, curve->client_public);
  }
  common::bind_or_throw(frontend_, config_.endpoint, "catalog endpoint");
  common::bind_or_throw(backend_, backend_endpoint_, "catalog worker endpoint");
  if (!config_.bus.empty()) {
    publisher_ =
        std::make_unique<common::EventPublisher>(ctx_, config_.bus, "catalog", incarnation_);
  }
  // The first open creates and seeds a new database; the others find it made.
  stores_.push_back(std::make_unique<ItemStore>(config_.db_path, config_.seed, config_.seed_label));
  created_ = stores_.front()->created();
  db_seed_label_ = stores_.front()->seed_label();
  item_count_ = stores_.front()->count();
  if (item_count_ < 0) {
    throw common::StartupError("database " + config_.db_path + ": cannot count the items");
  }
  restock_interval_ = config_.restock_interval.value_or(default_restock_interval(db_seed_label_));
  const int n_stores = config_.workers + (restock_interval_.count() > 0 ? 1 : 0);
  while (static_cast<int>(stores_.size()) < n_stores) {
    stores_.push_back(
        std::make_unique<ItemStore>(config_.db_path, config_.seed, config_.seed_label));
  }
  if (CatalogMetrics* m = config_.metrics) {
    for (auto& store : stores_) {
      store->set_commit_observer(
          [m](std::chrono::steady_clock::duration d) { m->observe_commit(d); });
    }
  }
}

CatalogService::~CatalogService() {
  stop();
  join_all();
}

std::chrono::milliseconds CatalogService::default_restock_interval(const std::string& seed_label) {
  return seed_label == "toys" ? std::chrono::seconds(10) : std::chrono::milliseconds(0);
}

std::string CatalogService::bound_endpoint() const {
  return frontend_.get(zmq::sockopt::last_endpoint);
}

bool CatalogService::stopping() const {
  return stop_.load() || common::stop_requested();
}

bool CatalogService::run() {
  // A loop that throws (a bug, or ZeroMQ out of file descriptors) stops the whole service rather
  // than leaving it half-alive; run() then reports the failure to main.
  const auto guarded = [this](const char* what, auto loop) {
    return [this, what, loop] {
      try {
        loop();
      } catch (const std::exception& e) {
        spdlog::critical("{} failed: {}; stopping", what, e.what());
        failed_.store(true);
        stop();
      }
    };
  };
  for (int i = 0; i < config_.workers; ++i) {
    ItemStore* store = stores_[static_cast<std::size_t>(i)].get();
    threads_.emplace_back(guarded("worker", [this, store] { worker_loop(*store); }));
  }
  if (restock_interval_.count() > 0) {
    ItemStore* store = stores_.back().get();
    threads_.emplace_back(guarded("restock", [this, store] { restock_loop(*store); }));
  }
  guarded("proxy", [this] { proxy_loop(); })();
  stop();  // whoever ended the proxy loop, make sure the other loops end too
  join_all();
  return !failed_.load();
}

void CatalogService::join_all() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void CatalogService::proxy_loop() {
  // A request the workers cannot take yet (none connected yet at start-up, or all their queues
  // full) waits here, and while it does the proxy reads no more requests: the backlog stays in
  // the ROUTER's bounded queue and then in TCP, instead of being dropped.
  std::vector<zmq::message_t> pending;
  while (!stopping()) {
    zmq::pollitem_t items[] = {
        {frontend_.handle(), 0, static_cast<short>(pending.empty() ? ZMQ_POLLIN : 0), 0},
        {backend_.handle(), 0, static_cast<short>(ZMQ_POLLIN | (pending.empty() ? 0 : ZMQ_POLLOUT)),
         0}};
    if (poll_for(items, 2, kPollInterval) <= 0) continue;
    if (items[1].revents & ZMQ_POLLIN) forward_replies(backend_, frontend_);
    if (!pending.empty()) {
      if (!zmq::send_multipart(backend_, pending, zmq::send_flags::dontwait)) continue;
      pending.clear();
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    for (int i = 0; i < kForwardBatch; ++i) {
      std::vector<zmq::message_t> parts;
      if (!zmq::recv_multipart(frontend_, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
        break;
      }
      if (!zmq::send_multipart(backend_, parts, zmq::send_flags::dontwait)) {
        pending = std::move(parts);
        break;
      }
    }
  }
}

void CatalogService::worker_loop(ItemStore& store) {
  RequestHandler handler(store, incarnation_, config_.metrics);
  // Rebuilt after a failed send: a REP socket that could not send stays stuck in "send" state.
  auto make_socket = [this] {
    auto s = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::rep);
    common::configure_socket(*s);
    // Bounded send: the proxy drains the backend every poll round, so this only trips when the
    // whole process is wedged; then the reply is dropped and the client's deadline covers it.
    s->set(zmq::sockopt::sndtimeo, 1000);
    s->connect(backend_endpoint_);
    return s;
  };
  auto socket = make_socket();
  while (!stopping()) {
    zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    if (poll_for(&item, 1, kPollInterval) <= 0) continue;
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(*socket, std::back_inserter(parts), zmq::recv_flags::dontwait)) {
      continue;
    }
    std::string reply;
    if (parts.size() != 1) {
      reply = encode_error(proto::Status::kBadRequest,
                           "expected a one-frame request, got " + std::to_string(parts.size()));
    } else {
      try {
        HandlerResult result = handler.handle(parts[0].to_string_view());
        publish_changes(result.changed);
        reply = std::move(result.reply);
      } catch (const std::exception& e) {
        // The handler and store return errors as values; this is a bug or out of memory.
        // Answer anyway so the client is not left waiting, and keep serving.
        spdlog::error("request failed: {}", e.what());
        reply = encode_error(proto::Status::kInternal, "internal error");
      }
    }
    if (!socket->send(zmq::buffer(reply), zmq::send_flags::none)) {
      spdlog::warn("worker: reply not sent within 1 s, dropped");
      socket = make_socket();
    }
  }
}

void CatalogService::restock_loop(ItemStore& store) {
  const auto interval = restock_interval_;
  auto next = std::chrono::steady_clock::now() + interval;
  while (!stopping()) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next) {
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(next - now, kPollInterval));
      continue;
    }
    RestockResult r = store.restock(config_.restock_to);
    if (r.status != proto::Status::kOk) {
      spdlog::warn("restock failed ({}); trying again at the next tick",
                   proto::to_string(r.status));
    } else if (!r.changed.empty()) {
      std::string names;
      for (const proto::Item& item : r.changed) names += (names.empty() ? "" : ", ") + item.name;
      spdlog::info("restocked {} item(s) to {}: {}", r.changed.size(), config_.restock_to, names);
      publish_changes(r.changed);
    }
    // Fixed rate, but never a burst of catch-up ticks after a stall.
    next += interval;
    if (next <= now) next = now + interval;
  }
}

void CatalogService::publish_changes(const std::vector<proto::Item>& items) {
  if (!publisher_) return;
  // One event per item and batch: a later trade of the same item in this batch carries a newer
  // version, and a cache only needs the newest (fills are fenced by version, G4). Under load this
  // halves the events the broker and every front end handle.
  std::unordered_map<std::string_view, std::size_t> last;
  for (std::size_t k = 0; k < items.size(); ++k) last[items[k].name] = k;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const proto::Item& item = items[k];
    if (last[item.name] != k) continue;
    proto::Invalidation inv;
    inv.name = item.name;
    inv.version = item.version;
    publisher_->publish(proto::kTopicInvalidation, std::move(inv));
    if (config_.metrics) config_.metrics->count_invalidation();
  }
}

}  // namespace bazaar::catalog
