#include "core/output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace loopprof {

namespace {

constexpr size_t kFlushBytes = 64 * 1024;

std::string errno_text(int err) {
  return std::strerror(err);
}

Error refuse(const std::string& option, const std::string& path, const std::string& reason,
             std::string hint = {}) {
  return Error::failed(fmt::format("use {} for {}", path, option), reason, std::move(hint));
}

// "dir/name" -> "dir", "name" -> ".", "/name" -> "/".
std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string real_path(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (!resolved) return path;
  std::string out(resolved);
  std::free(resolved);
  return out;
}

// The kernel's protected_symlinks rule: in a sticky, world-writable directory
// a link is followed only if it belongs to us or to the directory's owner.
bool link_is_trusted(const std::string& link, const struct stat& link_st) {
  struct stat dir {};
  if (::stat(parent_of(link).c_str(), &dir) != 0) return false;
  bool shared = (dir.st_mode & S_ISVTX) && (dir.st_mode & S_IWOTH);
  return !shared || link_st.st_uid == ::geteuid() || link_st.st_uid == dir.st_uid;
}

// The directory a replaced file is renamed in must take new files.
Status check_directory(const std::string& option, const std::string& path, const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return refuse(option, path, fmt::format("directory {}: {}", dir, errno_text(errno)));
  if (!S_ISDIR(st.st_mode)) return refuse(option, path, dir + " is not a directory");
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    return refuse(option, path,
                  fmt::format("cannot create files in {}: {}", dir, errno_text(errno)),
                  "choose a writable directory");
  return ok_status();
}

Result<OutputTarget> classify_existing(const std::string& option, const std::string& path,
                                       const struct stat& st) {
  OutputTarget target;
  target.path = path;
  target.exists = true;
  target.device = st.st_dev;
  target.inode = st.st_ino;
  if (S_ISDIR(st.st_mode))
    return refuse(option, path, "it is a directory", "name a file inside it");
  if (S_ISBLK(st.st_mode))
    return refuse(option, path, "it is a block device (loopprof does not write to disks)");
  if (S_ISSOCK(st.st_mode)) return refuse(option, path, "it is a socket");
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
    target.kind = OutputKind::in_place;
    target.write_path = path;
    struct stat out {};
    target.to_stdout = ::fstat(STDOUT_FILENO, &out) == 0 && out.st_dev == st.st_dev &&
                       out.st_ino == st.st_ino && out.st_rdev == st.st_rdev;
    return target;
  }
  if (!S_ISREG(st.st_mode)) return refuse(option, path, "not a regular file");
  // Our own stdout or stderr redirected to this file: renaming a new file over
  // it would leave the shell's descriptor (and the report) on a deleted inode.
  for (int std_fd : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat out {};
    if (::fstat(std_fd, &out) == 0 && out.st_dev == st.st_dev && out.st_ino == st.st_ino) {
      target.kind = OutputKind::in_place;
      target.write_path = path;
      target.std_fd = std_fd;
      target.to_stdout = std_fd == STDOUT_FILENO;
      return target;
    }
  }
  target.kind = OutputKind::replace_file;
  target.write_path = real_path(path);
  if (auto dir = check_directory(option, path, parent_of(target.write_path)); !dir)
    return dir.error();
  return target;
}

std::string random_suffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof(bytes), 0) != sizeof(bytes))
    for (auto& b : bytes) b = static_cast<unsigned char>(std::rand());
  std::string out;
  for (unsigned char b : bytes) out += kChars[b % (sizeof(kChars) - 1)];
  return out;
}

}  // namespace

Result<OutputTarget> resolve_output(const std::string& option, const std::string& path) {
  if (path.empty()) return refuse(option, "''", "empty file name");
  if (path == "-") {
    struct stat st {};
    if (::fstat(STDOUT_FILENO, &st) != 0) return refuse(option, path, "stdout is closed");
    OutputTarget target;
    target.path = path;
    target.write_path = path;
    target.kind = OutputKind::in_place;
    target.to_stdout = true;
    target.std_fd = STDOUT_FILENO;
    target.exists = true;
    target.device = st.st_dev;
    target.inode = st.st_ino;
    return target;
  }
  if (path.back() == '/') return refuse(option, path, "it names a directory", "name a file");
  if (base_of(path).size() > NAME_MAX)
    return refuse(option, path, fmt::format("the file name is longer than {} bytes", NAME_MAX));
  struct stat link_st {};
  if (::lstat(path.c_str(), &link_st) != 0) {
    if (errno != ENOENT) return refuse(option, path, errno_text(errno));
    // A new file: its directory must exist and take new files.
    std::string dir = parent_of(path);
    if (auto checked = check_directory(option, path, dir); !checked) return checked.error();
    OutputTarget target;
    target.path = path;
    target.kind = OutputKind::replace_file;
    std::string real_dir = real_path(dir);
    target.write_path = (real_dir == "/" ? "" : real_dir) + "/" + base_of(path);
    return target;
  }
  if (!S_ISLNK(link_st.st_mode)) return classify_existing(option, path, link_st);
  if (!link_is_trusted(path, link_st))
    return refuse(option, path,
                  "it is a symlink owned by another user in a shared sticky directory",
                  "write to a path you own, or remove the link");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return refuse(option, path,
                  fmt::format("it is a symlink to a missing file ({})", errno_text(errno)));
  return classify_existing(option, path, st);
}

Result<std::vector<OutputTarget>> resolve_outputs(const std::vector<NamedOutput>& outputs) {
  std::vector<OutputTarget> targets;
  std::vector<const NamedOutput*> named;
  for (const NamedOutput& output : outputs) {
    if (output.path.empty()) continue;
    auto target = resolve_output(output.option, output.path);
    if (!target) return target.error();
    for (size_t i = 0; i < targets.size(); ++i) {
      const OutputTarget& other = targets[i];
      bool same = target->exists && other.exists
                      ? target->device == other.device && target->inode == other.inode
                      : !target->exists && !other.exists && target->write_path == other.write_path;
      if (same)
        return Error::failed(
            fmt::format("write {} and {}", named[i]->option, output.option),
            fmt::format("both name the same file ({} and {})", other.path, output.path),
            "give each output its own file");
    }
    targets.push_back(std::move(target).value());
    named.push_back(&output);
  }
  return targets;
}

Result<OutputFile> OutputFile::create(const std::string& path) {
  auto target = resolve_output("output", path);
  if (!target) return target.error();
  return open(target.value());
}

Result<OutputFile> OutputFile::open(const OutputTarget& target) {
  if (target.kind == OutputKind::in_place) {
    if (target.std_fd >= 0) {
      UniqueFd fd(::fcntl(target.std_fd, F_DUPFD_CLOEXEC, 3));
      if (!fd.valid())
        return Error::failed(target.std_fd == STDOUT_FILENO ? "write to stdout" : "write to stderr",
                             errno_text(errno));
      return OutputFile(target, std::move(fd), {});
    }
    // Never created or truncated; a FIFO without a reader fails at once.
    UniqueFd fd(::open(target.write_path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
      if (errno == ENXIO)
        return Error::failed("open " + target.path, "no process is reading this FIFO",
                             "start its reader first");
      return Error::failed("open " + target.path, errno_text(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
      return Error::failed("open " + target.path, "it changed into a regular file");
    ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    return OutputFile(target, std::move(fd), {});
  }
  const std::string dir = parent_of(target.write_path);
  std::string temp_path;
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd.valid() && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // No O_TMPFILE on this file system: a short named temporary file.
    std::string pattern = dir + "/.loopprof-XXXXXX";
    fd = UniqueFd(::mkostemp(pattern.data(), O_CLOEXEC));
    if (fd.valid()) temp_path = pattern;
  }
  if (!fd.valid()) return Error::failed("create " + target.path, errno_text(errno));
  struct stat old {};
  if (target.exists && ::stat(target.write_path.c_str(), &old) == 0) {
    ::fchmod(fd.get(), old.st_mode & 07777);  // a replaced file keeps its mode and owner
    [[maybe_unused]] int owned = ::fchown(fd.get(), old.st_uid, old.st_gid);
  } else {
    ::fchmod(fd.get(), 0644);
  }
  return OutputFile(target, std::move(fd), std::move(temp_path));
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : target_(std::move(other.target_)),
      fd_(std::move(other.fd_)),
      temp_path_(std::exchange(other.temp_path_, {})),
      buffer_(std::move(other.buffer_)),
      error_(other.error_),
      committed_(other.committed_) {}

OutputFile::~OutputFile() {
  if (!temp_path_.empty() && !committed_) ::unlink(temp_path_.c_str());
}

void OutputFile::write(std::string_view text) {
  if (!fd_.valid() || error_) return;
  buffer_.append(text);
  if (buffer_.size() >= kFlushBytes) flush();
}

void OutputFile::flush() {
  size_t done = 0;
  while (fd_.valid() && !error_ && done < buffer_.size()) {
    ssize_t n = ::write(fd_.get(), buffer_.data() + done, buffer_.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {  // an inherited non-blocking stdout
      pollfd p{fd_.get(), POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else {
      error_ = n < 0 ? errno : EIO;
    }
  }
  buffer_.clear();
}

Status OutputFile::link_into_place() {
  const std::string dir = parent_of(target_.write_path);
  const std::string proc_fd = fmt::format("/proc/self/fd/{}", fd_.get());
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = dir + "/.loopprof-" + random_suffix();
    int rc = ::linkat(AT_FDCWD, proc_fd.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW);
    if (rc != 0 && errno == ENOENT)  // no /proc: needs CAP_DAC_READ_SEARCH
      rc = ::linkat(fd_.get(), "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH);
    if (rc == 0) {
      temp_path_ = name;
      return ok_status();
    }
    if (errno != EEXIST) break;
  }
  return Error::failed("write " + target_.path, errno_text(errno));
}

Status OutputFile::commit() {
  if (committed_ || !fd_.valid()) return Error::failed("write " + target_.path, "already written");
  flush();
  committed_ = true;
  if (target_.kind == OutputKind::replace_file && !error_ && ::fsync(fd_.get()) != 0)
    error_ = errno;
  auto cleanup = [this](int err) -> Status {
    if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
    fd_.reset();
    return Error::failed("write " + target_.path, errno_text(err));
  };
  if (error_) return cleanup(error_);
  if (target_.kind == OutputKind::in_place) {
    fd_.reset();
    return ok_status();
  }
  if (temp_path_.empty())
    if (auto linked = link_into_place(); !linked) {
      fd_.reset();
      return linked.error();
    }
  if (::rename(temp_path_.c_str(), target_.write_path.c_str()) != 0) return cleanup(errno);
  fd_.reset();
  return ok_status();
}

}  // namespace loopprof
