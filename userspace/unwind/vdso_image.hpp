// A file holding this process's vDSO image. Every 64-bit process on the
// machine maps the same kernel-provided vDSO, so ours stands in for the
// target's when its unwind tables (.eh_frame) are needed.
#pragma once

#include <string>

#include "core/error.hpp"
#include "core/unique_fd.hpp"

namespace loopprof {

class VdsoImage {
 public:
  // Copies the vDSO into an anonymous memory file.
  static Result<VdsoImage> create();
  // A path that opens the image ("/proc/self/fd/N") while this object lives.
  const std::string& path() const { return path_; }

 private:
  VdsoImage(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace loopprof
