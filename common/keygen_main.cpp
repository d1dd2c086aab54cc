// bazaar-keygen: writes a cluster's CURVE key set (common/curve_keys.h) into a directory.
// launch/bazaar up runs it once per run directory; copy the directory to every machine of a
// cluster over a channel you trust (docs/SECURITY.md).
#include <iostream>

#include "common/cli.h"
#include "common/curve_keys.h"

namespace po = boost::program_options;
using namespace bazaar;

int main(int argc, char** argv) {
  const char* program = "bazaar-keygen";
  po::options_description opts("Options");
  opts.add_options()("help,h", "print this help and exit")(
      "dir", po::value<std::string>()->required(), "directory to write the key set into")(
      "force", po::bool_switch()->default_value(false), "replace an existing key set");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: " << program << " [--force] DIR\n"
                << "Writes a CURVE key set (server and client key pairs) for a Bazaar cluster.\n\n"
                << opts << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    common::print_error(program, std::string(e.what()) + " (see --help)");
    return common::kExitUsage;
  }
  try {
    const std::string dir = vm["dir"].as<std::string>();
    common::write_curve_keys(dir, vm["force"].as<bool>());
    std::cout << dir << "\n";
  } catch (const common::StartupError& e) {
    common::print_error(program, e.what());
    return common::kExitStartup;
  }
  return 0;
}
