#include "core/atomic_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace loopprof {

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  std::string pattern = path + ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  int fd = mkstemp(buffer.data());
  if (fd < 0) return Error::failed("create " + path, std::strerror(errno));
  FILE* file = fdopen(fd, "w");
  if (!file) {
    int err = errno;
    close(fd);
    unlink(buffer.data());
    return Error::failed("open " + path, std::strerror(err));
  }
  fchmod(fd, 0644);
  return AtomicFile(path, buffer.data(), file);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(other.file_),
      failed_(other.failed_) {
  other.file_ = nullptr;
}

AtomicFile::~AtomicFile() {
  if (file_) {
    fclose(file_);
    unlink(temp_path_.c_str());
  }
}

void AtomicFile::write(std::string_view text) {
  if (file_ && fwrite(text.data(), 1, text.size(), file_) != text.size()) failed_ = true;
}

void AtomicFile::flush() {
  if (file_ && fflush(file_) != 0) failed_ = true;
}

Status AtomicFile::commit() {
  if (!file_) return Error::failed("write " + path_, "already committed");
  bool ok = !failed_ && fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  int err = errno;
  ok = (fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok || rename(temp_path_.c_str(), path_.c_str()) != 0) {
    err = err ? err : errno;
    unlink(temp_path_.c_str());
    return Error::failed("write " + path_, std::strerror(err));
  }
  return ok_status();
}

}  // namespace loopprof
