#include "top/terminal_view.hpp"

#include <curses.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace loopprof::top {

Result<std::unique_ptr<TerminalView>> TerminalView::open() {
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (!screen)
    return Error::failed(
        "open the terminal",
        std::string("ncurses cannot drive TERM=") + (getenv("TERM") ? getenv("TERM") : "(unset)"),
        "set TERM to your terminal's type, or use --text");
  set_term(screen);
  cbreak();  // keys at once; Ctrl-C still signals
  noecho();
  nodelay(stdscr, TRUE);
  keypad(stdscr, TRUE);
  curs_set(0);
  return std::unique_ptr<TerminalView>(new TerminalView(screen));
}

TerminalView::~TerminalView() {
  endwin();  // leaves the alternate screen, restores the modes
  delscreen(screen_);
}

size_t TerminalView::width() const {
  return static_cast<size_t>(COLS > 0 ? COLS : 80);
}

size_t TerminalView::height() const {
  return static_cast<size_t>(LINES > 0 ? LINES : 24);
}

int TerminalView::input_fd() const {
  return STDIN_FILENO;
}

std::vector<int> TerminalView::read_keys() {
  std::vector<int> keys;
  for (int key = getch(); key != ERR; key = getch()) keys.push_back(key);
  return keys;
}

void TerminalView::draw(const std::vector<std::string>& lines, size_t emphasized) {
  erase();
  int rows = static_cast<int>(height());
  for (size_t i = 0; i < lines.size() && static_cast<int>(i) < rows; ++i) {
    if (i == emphasized) attron(A_REVERSE);
    mvaddnstr(static_cast<int>(i), 0, lines[i].c_str(), static_cast<int>(width()));
    if (i == emphasized) {
      // The bar spans the whole width.
      for (int x = static_cast<int>(lines[i].size()); x < static_cast<int>(width()); ++x)
        mvaddch(static_cast<int>(i), x, ' ');
      attroff(A_REVERSE);
    }
  }
  refresh();
}

}  // namespace loopprof::top
