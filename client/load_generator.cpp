#include "client/load_generator.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace bazaar::client {

namespace {

using Clock = std::chrono::steady_clock;

bool parse_weight(std::string_view text, double& out) {
  if (text.empty() || text.size() > 32) return false;
  const std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out) && out >= 0;
}

// Draws the bar: "[#####.....]  50%  12345 requests  3 errors".
void draw_progress(double fraction, std::uint64_t requests, std::uint64_t errors) {
  constexpr int kWidth = 30;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r[%s] %3d%%  %llu requests  %llu errors ", bar.c_str(),
               static_cast<int>(fraction * 100), static_cast<unsigned long long>(requests),
               static_cast<unsigned long long>(errors));
  std::fflush(stderr);
}

}  // namespace

std::optional<RequestMix> parse_mix(std::string_view text, std::string& why) {
  RequestMix mix;
  bool any = false;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto eq = part.find('=');
    double w = 0;
    if (eq == std::string_view::npos || !parse_weight(part.substr(eq + 1), w)) {
      // Appended piece by piece: GCC 12 warns (-Wrestrict, falsely) on "'" + std::string(...).
      std::string message(1, '\'');
      message.append(part).append("' is not TYPE=WEIGHT with a non-negative number");
      why = std::move(message);
      return std::nullopt;
    }
    const std::string_view type = part.substr(0, eq);
    if (type == "lookup") {
      mix.lookup = w;
    } else if (type == "order") {
      mix.order = w;
    } else if (type == "query") {
      mix.query = w;
    } else if (type == "list") {
      mix.list = w;
    } else {
      std::string message("unknown request type '");
      message.append(type).append("' (lookup, order, query, list)");
      why = std::move(message);
      return std::nullopt;
    }
    any = any || w > 0;
  }
  if (!any) {
    why = "give at least one request type a weight above zero";
    return std::nullopt;
  }
  return mix;
}

LoadGenerator::LoadGenerator(LoadOptions options) : options_(std::move(options)) {}

LoadReport LoadGenerator::run() {
  const int clients = std::max(1, options_.clients);
  const auto start = Clock::now();
  const auto start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  const bool timed_run = options_.duration.count() > 0;
  const auto deadline = start + options_.duration;

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> iterations_done{0};
  std::atomic<bool> finished{false};

  std::vector<std::unique_ptr<HttpClient>> https;
  std::vector<std::unique_ptr<SessionClient>> sessions;
  std::vector<std::unique_ptr<LoadReport>> partials;
  for (int k = 0; k < clients; ++k) {
    https.push_back(std::make_unique<HttpClient>(options_.url, options_.timeout));
    partials.push_back(std::make_unique<LoadReport>(start, options_.interval));
    SessionOptions so = options_.session;
    so.seed = options_.session.seed + static_cast<std::uint64_t>(k);
    so.verify_at_once = true;
    LoadReport* partial = partials.back().get();
    sessions.push_back(std::make_unique<SessionClient>(
        *https.back(), so, [partial, &requests, &errors](const RequestSample& s) {
          partial->record(s);
          requests.fetch_add(1, std::memory_order_relaxed);
          const bool failed =
              s.error != HttpClientError::kNone || s.bad_reply || s.status < 200 || s.status >= 300;
          if (failed) errors.fetch_add(1, std::memory_order_relaxed);
        }));
  }

  auto worker = [&](int k) {
    SessionClient& session = *sessions[static_cast<std::size_t>(k)];
    std::mt19937_64 rng(options_.session.seed ^ (0x9e3779b97f4a7c15ull * (k + 1)));
    const RequestMix mix = options_.mix.value_or(RequestMix{});
    std::discrete_distribution<int> pick({mix.lookup, mix.order, mix.query, mix.list});
    for (std::uint64_t i = 0;; ++i) {
      if (timed_run ? Clock::now() >= deadline : i >= options_.iterations) break;
      StepOutcome r = StepOutcome::kOk;
      if (!options_.mix) {
        r = session.step();
      } else {
        switch (pick(rng)) {
          case 0:
            r = session.lookup_random();
            break;
          case 1:
            r = session.order_random();
            break;
          case 2:
            r = session.query_random();
            break;
          default:
            r = session.list();
            break;
        }
      }
      iterations_done.fetch_add(1, std::memory_order_relaxed);
      if (r == StepOutcome::kTransportError)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };

  std::thread progress;
  if (options_.progress) {
    progress = std::thread([&] {
      const double total_iterations =
          static_cast<double>(options_.iterations) * static_cast<double>(clients);
      while (!finished.load()) {
        const double fraction = timed_run ? std::chrono::duration<double>(Clock::now() - start) /
                                                std::chrono::duration<double>(options_.duration)
                                          : static_cast<double>(iterations_done.load()) /
                                                std::max(1.0, total_iterations);
        draw_progress(fraction, requests.load(), errors.load());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      draw_progress(1.0, requests.load(), errors.load());
      std::fprintf(stderr, "\n");
    });
  }

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(clients));
  for (int k = 0; k < clients; ++k) threads.emplace_back(worker, k);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  finished.store(true);
  if (progress.joinable()) progress.join();

  LoadReport report(start, options_.interval);
  for (const auto& p : partials) report.merge(*p);
  for (const auto& s : sessions) report.add_session(*s);
  std::string workload;
  if (options_.mix) {
    const auto& m = *options_.mix;
    char buf[160];
    std::snprintf(buf, sizeof buf, "mix lookup=%g,order=%g,query=%g,list=%g", m.lookup, m.order,
                  m.query, m.list);
    workload = buf;
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, "session p=%g", options_.session.p);
    workload = buf;
  }
  report.describe(clients, elapsed, start_unix_ms, workload);
  return report;
}

}  // namespace bazaar::client
