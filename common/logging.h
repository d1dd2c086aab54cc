// Logging set-up shared by every binary: spdlog to stderr, each line tagged with the service.
#pragma once

#include <string>

namespace bazaar::common {

/// Installs a stderr logger named `service` as spdlog's default. `level` is one of spdlog's
/// level names (trace, debug, info, warn, error, critical, off); returns false for any other.
bool init_logging(const std::string& service, const std::string& level);

}  // namespace bazaar::common
