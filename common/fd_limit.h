// File descriptors as a resource: every service raises its soft limit at start and checks that
// what it may need fits (docs/SECURITY.md, "Limits").
#pragma once

#include <cstdint>
#include <string>

namespace bazaar::common {

/// What the process may open: the soft limit after raising it, and the hard limit.
struct FdLimit {
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (capped at what the kernel allows
/// one process, fs.nr_open) and returns the limits as they are then. Never throws; when raising
/// fails the old limits are returned.
FdLimit raise_fd_limit();

/// Every service's start-up check: raise_fd_limit(), then StartupError ("at least N file
/// descriptors needed (<why>), the limit is L: raise ulimit -n") when fewer than `needed` are
/// allowed. Returns the soft limit.
std::uint64_t ensure_fd_limit(std::uint64_t needed, const std::string& why);

/// The floor every service but the front end checks at start: its sockets, a database, the
/// connections of a few front ends' bridge threads.
inline constexpr std::uint64_t kServiceFds = 256;

/// Descriptors open in this process right now (entries of /proc/self/fd), or 0 when unknown.
std::uint64_t open_fds();

}  // namespace bazaar::common
