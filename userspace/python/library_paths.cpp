#include "python/library_paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace loopprof::python {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// "json/__init__.py" -> "json"; "asyncio/events.py" -> "asyncio.events".
std::string dotted(std::string relative) {
  for (const char* ext : {".py", ".pyc"})
    if (relative.size() > std::string(ext).size() &&
        relative.compare(relative.size() - std::string(ext).size(), std::string::npos, ext) == 0)
      relative.resize(relative.size() - std::string(ext).size());
  const std::string init = "/__init__";
  if (relative.size() > init.size() &&
      relative.compare(relative.size() - init.size(), std::string::npos, init) == 0)
    relative.resize(relative.size() - init.size());
  std::replace(relative.begin(), relative.end(), '/', '.');
  return relative.empty() ? std::string("?") : relative;
}

}  // namespace

LibraryPaths::LibraryPaths(const std::vector<std::string>& interpreter_files, PyVersion version) {
  const std::string lib = fmt::format("lib/python{}.{}", version.major, version.minor);
  for (const std::string& file : interpreter_files) {
    if (file.empty()) continue;
    // PREFIX/lib/libpython3.X.so or PREFIX/bin/python3.X -> PREFIX
    std::filesystem::path prefix = std::filesystem::path(file).parent_path().parent_path();
    for (const std::string& dir :
         {(prefix / lib).string() + "/", (prefix / (lib + "t")).string() + "/"})  // free-threaded
      if (std::find(stdlib_dirs_.begin(), stdlib_dirs_.end(), dir) == stdlib_dirs_.end())
        stdlib_dirs_.push_back(dir);
  }
}

std::string LibraryPaths::library_module(const std::string& file) const {
  if (starts_with(file, "<frozen ")) {  // "<frozen importlib._bootstrap>"
    std::string name = file.substr(8);
    if (!name.empty() && name.back() == '>') name.pop_back();
    return name.empty() ? std::string("?") : name;
  }
  for (const char* packages : {"/site-packages/", "/dist-packages/"}) {
    size_t at = file.rfind(packages);
    if (at != std::string::npos) return dotted(file.substr(at + std::string(packages).size()));
  }
  for (const std::string& dir : stdlib_dirs_)
    if (starts_with(file, dir)) return dotted(file.substr(dir.size()));
  return {};
}

}  // namespace loopprof::python
