// Headless Chromium (Debian's `chromium`) for the tests of the HTML report and
// the speedscope file: load a page, let its scripts run, read back the DOM and
// the browser's console log.
#pragma once

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace loopprof::testing {

// Runs a shell command; its standard output, and its exit status in *status.
inline std::string run_command(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *status = -1;
    return out;
  }
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  int rc = pclose(pipe);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

struct BrowserPage {
  int status = -1;
  std::string dom;  // document.documentElement.outerHTML after the scripts ran
  std::string log;  // Chromium's stderr, console messages included
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Loads url in a fresh profile directory under work_dir; virtual_time_ms > 0
// lets timers and script loads run for that long (virtual time) first.
inline BrowserPage load_page(const std::string& url, const std::filesystem::path& work_dir,
                             int virtual_time_ms = 0, const std::string& extra_args = "") {
  std::filesystem::path profile = work_dir / "chromium-profile";
  std::filesystem::path dom = work_dir / "dom.html", log = work_dir / "chromium.log";
  std::string command = fmt::format(
      "chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='{}' "
      "--enable-logging=stderr --v=0 {} {} --dump-dom '{}' > '{}' 2> '{}'",
      profile.string(),
      virtual_time_ms > 0 ? fmt::format("--virtual-time-budget={}", virtual_time_ms) : "",
      extra_args, url, dom.string(), log.string());
  BrowserPage page;
  int rc = std::system(command.c_str());
  page.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  page.dom = read_text(dom);
  page.log = read_text(log);
  return page;
}

inline std::string unescape_html(std::string text) {
  const std::pair<const char*, const char*> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities)
    for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += strlen(to))
      text.replace(at, strlen(from), to);
  return text;
}

// What the HTML report's "#selftest" hook recorded into the page (null if
// the page never got that far).
inline nlohmann::json selftest_result(const std::string& dom) {
  std::smatch m;
  static const std::regex pre(R"(<pre id="selftest-result"[^>]*>([^<]*)</pre>)");
  if (!std::regex_search(dom, m, pre) || m[1].str().empty()) return nullptr;
  return nlohmann::json::parse(unescape_html(m[1].str()), nullptr, false);
}

// Console lines that report a script error.
inline std::vector<std::string> console_errors(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.find("CONSOLE") != std::string::npos &&
        (line.find("Uncaught") != std::string::npos ||
         line.find("ERROR:CONSOLE") != std::string::npos ||
         line.find("Error") != std::string::npos))
      out.push_back(line);
  return out;
}

inline std::string file_url(const std::filesystem::path& path) {
  return "file://" + std::filesystem::absolute(path).string();
}

// speedscope's page (the npm package, installed by tools/npm-deps.sh) with a
// profile loaded the way its own CLI does: a script calling
// speedscope.loadFileFromBase64, named in the page's #localProfilePath.
inline BrowserPage load_in_speedscope(const std::string& speedscope_dir,
                                      const std::filesystem::path& profile_file,
                                      const std::filesystem::path& work_dir) {
  static const char* kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes = read_text(profile_file), base64;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    base64 += kDigits[(n >> 18) & 63];
    base64 += kDigits[(n >> 12) & 63];
    base64 += i + 1 < bytes.size() ? kDigits[(n >> 6) & 63] : '=';
    base64 += i + 2 < bytes.size() ? kDigits[n & 63] : '=';
  }
  std::filesystem::path script = work_dir / "load-profile.js";
  std::ofstream(script) << "speedscope.loadFileFromBase64("
                        << nlohmann::json(profile_file.filename().string()).dump() << ", \""
                        << base64 << "\");\n";
  return load_page(file_url(std::filesystem::path(speedscope_dir) / "dist/release/index.html") +
                       "#localProfilePath=" + std::filesystem::absolute(script).string(),
                   work_dir, 10000);
}

}  // namespace loopprof::testing
