// Command-line parsing shared by every binary (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>
#include <stdexcept>
#include <string>

namespace bazaar::common {

/// Thrown for a start-up or configuration error: the binary prints "<program>: <what>" on one
/// line and exits with kExitUsage or kExitStartup. Never thrown once a service is serving.
struct StartupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int kExitUsage = 2;    // bad flag or value
inline constexpr int kExitStartup = 1;  // unusable endpoint, file or database
/// The cluster refused this start (an order replica on an empty database whose peers know it:
/// docs/REPLICATION.md, "Cluster identity"). Starting it again the same way cannot help.
inline constexpr int kExitRefused = 3;

/// Parses argv into `vm`. Returns -1 to go on; otherwise the exit code the caller should return:
/// 0 after printing --help, kExitUsage after printing one line on a bad flag.
int parse_command_line(int argc, char** argv, const char* program, const char* summary,
                       const boost::program_options::options_description& options,
                       boost::program_options::variables_map& vm);

/// Options every service has: --help, --log-level.
boost::program_options::options_description common_options();

/// Prints "<program>: error: <message>" on stderr.
void print_error(const char* program, const std::string& message);

}  // namespace bazaar::common
