#include "temp_dir.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace loopprof::test {

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = fmt::format("{}/{}-XXXXXX", base && *base ? base : "/tmp", prefix);
  if (!mkdtemp(templ.data())) {
    throw std::runtime_error(
        fmt::format("failed to create temporary directory {}: {}", templ, strerror(errno)));
  }
  path_ = templ;
}

TempDir::~TempDir() {
  if (std::getenv("LOOPPROF_KEEP_TEST_FILES")) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace loopprof::test
