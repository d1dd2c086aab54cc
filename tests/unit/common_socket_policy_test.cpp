// The socket policy's pure parts: which endpoints count as local, key sets on disk, option
// bounds. (CURVE on real sockets is tests/integration/curve_test.cpp.)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/cli.h"
#include "common/curve_keys.h"
#include "common/socket_policy.h"
#include "common/zmq_util.h"

namespace bazaar::common {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

TEST(SocketPolicy, LocalEndpoints) {
  EXPECT_TRUE(is_local_endpoint("tcp://127.0.0.1:5550"));
  EXPECT_TRUE(is_local_endpoint("tcp://127.1.2.3:5550"));
  EXPECT_TRUE(is_local_endpoint("tcp://localhost:5550"));
  EXPECT_TRUE(is_local_endpoint("tcp://[::1]:5550"));
  EXPECT_TRUE(is_local_endpoint("inproc://workers"));
  EXPECT_TRUE(is_local_endpoint("ipc:///tmp/x"));
  EXPECT_FALSE(is_local_endpoint("tcp://*:5550"));
  EXPECT_FALSE(is_local_endpoint("tcp://0.0.0.0:5550"));
  EXPECT_FALSE(is_local_endpoint("tcp://10.0.0.5:5550"));
  EXPECT_FALSE(is_local_endpoint("tcp://[::]:5550"));
  EXPECT_FALSE(is_local_endpoint("tcp://eth0:5550"));
  EXPECT_FALSE(is_local_endpoint("tcp://127.example.com:5550"));
  EXPECT_FALSE(is_local_endpoint("udp://127.0.0.1:5550"));
}

class KeyDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "bazaar-keys-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/keys";
  }
  void TearDown() override {
    set_socket_policy({});
    fs::remove_all(root_);
  }
  std::string root_, dir_;
};

TEST_F(KeyDir, WrittenKeysLoadAndSecretsArePrivate) {
  write_curve_keys(dir_, false);
  const CurveKeys k = load_curve_keys(dir_);
  EXPECT_EQ(k.server_public.size(), 40u);
  EXPECT_NE(k.server_public, k.client_public);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/server.secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second set never silently replaces the first.
  EXPECT_THROW(write_curve_keys(dir_, false), StartupError);
  write_curve_keys(dir_, true);
  EXPECT_NE(load_curve_keys(dir_).server_public, k.server_public);
}

TEST_F(KeyDir, BadKeysAreRefused) {
  EXPECT_THROW(load_curve_keys(dir_), StartupError);  // missing
  write_curve_keys(dir_, false);
  fs::permissions(dir_ + "/client.secret", fs::perms::others_read, fs::perm_options::add);
  EXPECT_THROW(load_curve_keys(dir_), StartupError);  // readable by others
  fs::permissions(dir_ + "/client.secret", fs::perms::others_read, fs::perm_options::remove);
  std::ofstream(dir_ + "/server.public") << "not a key\n";
  EXPECT_THROW(load_curve_keys(dir_), StartupError);
}

po::variables_map parse(std::vector<const char*> args) {
  args.insert(args.begin(), "test");
  po::variables_map vm;
  po::store(po::command_line_parser(static_cast<int>(args.size()), const_cast<char**>(args.data()))
                .options(socket_options())
                .run(),
            vm);
  po::notify(vm);
  return vm;
}

TEST_F(KeyDir, OptionsHaveSafeDefaultsAndBounds) {
  const SocketPolicy& p = apply_socket_options(parse({}), nullptr);
  EXPECT_EQ(p.hwm, kDefaultHwm);
  EXPECT_EQ(p.max_message_bytes, 1 << 20);
  EXPECT_FALSE(p.insecure);
  EXPECT_THROW(apply_socket_options(parse({"--socket-hwm", "5"}), nullptr), StartupError);
  EXPECT_THROW(apply_socket_options(parse({"--max-message-bytes", "2000000"}), nullptr),
               StartupError);
  EXPECT_THROW(apply_socket_options(parse({"--handshake-timeout", "0"}), nullptr), StartupError);
  write_curve_keys(dir_, false);
  EXPECT_TRUE(apply_socket_options(parse({"--curve-dir", dir_.c_str()}), nullptr).curve);
}

TEST_F(KeyDir, NonLoopbackBindWithoutCurveIsRefused) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::rep);
  configure_socket(s);
  EXPECT_THROW(bind_or_throw(s, "tcp://0.0.0.0:0", "test endpoint"), StartupError);
  SocketPolicy insecure;
  insecure.insecure = true;
  set_socket_policy(insecure);
  EXPECT_NO_THROW(bind_or_throw(s, "tcp://0.0.0.0:*", "test endpoint"));
}

}  // namespace
}  // namespace bazaar::common
