// Which Python source files are the application's own code and which are
// libraries (the interpreter's standard library, site-/dist-packages, frozen
// modules), from the paths the interpreter's install uses.
#pragma once

#include <string>
#include <vector>

#include "python/layout.hpp"

namespace loopprof::python {

class LibraryPaths {
 public:
  // `interpreter_files`: the libpython / executable paths of the target (as
  // seen from loopprof, e.g. through /proc/PID/root, and as the target sees
  // them); the standard library is PREFIX/lib/pythonX.Y beside PREFIX/lib or
  // PREFIX/bin, which is where the interpreter itself looks for it
  // (sys.prefix, Modules/getpath.py).
  LibraryPaths(const std::vector<std::string>& interpreter_files, PyVersion version);

  // The dotted module a library file belongs to ("subprocess", "json",
  // "aiohttp.web_protocol", "importlib._bootstrap"); "" for application code.
  std::string library_module(const std::string& file) const;

  const std::vector<std::string>& stdlib_dirs() const { return stdlib_dirs_; }

 private:
  std::vector<std::string> stdlib_dirs_;  // ".../lib/python3.X/"
};

}  // namespace loopprof::python
