#include "symbols/perf_map.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/unique_fd.hpp"
#include "target/proc_path.hpp"

namespace loopprof {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool parse_hex(std::string_view& s, uint64_t& value) {
  s = trim(s);
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 16);
  if (ec != std::errc() || p == s.data()) return false;
  s.remove_prefix(p - s.data());
  return !s.empty() && (s.front() == ' ' || s.front() == '\t');
}

}  // namespace

void PerfMap::add_lines(std::string_view text) {
  size_t before = entries_.size();
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    uint64_t start = 0, size = 0;
    if (!parse_hex(line, start) || !parse_hex(line, size)) continue;
    std::string_view name = trim(line);
    if (name.empty() || size == 0) continue;
    entries_.push_back(Entry{start, size, std::string(name)});
  }
  if (entries_.size() != before) sort_entries();
}

void PerfMap::sort_entries() {
  // Stable: for equal starts the later line stays last, then wins.
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.start < b.start; });
  auto last_of_each = [](const Entry& a, const Entry& b) { return a.start == b.start; };
  // Keep the last of each run of equal starts.
  std::vector<Entry> unique;
  unique.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i + 1 < entries_.size() && last_of_each(entries_[i], entries_[i + 1])) continue;
    unique.push_back(std::move(entries_[i]));
  }
  entries_ = std::move(unique);
}

int PerfMap::open_file() const {
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  if (root_.empty()) return ::open(path_.c_str(), kFlags | O_NOFOLLOW);
  UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return -1;
  open_how how{.flags = kFlags,
               .mode = 0,
               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd =
      static_cast<int>(::syscall(SYS_openat2, root.get(), beneath_.c_str(), &how, sizeof(how)));
  if (fd >= 0 || errno != ENOSYS) return fd;
  // Before Linux 5.6: only the last component is guarded.
  return ::open(path_.c_str(), kFlags | O_NOFOLLOW);
}

void PerfMap::update() {
  UniqueFd fd(open_file());
  if (!fd.valid()) return;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (st.st_uid != owner_ && st.st_uid != 0) return;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (st.st_ino != inode_ || size < read_offset_) {
    entries_.clear();
    partial_line_.clear();
    read_offset_ = 0;
    inode_ = st.st_ino;
  }
  if (size == read_offset_) return;
  std::string text = std::move(partial_line_);
  partial_line_.clear();
  size_t old = text.size();
  const uint64_t want = std::min(size - read_offset_, kMaxReadBytes);
  text.resize(old + want);
  ssize_t n = ::pread(fd.get(), text.data() + old, want, static_cast<off_t>(read_offset_));
  if (n <= 0) {
    partial_line_ = text.substr(0, old);
    return;
  }
  read_offset_ += static_cast<uint64_t>(n);
  text.resize(old + static_cast<size_t>(n));
  size_t last_newline = text.rfind('\n');
  if (last_newline == std::string::npos) {
    partial_line_ = std::move(text);
    return;
  }
  partial_line_ = text.substr(last_newline + 1);
  text.resize(last_newline + 1);
  add_lines(text);
}

std::optional<std::string_view> PerfMap::lookup(uint64_t address) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), address,
                             [](uint64_t a, const Entry& e) { return a < e.start; });
  if (it == entries_.begin()) return std::nullopt;
  --it;
  if (address - it->start >= it->size) return std::nullopt;
  return std::string_view(it->name);
}

uid_t perf_map_owner(pid_t pid) {
  struct stat st {};
  if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0) return 0;
  return st.st_uid;
}

PerfMap perf_map_of(pid_t pid) {
  pid_t ns_pid = pid;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("NSpid:")) continue;
    std::istringstream fields(line.substr(6));
    pid_t value = 0;
    while (fields >> value) ns_pid = value;  // the innermost namespace is last
    break;
  }
  return PerfMap(fmt::format("tmp/perf-{}.map", ns_pid), perf_map_owner(pid),
                 fmt::format("{}/root", proc_dir(pid)));
}

}  // namespace loopprof
