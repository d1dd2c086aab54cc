#include "frontend/api_dispatcher.h"

#include <spdlog/spdlog.h>

#include "frontend/api_reply.h"

namespace bazaar::frontend {

ApiDispatcher::ApiDispatcher(const ApiHandler& api, BridgePool& bridge)
    : api_(api), bridge_(bridge) {}

void ApiDispatcher::handle(ApiRequest request, ReplyCallback done) {
  Routed routed = api_.route(request);
  if (auto* reply = std::get_if<ApiResponse>(&routed)) {
    done(std::move(*reply));
    return;
  }
  // std::function needs a copyable callable, so the callback is shared between the job and
  // this frame; only one of them ever calls it.
  auto shared_done = std::make_shared<ReplyCallback>(std::move(done));
  BridgeJob job = [call = std::move(std::get<BackendCall>(routed)), shared_done](Backend* b) {
    if (b == nullptr) {
      (*shared_done)(error_reply(503, "front end shutting down"));
      return;
    }
    ApiResponse reply;
    try {
      reply = ApiHandler::execute(call, *b);
    } catch (const std::exception& e) {
      spdlog::error("request failed: {}", e.what());
      reply = error_reply(500, "internal error");
    }
    (*shared_done)(std::move(reply));
  };
  if (!bridge_.try_submit(std::move(job))) {
    (*shared_done)(error_reply(503, "front end overloaded, try again"));
  }
}

}  // namespace bazaar::frontend
