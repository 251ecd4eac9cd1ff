#include <variant>

#include "app/profiler.hpp"
#include "cli/options.hpp"

int main(int argc, char** argv) {
  auto parsed = loopprof::parse_options(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  return loopprof::run_profiler(std::get<loopprof::Options>(parsed));
}
