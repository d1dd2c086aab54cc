#include "client/load_report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace bazaar::client {

namespace {

constexpr std::array<RequestKind, kRequestKinds> kKinds = {
    RequestKind::kLookup, RequestKind::kOrder, RequestKind::kQuery, RequestKind::kList};

double ms(std::uint64_t micros) {
  return static_cast<double>(micros) / 1000.0;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Why a request failed, or "" when it succeeded.
std::string cause_of(const RequestSample& s) {
  switch (s.error) {
    case HttpClientError::kNone:
      break;
    case HttpClientError::kTimeout:
      return "timeout";
    case HttpClientError::kConnect:
      return "connect";
    case HttpClientError::kResolve:
    case HttpClientError::kBadUrl:
      return "resolve";
    case HttpClientError::kIo:
      return "io";
    case HttpClientError::kBadReply:
      return "bad-reply";
  }
  if (s.bad_reply) return "bad-reply";
  if (s.status < 200 || s.status >= 300) return std::to_string(s.status);
  return "";
}

std::string causes(const KindFigures& f) {
  std::string out;
  for (const auto& [cause, n] : f.errors) {
    if (!out.empty()) out += ' ';
    out += cause + ":" + std::to_string(n);
  }
  return out;
}

}  // namespace

std::uint64_t KindFigures::error_count() const {
  std::uint64_t n = 0;
  for (const auto& [cause, n_cause] : errors) n += n_cause;
  return n;
}

LoadReport::LoadReport(std::chrono::steady_clock::time_point start,
                       std::chrono::milliseconds interval)
    : start_(start), interval_(interval.count() > 0 ? interval : std::chrono::milliseconds(1000)) {}

void LoadReport::record(const RequestSample& s) {
  auto& f = kinds_[static_cast<std::size_t>(s.kind)];
  ++f.count;
  const std::string cause = cause_of(s);
  if (!cause.empty()) ++f.errors[cause];
  const bool timed = s.error == HttpClientError::kNone || s.error == HttpClientError::kTimeout ||
                     s.error == HttpClientError::kBadReply;
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.latency.count()));
  if (timed) f.latency.record(micros);

  const auto since = s.finished - start_;
  if (since.count() < 0) return;
  const auto cell = static_cast<std::size_t>(since / interval_);
  if (cell >= kMaxCells) return;
  if (timeline_.size() <= cell) timeline_.resize(cell + 1);
  auto& c = timeline_[cell][static_cast<std::size_t>(s.kind)];
  ++c.count;
  if (!cause.empty()) ++c.errors;
  if (timed) {
    c.sum_us += micros;
    c.max_us = std::max(c.max_us, micros);
  }
}

void LoadReport::merge(const LoadReport& other) {
  for (std::size_t k = 0; k < kRequestKinds; ++k) {
    kinds_[k].count += other.kinds_[k].count;
    for (const auto& [cause, n] : other.kinds_[k].errors) kinds_[k].errors[cause] += n;
    kinds_[k].latency.merge(other.kinds_[k].latency);
  }
  if (timeline_.size() < other.timeline_.size()) timeline_.resize(other.timeline_.size());
  for (std::size_t i = 0; i < other.timeline_.size(); ++i) {
    for (std::size_t k = 0; k < kRequestKinds; ++k) {
      auto& a = timeline_[i][k];
      const auto& b = other.timeline_[i][k];
      a.count += b.count;
      a.errors += b.errors;
      a.sum_us += b.sum_us;
      a.max_us = std::max(a.max_us, b.max_us);
    }
  }
}

void LoadReport::add_session(const SessionClient& session) {
  const auto& c = session.counters();
  orders_.lookups += c.lookups;
  orders_.lookup_errors += c.lookup_errors;
  orders_.orders_sent += c.orders_sent;
  orders_.orders_acknowledged += c.orders_acknowledged;
  orders_.orders_refused += c.orders_refused;
  orders_.orders_unknown += c.orders_unknown;
  orders_.verified += c.verified;
  orders_.unverified += c.unverified;
  orders_.mismatches += c.mismatches;
  for (const auto& m : session.mismatch_messages()) {
    if (messages_.size() < SessionClient::kMaxMessages) messages_.push_back(m);
  }
  // G3 seen from the clients: no order number may be handed to two of them.
  for (const auto n : session.acknowledged_numbers()) {
    if (!numbers_.insert(n).second) {
      ++duplicates_;
      if (messages_.size() < SessionClient::kMaxMessages) {
        messages_.push_back("order number " + std::to_string(n) +
                            " was acknowledged to two clients");
      }
    }
  }
}

void LoadReport::describe(int clients, double elapsed_s, std::int64_t start_unix_ms,
                          std::string workload) {
  clients_ = clients;
  elapsed_s_ = elapsed_s;
  start_unix_ms_ = start_unix_ms;
  workload_ = std::move(workload);
}

std::uint64_t LoadReport::total_errors() const {
  std::uint64_t n = 0;
  for (const auto& f : kinds_) n += f.error_count();
  return n;
}

std::string LoadReport::text() const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-7s %9s %9s %7s %8s %8s %8s %8s %9s\n", "type", "count",
                "rate/s", "errors", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms");
  out << line;
  for (const auto kind : kKinds) {
    const auto& f = figures(kind);
    if (f.count == 0) continue;
    const auto& h = f.latency;
    std::snprintf(line, sizeof line, "%-7s %9llu %9.1f %7llu %8.2f %8.2f %8.2f %8.2f %9.2f\n",
                  to_string(kind), static_cast<unsigned long long>(f.count),
                  elapsed_s_ > 0 ? static_cast<double>(f.count) / elapsed_s_ : 0.0,
                  static_cast<unsigned long long>(f.error_count()), h.mean() / 1000.0,
                  ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.max()));
    out << line;
  }
  for (const auto kind : kKinds) {
    const auto& f = figures(kind);
    if (f.error_count() > 0) out << "errors " << to_string(kind) << ": " << causes(f) << "\n";
  }
  return out.str();
}

std::string LoadReport::csv() const {
  std::ostringstream out;
  out << "type,count,errors,rate_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors_by_cause\n";
  for (const auto kind : kKinds) {
    const auto& f = figures(kind);
    if (f.count == 0) continue;
    const auto& h = f.latency;
    out << to_string(kind) << ',' << f.count << ',' << f.error_count() << ','
        << fixed(elapsed_s_ > 0 ? static_cast<double>(f.count) / elapsed_s_ : 0.0, 1) << ','
        << fixed(h.mean() / 1000.0, 3) << ',' << fixed(ms(h.percentile(50)), 3) << ','
        << fixed(ms(h.percentile(90)), 3) << ',' << fixed(ms(h.percentile(99)), 3) << ','
        << fixed(ms(h.max()), 3) << ',' << causes(f) << '\n';
  }
  return out.str();
}

std::string LoadReport::json() const {
  nlohmann::ordered_json j;
  j["clients"] = clients_;
  j["elapsed_s"] = elapsed_s_;
  j["start_unix_ms"] = start_unix_ms_;
  j["workload"] = workload_;
  nlohmann::ordered_json requests = nlohmann::ordered_json::object();
  for (const auto kind : kKinds) {
    const auto& f = figures(kind);
    if (f.count == 0) continue;
    const auto& h = f.latency;
    nlohmann::ordered_json errors = nlohmann::ordered_json::object();
    for (const auto& [cause, n] : f.errors) errors[cause] = n;
    requests[to_string(kind)] = {
        {"count", f.count},
        {"errors", f.error_count()},
        {"errors_by_cause", errors},
        {"rate_per_s", elapsed_s_ > 0 ? static_cast<double>(f.count) / elapsed_s_ : 0.0},
        {"mean_ms", h.mean() / 1000.0},
        {"p50_ms", ms(h.percentile(50))},
        {"p90_ms", ms(h.percentile(90))},
        {"p99_ms", ms(h.percentile(99))},
        {"max_ms", ms(h.max())},
    };
  }
  j["requests"] = requests;
  j["orders"] = {{"sent", orders_.orders_sent},       {"acknowledged", orders_.orders_acknowledged},
                 {"refused", orders_.orders_refused}, {"without_reply", orders_.orders_unknown},
                 {"verified", orders_.verified},      {"unverified", orders_.unverified},
                 {"mismatches", orders_.mismatches},  {"duplicate_numbers", duplicates_}};
  j["mismatch_messages"] = messages_;
  return j.dump(2) + "\n";
}

std::string LoadReport::timeline_csv() const {
  std::ostringstream out;
  out << "t_s,type,count,errors,mean_ms,max_ms\n";
  const double width = static_cast<double>(interval_.count()) / 1000.0;
  for (std::size_t i = 0; i < timeline_.size(); ++i) {
    for (const auto kind : kKinds) {
      const auto& c = timeline_[i][static_cast<std::size_t>(kind)];
      if (c.count == 0) continue;
      const double mean = static_cast<double>(c.sum_us) / static_cast<double>(c.count) / 1000.0;
      out << fixed(static_cast<double>(i) * width, 3) << ',' << to_string(kind) << ',' << c.count
          << ',' << c.errors << ',' << fixed(mean, 3) << ',' << fixed(ms(c.max_us), 3) << '\n';
    }
  }
  return out.str();
}

}  // namespace bazaar::client
