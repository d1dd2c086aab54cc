// SIGINT/SIGTERM as a flag that service loops poll between bounded waits.
#pragma once

namespace bazaar::common {

/// Installs handlers for SIGINT and SIGTERM (and ignores SIGPIPE). Call once from main.
void install_stop_handlers();

/// True once SIGINT or SIGTERM arrived (or request_stop() was called).
bool stop_requested();

/// Asks every loop to finish, as a signal would.
void request_stop();

}  // namespace bazaar::common
