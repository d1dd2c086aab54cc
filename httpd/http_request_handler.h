// What the HTTP server asks of the application: one request in, one reply out, asynchronously.
#pragma once

#include <functional>

#include "httpd/http_message.h"

namespace bazaar::httpd {

/// Delivers the reply; may be called on any thread, exactly once.
using ReplyCallback = std::function<void(HttpResponse)>;

/// Called on an HTTP I/O thread, so it must not block: slow work goes elsewhere and `done`
/// is called when it finishes.
class HttpRequestHandler {
 public:
  virtual ~HttpRequestHandler() = default;
  virtual void handle(HttpRequest request, ReplyCallback done) = 0;
  /// The HTTP layer answered `status` itself (garbage 400, 413, 431) without a request to hand
  /// over. For counting only; called on an I/O thread, must not block.
  virtual void on_rejected(unsigned /*status*/) {}
};

}  // namespace bazaar::httpd
