#include "common/curve_keys.h"

#include <sys/stat.h>
#include <zmq.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/cli.h"

namespace fs = std::filesystem;

namespace bazaar::common {

namespace {

constexpr std::size_t kZ85KeyChars = 40;

bool z85_key(const std::string& s) {
  if (s.size() != kZ85KeyChars) return false;
  std::uint8_t raw[32];
  return zmq_z85_decode(raw, s.c_str()) != nullptr;
}

std::string read_key(const fs::path& file, bool secret) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    throw StartupError("CURVE key " + file.string() + ": missing (make a set with bazaar-keygen)");
  }
  // A secret key others can read is no secret: refuse, like ssh does, rather than run exposed.
  if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw StartupError("CURVE key " + file.string() + ": readable by others (chmod 600 it)");
  }
  std::ifstream in(file);
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (!z85_key(key)) {
    throw StartupError("CURVE key " + file.string() + ": not a 40-character Z85 key");
  }
  return key;
}

void write_key(const fs::path& file, const std::string& key, bool secret) {
  // Created with the final mode: a secret never exists world-readable, not even for an instant.
  const mode_t old = ::umask(secret ? 077 : 022);
  std::ofstream out(file, std::ios::trunc);
  out << key << "\n";
  out.close();
  ::umask(old);
  if (!out) throw StartupError("CURVE key " + file.string() + ": cannot write");
  fs::permissions(file, secret ? fs::perms::owner_read | fs::perms::owner_write
                               : fs::perms::owner_read | fs::perms::owner_write |
                                     fs::perms::group_read | fs::perms::others_read);
}

}  // namespace

CurveKeys load_curve_keys(const std::string& dir) {
  const fs::path d(dir);
  CurveKeys k;
  k.server_public = read_key(d / kServerPublicFile, false);
  k.server_secret = read_key(d / kServerSecretFile, true);
  k.client_public = read_key(d / kClientPublicFile, false);
  k.client_secret = read_key(d / kClientSecretFile, true);
  return k;
}

void write_curve_keys(const std::string& dir, bool overwrite) {
  const fs::path d(dir);
  std::error_code ec;
  if (!fs::exists(d, ec)) {
    fs::create_directories(d, ec);
    if (ec) throw StartupError("CURVE key directory " + dir + ": " + ec.message());
    fs::permissions(d, fs::perms::owner_all, ec);
  }
  if (!overwrite && fs::exists(d / kServerSecretFile, ec)) {
    throw StartupError("CURVE key directory " + dir + ": already holds a key set");
  }
  char pub[41], sec[41];
  auto pair = [&](const char* pub_file, const char* sec_file) {
    if (zmq_curve_keypair(pub, sec) != 0) {
      throw StartupError("zmq_curve_keypair failed: libzmq built without CURVE?");
    }
    write_key(d / sec_file, sec, true);
    write_key(d / pub_file, pub, false);
  };
  pair(kServerPublicFile, kServerSecretFile);
  pair(kClientPublicFile, kClientSecretFile);
}

}  // namespace bazaar::common
