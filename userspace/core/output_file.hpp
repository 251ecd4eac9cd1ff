// Where an output goes and how it is written, decided before anything is
// attached:
//   - a regular file, or a new path: written to an unnamed temporary file in
//     the same directory (O_TMPFILE; a short ".loopprof-XXXXXX" name where that
//     is not supported) and renamed into place by commit(), so the path holds
//     either the old file or the complete new one, and an interrupted run
//     leaves nothing behind;
//   - "-" (stdout), a character device or a FIFO: written in place, never
//     replaced (a FIFO must already have a reader);
//   - loopprof's own stdout or stderr under another name (/dev/stdout,
//     /proc/self/fd/2) when that is a regular file (`> file`): written in
//     place through the descriptor, so the shell's file keeps its inode and
//     whatever else is written to it;
//   - a symlink: followed only to a regular file, a character device or a
//     FIFO, and only where the kernel's protected_symlinks rule would follow
//     it (not a link planted by another user in a sticky world-writable
//     directory such as /tmp); the link itself stays as it is;
//   - refused: a directory, a block device, a socket, a dangling link, a
//     missing or read-only directory, a file name longer than NAME_MAX.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/unique_fd.hpp"

namespace loopprof {

enum class OutputKind {
  replace_file,  // regular file or new path: temporary file + rename
  in_place,      // "-", character device, FIFO
};

// An output path checked and resolved (nothing created yet).
struct OutputTarget {
  std::string path;        // as given ("-" for stdout)
  std::string write_path;  // replace_file: the resolved file renamed over; in_place: what is opened
  OutputKind kind = OutputKind::replace_file;
  bool exists = false;
  dev_t device = 0;  // identity of what exists at the path (exists only)
  ino_t inode = 0;
  bool to_stdout = false;  // "-", or a file, device or FIFO that is loopprof's stdout
  int std_fd = -1;         // in_place through loopprof's stdout (1) or stderr (2)
  bool is_stdout() const { return to_stdout; }
};

// Checks one path; `option` names it in messages ("--events").
Result<OutputTarget> resolve_output(const std::string& option, const std::string& path);

// One output path and the option it came from.
struct NamedOutput {
  std::string option;  // "-o/--output"
  std::string path;    // empty: not requested
};

// Resolves every requested path and refuses two that name the same file
// (same device and inode, the same resolved new path, or stdout twice).
Result<std::vector<OutputTarget>> resolve_outputs(const std::vector<NamedOutput>& outputs);

class OutputFile {
 public:
  static Result<OutputFile> create(const std::string& path);
  static Result<OutputFile> open(const OutputTarget& target);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();  // without commit(): the temporary file vanishes

  void write(std::string_view text);
  void flush();
  // Makes the output complete: flushes; renames a replaced file into place.
  Status commit();
  const std::string& path() const { return target_.path; }
  bool in_place() const { return target_.kind == OutputKind::in_place; }

 private:
  OutputFile(OutputTarget target, UniqueFd fd, std::string temp_path)
      : target_(std::move(target)), fd_(std::move(fd)), temp_path_(std::move(temp_path)) {}
  Status link_into_place();

  OutputTarget target_;
  UniqueFd fd_;            // invalid after commit()
  std::string temp_path_;  // a named temporary file (no O_TMPFILE); empty otherwise
  std::string buffer_;
  int error_ = 0;  // first write error (errno)
  bool committed_ = false;
};

}  // namespace loopprof
