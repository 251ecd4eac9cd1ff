// The full-screen terminal of `loopprof top` (ncurses): draws lines, reads
// keys, and gives the terminal back as it was (alternate screen left,
// cursor and modes restored) when destroyed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

typedef struct screen SCREEN;

namespace loopprof::top {

class TerminalView {
 public:
  // On stdout, keys from stdin.
  static Result<std::unique_ptr<TerminalView>> open();
  ~TerminalView();
  TerminalView(const TerminalView&) = delete;
  TerminalView& operator=(const TerminalView&) = delete;

  size_t width() const;
  size_t height() const;
  // Readable when a key is waiting.
  int input_fd() const;
  // Keys typed since the last call; a resize shows as KEY_RESIZE.
  std::vector<int> read_keys();
  // Replaces the screen with `lines`; `emphasized` (an index) is drawn in reverse video.
  void draw(const std::vector<std::string>& lines, size_t emphasized);

 private:
  explicit TerminalView(SCREEN* screen) : screen_(screen) {}
  SCREEN* screen_;
};

}  // namespace loopprof::top
