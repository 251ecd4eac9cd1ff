#include "app/top_command.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <deque>
#include <memory>

#include "app/command_support.hpp"
#include "app/exit_code.hpp"
#include "core/monotonic_clock.hpp"
#include "core/unique_fd.hpp"
#include "top/interval_stats.hpp"
#include "top/loop_source.hpp"
#include "top/terminal_view.hpp"
#include "top/top_render.hpp"

namespace loopprof {

namespace {

std::string wall_clock() {
  time_t now = time(nullptr);
  tm local{};
  localtime_r(&now, &local);
  return fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

// Notices stay on the screen for a while.
class Notices {
 public:
  void add(std::vector<std::string> notices, uint64_t now_ns) {
    for (std::string& n : notices) shown_.push_back({now_ns, std::move(n)});
  }
  std::vector<std::string> current(uint64_t now_ns) {
    while (!shown_.empty() && now_ns - shown_.front().first > kShownNs) shown_.pop_front();
    std::vector<std::string> out;
    for (const auto& [at, text] : shown_) out.push_back(text);
    return out;
  }

 private:
  static constexpr uint64_t kShownNs = 10'000'000'000ull;
  std::deque<std::pair<uint64_t, std::string>> shown_;
};

// Where frames go: the terminal view, or plain text blocks on stdout.
class Display {
 public:
  explicit Display(std::unique_ptr<top::TerminalView> view) : view_(std::move(view)) {}
  bool terminal() const { return view_ != nullptr; }
  top::TerminalView* view() { return view_.get(); }

  // Returns false when stdout is gone (a closed pipe).
  bool show(const top::TopFrame& frame, const top::ScreenHeader& header) {
    if (view_) {
      top::ScreenText text = top::render_top(frame, header,
                                             {.width = view_->width(),
                                              .height = view_->height(),
                                              .stacks = SIZE_MAX,
                                              .stack_width = 0});
      view_->draw(text.lines, text.columns_line);
      return true;
    }
    top::ScreenText text = top::render_top(frame, header);
    for (const std::string& line : text.lines) fmt::print(stdout, "{}\n", line);
    fmt::print(stdout, "\n");
    return std::fflush(stdout) == 0 && !std::ferror(stdout);
  }
  // Gives the terminal back.
  void close() { view_.reset(); }

 private:
  std::unique_ptr<top::TerminalView> view_;
};

}  // namespace

int run_top(const TopOptions& options) {
  route_libbpf_messages(options.verbose);
  auto sort = top::parse_sort_key(options.sort);
  top::SourceConfig config{.threshold_ns = static_cast<uint64_t>(options.threshold_ms * 1e6),
                           .sample_hz = options.sample_hz,
                           .ringbuf_bytes = options.ringbuf_mb << 20,
                           .verbose = options.verbose};
  auto opened = options.pids.empty() ? top::open_host_session(config)
                                     : top::open_process_sessions(options.pids, config);
  if (!opened) return fail(opened.error());
  std::unique_ptr<top::LoopSource> source = std::move(opened).value();
  UniqueFd signals = stop_signals_fd();

  std::unique_ptr<top::TerminalView> view;
  if (!options.text && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
    auto terminal = top::TerminalView::open();
    if (!terminal)
      fmt::print(stderr, "loopprof: warning: {}; printing plain text\n", terminal.error().message);
    else
      view = std::move(terminal).value();
  }
  Display display(std::move(view));

  const uint64_t interval_ns = static_cast<uint64_t>(options.interval_s * 1e9);
  uint64_t start = monotonic_ns();
  top::IntervalAggregator aggregator(start, static_cast<uint64_t>(options.window_s * 1e9));
  top::ScreenHeader header{.targets = source->describe(),
                           .threshold_ns = config.threshold_ns,
                           .sort = sort.value_or(top::SortKey::lag_p99),
                           .keys = display.terminal()};
  top::TopFrame frame{.now_ns = start, .window_ns = static_cast<uint64_t>(options.window_s * 1e9)};
  Notices notices;
  uint64_t next_refresh = start + interval_ns;
  uint32_t refreshes = 0;
  std::string stop_reason;

  auto redraw = [&](uint64_t now) {
    header.clock = wall_clock();
    header.notices = notices.current(now);
    if (!display.show(frame, header)) stop_reason = "output closed";
  };
  if (display.terminal()) redraw(start);  // the header and keys at once

  while (stop_reason.empty()) {
    std::vector<pollfd> fds;
    for (int fd : source->fds()) fds.push_back({.fd = fd, .events = POLLIN});
    fds.push_back({.fd = signals.get(), .events = POLLIN});
    if (display.terminal()) fds.push_back({.fd = display.view()->input_fd(), .events = POLLIN});
    uint64_t now = monotonic_ns();
    int wait_ms = now >= next_refresh ? 0 : static_cast<int>((next_refresh - now) / 1'000'000) + 1;
    (void)poll(fds.data(), fds.size(), std::min(wait_ms, 100));

    signalfd_siginfo info{};
    if (read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
      stop_reason = info.ssi_signo == SIGINT ? "interrupted" : "terminated";
      break;
    }
    if (display.terminal()) {
      bool changed = false;
      for (int key : display.view()->read_keys()) {
        if (key == 'q' || key == 'Q') stop_reason = "quit";
        if (key == ' ') header.paused = !header.paused;
        if (auto by = top::sort_key_for_key(key)) header.sort = *by;
        changed = true;  // a resize, a new order, pause: show it now
      }
      if (!stop_reason.empty()) break;
      if (changed) redraw(monotonic_ns());
    }

    if (auto pumped = source->pump(); !pumped) {
      display.close();
      return fail(pumped.error());
    }
    notices.add(source->take_notices(), monotonic_ns());
    now = monotonic_ns();
    if (now >= next_refresh) {
      // On time, the next one is an interval later; late (a loaded machine),
      // a whole interval from now rather than a short catch-up interval.
      next_refresh += interval_ns;
      if (next_refresh < now + interval_ns / 2) next_refresh = now + interval_ns;
      top::IntervalInput input = source->collect(now);
      top::TopFrame next = aggregator.next(now, input.loops, input.stalls);
      header.targets = source->describe();
      if (!header.paused) {
        frame = std::move(next);
        redraw(now);
      }
      ++refreshes;
      if (options.iterations && refreshes >= options.iterations) stop_reason = "iterations done";
    }
    if (stop_reason.empty() && source->done()) stop_reason = "every target exited";
  }
  display.close();
  if (stop_reason == "every target exited") {
    for (const std::string& notice : notices.current(monotonic_ns()))
      fmt::print(stderr, "loopprof: {}\n", notice);
  }
  return kExitOk;
}

}  // namespace loopprof
