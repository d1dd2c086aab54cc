// How a reply takes a connection over from the HTTP session (GET /events).
#pragma once

#include "httpd/http_session.h"

namespace bazaar::httpd {

/// Carried by an HttpResponse whose connection becomes a long-lived stream. The session, instead
/// of writing the reply, gives up its socket (its own timeouts stop with it) and calls start()
/// on the connection's I/O thread; the handoff then owns the connection and writes everything,
/// the response head included.
class StreamHandoff {
 public:
  virtual ~StreamHandoff() = default;
  /// `http_version` is the request's (10 or 11).
  virtual void start(SessionSocket socket, unsigned http_version) = 0;
};

}  // namespace bazaar::httpd
