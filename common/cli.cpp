#include "common/cli.h"

#include <iostream>

namespace po = boost::program_options;

namespace bazaar::common {

po::options_description common_options() {
  po::options_description d("General");
  d.add_options()("help,h", "print this help and exit")(
      "log-level", po::value<std::string>()->default_value("info"),
      "trace, debug, info, warn, error or off");
  return d;
}

void print_error(const char* program, const std::string& message) {
  std::cerr << program << ": error: " << message << "\n";
}

int parse_command_line(int argc, char** argv, const char* program, const char* summary,
                       const po::options_description& options, po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    if (vm.count("help")) {
      std::cout << "Usage: " << program << " [options]\n" << summary << "\n\n" << options << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    print_error(program, std::string(e.what()) + " (see --help)");
    return kExitUsage;
  }
  return -1;
}

}  // namespace bazaar::common
