// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction unless LOOPPROF_KEEP_TEST_FILES is set (for post-mortems).
#pragma once

#include <filesystem>
#include <string>

namespace loopprof::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "loopprof-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace loopprof::test
