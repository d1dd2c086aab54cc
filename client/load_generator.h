// bazaar-client load: C closed-loop clients, one thread and one keep-alive connection each, for
// a duration or a number of iterations, measuring every request into per-thread histograms.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "client/load_report.h"
#include "client/session_client.h"

namespace bazaar::client {

/// Relative weights of the request types for --mix (each iteration picks one).
struct RequestMix {
  double lookup = 0;
  double order = 0;
  double query = 0;  // an order this client had acknowledged, checked against what it recorded
  double list = 0;
};

/// Parses "lookup=80,order=15,query=5" (any subset, non-negative weights, at least one above
/// zero). nullopt with `why` otherwise.
std::optional<RequestMix> parse_mix(std::string_view text, std::string& why);

struct LoadOptions {
  std::string url = "http://127.0.0.1:8080";
  std::chrono::milliseconds timeout{5000};  // per request
  int clients = 5;
  std::chrono::milliseconds duration{0};     // run this long; 0: run `iterations` instead
  std::uint64_t iterations = 0;              // per client
  SessionOptions session;                    // client k gets seed + k, verify_at_once
  std::optional<RequestMix> mix;             // unset: the handout's loop with session.p
  std::chrono::milliseconds interval{1000};  // timeline cell width
  bool progress = false;                     // draw a progress bar on stderr
};

/// Runs the clients and returns the merged figures. Never throws for a request failure: every
/// error is counted. After a transport error a client waits 10 ms before its next request, so a
/// dead server is not hammered in a tight loop.
class LoadGenerator {
 public:
  explicit LoadGenerator(LoadOptions options);
  LoadReport run();

 private:
  LoadOptions options_;
};

}  // namespace bazaar::client
