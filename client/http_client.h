// A small synchronous HTTP/1.1 client with a deadline on every request (Boost.Beast), used by
// bazaar-client and by the tests that talk to a front end.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::client {

/// Header fields as (name, value) pairs, in order.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Escapes every byte except the unreserved set (A-Z a-z 0-9 - . _ ~) as %XX, for a path segment.
std::string percent_encode(std::string_view in);

enum class HttpClientError : std::uint8_t {
  kNone,
  kBadUrl,    // the base URL is not http://host[:port][/prefix]
  kResolve,   // the host name does not resolve
  kConnect,   // nobody listens there (refused, unreachable)
  kTimeout,   // the whole exchange did not finish within the timeout
  kIo,        // the connection broke while sending or receiving
  kBadReply,  // the peer answered something that is not HTTP
};
const char* to_string(HttpClientError e);

struct HttpReply {
  unsigned status = 0;
  std::string body;
  HeaderList headers;
  /// The first header named `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct HttpResult {
  HttpClientError error = HttpClientError::kNone;
  std::string message;  // detail when error is not kNone
  HttpReply reply;      // valid when error is kNone
  bool ok() const { return error == HttpClientError::kNone; }
};

/// Keeps one keep-alive connection to the server and reuses it across requests, reconnecting
/// when the server has closed it. A request whose reused connection turns out to be closed
/// before any reply byte arrives is sent once more on a fresh connection (the server never saw
/// it). Not thread-safe: one per thread.
class HttpClient {
 public:
  /// `base_url` like "http://127.0.0.1:8080" (a path prefix is prepended to every target).
  /// A malformed URL makes every request fail with kBadUrl; see valid().
  HttpClient(std::string_view base_url, std::chrono::milliseconds timeout);
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool valid() const { return !host_.empty(); }
  const std::string& url_error() const { return url_error_; }

  /// One request; the whole exchange (connect, send, receive) gets at most the timeout.
  HttpResult request(std::string_view method, std::string_view target, std::string_view body = {},
                     const HeaderList& headers = {});

  HttpResult get(std::string_view target) { return request("GET", target); }
  HttpResult post_json(std::string_view target, std::string_view json,
                       const HeaderList& headers = {}) {
    HeaderList h = headers;
    h.emplace_back("Content-Type", "application/json");
    return request("POST", target, json, h);
  }

  /// Drops the connection (the next request opens a new one).
  void close();

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  using Clock = std::chrono::steady_clock;

  HttpResult connect(Clock::time_point deadline);
  HttpResult exchange(std::string_view method, std::string_view target, std::string_view body,
                      const HeaderList& headers, Clock::time_point deadline, bool& retryable);
  /// Runs the private io_context until the pending operation completes.
  void run();

  std::string host_;
  std::string port_;
  std::string prefix_;  // path prefix of the base URL, without a trailing '/'
  std::string url_error_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  std::optional<boost::beast::tcp_stream> stream_;  // engaged while a connection is open
  boost::beast::flat_buffer buffer_;
};

}  // namespace bazaar::client
