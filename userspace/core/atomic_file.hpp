// A file that appears at its path only complete: written to a temporary file
// beside it and renamed into place by commit(). Dropped without commit, the
// temporary file is removed and nothing is left behind.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace loopprof {

class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::string& path);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  void write(std::string_view text);
  void flush();
  Status commit();
  const std::string& path() const { return path_; }

 private:
  AtomicFile(std::string path, std::string temp_path, FILE* file)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}
  std::string path_;
  std::string temp_path_;
  FILE* file_ = nullptr;
  bool failed_ = false;
};

}  // namespace loopprof
