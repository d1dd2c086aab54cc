// The CURVE key set of a cluster (docs/SECURITY.md): one server key pair that every service
// binds with, and one client key pair that every service and tool connects with. A directory
// holds them as four Z85 text files; only holders of the directory can talk to the services.
#pragma once

#include <string>

namespace bazaar::common {

/// Z85 keys, 40 characters each.
struct CurveKeys {
  std::string server_public;
  std::string server_secret;
  std::string client_public;
  std::string client_secret;
};

/// File names inside a key directory.
inline constexpr const char* kServerPublicFile = "server.public";
inline constexpr const char* kServerSecretFile = "server.secret";
inline constexpr const char* kClientPublicFile = "client.public";
inline constexpr const char* kClientSecretFile = "client.secret";

/// Reads the four keys of `dir`. Throws StartupError naming the file when one is missing, not
/// 40 Z85 characters, or (for the secret files) readable by group or others.
CurveKeys load_curve_keys(const std::string& dir);

/// Makes a fresh key set (zmq_curve_keypair) and writes it into `dir` (created 0700 when
/// missing); secret files are 0600. Refuses to overwrite an existing set unless `overwrite`.
/// Throws StartupError on failure.
void write_curve_keys(const std::string& dir, bool overwrite);

}  // namespace bazaar::common
