#include "client/http_client.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace bazaar::client {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

constexpr std::uint64_t kMaxReplyBody = 64ull << 20;  // a full listing is well below this
constexpr std::uint32_t kMaxReplyHead = 64 * 1024;

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
}

}  // namespace

std::string percent_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

const char* to_string(HttpClientError e) {
  switch (e) {
    case HttpClientError::kNone:
      return "ok";
    case HttpClientError::kBadUrl:
      return "bad URL";
    case HttpClientError::kResolve:
      return "cannot resolve host";
    case HttpClientError::kConnect:
      return "cannot connect";
    case HttpClientError::kTimeout:
      return "timed out";
    case HttpClientError::kIo:
      return "connection failed";
    case HttpClientError::kBadReply:
      return "reply is not HTTP";
  }
  return "?";
}

const std::string* HttpReply::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (boost::algorithm::iequals(field, name)) return &value;
  }
  return nullptr;
}

HttpClient::HttpClient(std::string_view base_url, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  constexpr std::string_view kScheme = "http://";
  if (!boost::algorithm::istarts_with(base_url, kScheme)) {
    url_error_ = "URL must start with http://";
    return;
  }
  std::string_view rest = base_url.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    prefix_ = std::string(path);
  }
  std::string_view host;
  std::string_view port = "80";
  if (!authority.empty() && authority.front() == '[') {  // [v6-address]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      url_error_ = "unbalanced '[' in URL host";
      return;
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        url_error_ = "junk after ']' in URL";
        return;
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    url_error_ = "URL has no host";
    return;
  }
  if (!all_digits(port) || port.size() > 5 || std::stoul(std::string(port)) == 0 ||
      std::stoul(std::string(port)) > 65535) {
    url_error_ = "URL port must be 1..65535";
    return;
  }
  host_ = std::string(host);
  port_ = std::string(port);
}

HttpClient::~HttpClient() {
  close();
}

void HttpClient::close() {
  if (stream_) {
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->close();
    stream_.reset();
  }
  buffer_.clear();
}

void HttpClient::run() {
  ioc_.restart();
  ioc_.run();
}

HttpResult HttpClient::connect(Clock::time_point deadline) {
  HttpResult out;
  tcp::resolver resolver(ioc_);
  beast::error_code ec;
  tcp::resolver::results_type results;
  bool resolved = false;
  resolver.async_resolve(host_, port_, [&](beast::error_code rec, tcp::resolver::results_type r) {
    ec = rec;
    results = std::move(r);
    resolved = true;
  });
  ioc_.restart();
  ioc_.run_for(left_until(deadline));
  if (!resolved) {
    resolver.cancel();
    run();  // let the cancelled handler finish before `ec` and friends go out of scope
    out.error = HttpClientError::kTimeout;
    out.message = "resolving " + host_ + " timed out";
    return out;
  }
  if (ec) {
    out.error = HttpClientError::kResolve;
    out.message = "cannot resolve " + host_ + ": " + ec.message();
    return out;
  }
  stream_.emplace(ioc_);
  stream_->expires_after(left_until(deadline));
  stream_->async_connect(results, [&](beast::error_code cec, const tcp::endpoint&) { ec = cec; });
  run();
  if (ec) {
    stream_.reset();
    out.error = ec == beast::error::timeout ? HttpClientError::kTimeout : HttpClientError::kConnect;
    out.message = "cannot connect to " + host_ + ":" + port_ + ": " +
                  (ec == beast::error::timeout ? std::string("timed out") : ec.message());
    return out;
  }
  beast::error_code ignored;
  stream_->socket().set_option(tcp::no_delay(true), ignored);
  buffer_.clear();
  return out;
}

HttpResult HttpClient::exchange(std::string_view method, std::string_view target,
                                std::string_view body, const HeaderList& headers,
                                Clock::time_point deadline, bool& retryable) {
  HttpResult out;
  retryable = false;
  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(prefix_ + std::string(target));
  req.version(11);
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::user_agent, "bazaar-client");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") req.prepare_payload();

  beast::error_code ec;
  stream_->expires_after(left_until(deadline));
  http::async_write(*stream_, req, [&](beast::error_code wec, std::size_t) { ec = wec; });
  run();
  if (ec) {
    close();
    if (ec == beast::error::timeout) {
      out.error = HttpClientError::kTimeout;
      out.message = "sending the request timed out";
    } else {
      retryable = true;  // nothing of ours was processed if the write itself failed
      out.error = HttpClientError::kIo;
      out.message = "sending the request failed: " + ec.message();
    }
    return out;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBody);
  parser.header_limit(kMaxReplyHead);
  http::async_read(*stream_, buffer_, parser,
                   [&](beast::error_code rec, std::size_t) { ec = rec; });
  run();
  if (ec) {
    const bool nothing_back = !parser.got_some();
    close();
    if (ec == beast::error::timeout) {
      out.error = HttpClientError::kTimeout;
      out.message = "no reply within the deadline";
    } else if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      out.error = HttpClientError::kBadReply;
      out.message = "reply is not HTTP: " + ec.message();
    } else {
      // Closed or reset before any reply byte: a keep-alive connection the server had already
      // dropped; the caller may resend on a new one.
      retryable = nothing_back;
      out.error = HttpClientError::kIo;
      out.message = "connection closed before the reply: " + ec.message();
    }
    return out;
  }
  auto& res = parser.get();
  out.reply.status = res.result_int();
  for (const auto& field : res) {
    out.reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.reply.body = std::move(res.body());
  if (!res.keep_alive()) close();
  return out;
}

HttpResult HttpClient::request(std::string_view method, std::string_view target,
                               std::string_view body, const HeaderList& headers) {
  if (!valid()) return {HttpClientError::kBadUrl, url_error_, {}};
  const auto deadline = Clock::now() + timeout_;
  for (int attempt = 0;; ++attempt) {
    const bool reused = stream_.has_value();
    if (!reused) {
      HttpResult c = connect(deadline);
      if (!c.ok()) return c;
    }
    bool retryable = false;
    HttpResult r = exchange(method, target, body, headers, deadline, retryable);
    // Only a reused connection is retried: a fresh one failing means the server is in trouble.
    if (r.ok() || !retryable || !reused || attempt > 0 || Clock::now() >= deadline) return r;
  }
}

}  // namespace bazaar::client
