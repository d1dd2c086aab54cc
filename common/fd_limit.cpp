#include "common/fd_limit.h"

#include <dirent.h>
#include <sys/resource.h>

#include <fstream>

#include "common/cli.h"

namespace bazaar::common {

FdLimit raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  rlim_t want = rl.rlim_max;
  // RLIM_INFINITY is not a valid soft limit for RLIMIT_NOFILE: the kernel caps it at nr_open.
  if (want == RLIM_INFINITY) {
    std::ifstream in("/proc/sys/fs/nr_open");
    unsigned long long nr_open = 0;
    if (in >> nr_open && nr_open > 0) want = static_cast<rlim_t>(nr_open);
  }
  if (want != RLIM_INFINITY && want > rl.rlim_cur) {
    rlimit raised = rl;
    raised.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  return {static_cast<std::uint64_t>(rl.rlim_cur), static_cast<std::uint64_t>(rl.rlim_max)};
}

std::uint64_t ensure_fd_limit(std::uint64_t needed, const std::string& why) {
  const FdLimit limit = raise_fd_limit();
  if (limit.soft < needed) {
    throw StartupError("at least " + std::to_string(needed) + " file descriptors needed (" + why +
                       "), the limit is " + std::to_string(limit.soft) + ": raise ulimit -n");
  }
  return limit.soft;
}

std::uint64_t open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::uint64_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // not the directory stream's own descriptor
}

}  // namespace bazaar::common
