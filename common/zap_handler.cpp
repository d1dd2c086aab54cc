#include "common/zap_handler.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <array>
#include <cstring>
#include <thread>
#include <vector>
#include <zmq_addon.hpp>

#include "common/cli.h"

namespace bazaar::common {

std::atomic<std::uint64_t> ZapHandler::admitted_{0};
std::atomic<std::uint64_t> ZapHandler::refused_{0};

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

// One ZAP request (RFC 27): version, request id, domain, address, identity, mechanism, then the
// mechanism's credentials (CURVE: the client's 32-byte public key). Reply: version, request id,
// status code, status text, user id, metadata.
void serve(zmq::socket_t socket, std::array<std::uint8_t, 32> allowed,
           std::atomic<std::uint64_t>& admitted, std::atomic<std::uint64_t>& refused) {
  for (;;) {
    std::vector<zmq::message_t> req;
    try {
      // No deadline on purpose: this thread lives as long as the context, and the context's
      // shutdown ends the wait (ETERM). Requests come only from libzmq itself, in-process.
      if (!zmq::recv_multipart(socket, std::back_inserter(req))) continue;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return;  // ETERM: the context is closing; the socket closes as this returns
    }
    if (req.size() < 6) continue;  // not from libzmq; a REP must still answer, but cannot parse
    const bool curve = req[5].to_string_view() == "CURVE";
    const bool ok = curve && req.size() >= 7 && req[6].size() == allowed.size() &&
                    std::memcmp(req[6].data(), allowed.data(), allowed.size()) == 0;
    (ok ? admitted : refused).fetch_add(1, std::memory_order_relaxed);
    if (!ok) spdlog::warn("refused a connection from {}: unknown CURVE key", req[3].to_string());
    std::array<zmq::const_buffer, 6> reply = {
        zmq::str_buffer("1.0"),
        zmq::buffer(req[1].data(), req[1].size()),
        ok ? zmq::str_buffer("200") : zmq::str_buffer("400"),
        ok ? zmq::str_buffer("OK") : zmq::str_buffer("unknown key"),
        zmq::str_buffer(""),
        zmq::str_buffer("")};
    try {
      zmq::send_multipart(socket, reply);
    } catch (const zmq::error_t&) {
      return;
    }
  }
}

}  // namespace

void ZapHandler::start(zmq::context_t& ctx, const std::string& client_public_z85) {
  std::array<std::uint8_t, 32> allowed{};
  if (client_public_z85.size() != 40 ||
      zmq_z85_decode(allowed.data(), client_public_z85.c_str()) == nullptr) {
    throw StartupError("ZAP handler: client key is not a 40-character Z85 key");
  }
  zmq::socket_t socket(ctx, zmq::socket_type::rep);
  socket.set(zmq::sockopt::linger, 0);
  try {
    socket.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    if (e.num() == EADDRINUSE) return;  // this context has its handler already
    throw StartupError(std::string("ZAP handler: cannot bind: ") + e.what());
  }
  // Bound here, served there: the handler exists before any server socket can handshake.
  std::thread(serve, std::move(socket), allowed, std::ref(admitted_), std::ref(refused_)).detach();
}

std::uint64_t ZapHandler::admitted() {
  return admitted_.load();
}
std::uint64_t ZapHandler::refused() {
  return refused_.load();
}

}  // namespace bazaar::common
