// speedscope's own file-format schema (the npm package's
// dist/release/file-format-schema.json), checked with Debian's
// python3-jsonschema: the validator's message, or "" when the file is valid.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "headless_browser.hpp"

namespace loopprof::testing {

inline std::string speedscope_schema_errors(const std::string& speedscope_dir,
                                            const std::filesystem::path& file) {
  const std::string schema = speedscope_dir + "/dist/release/file-format-schema.json";
  if (!std::filesystem::exists(schema)) return "no schema at " + schema + ": run 'make deps'";
  int status = 0;
  std::string out = run_command(
      fmt::format("/usr/bin/python3 -c 'import json, sys, jsonschema\n"
                  "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))'"
                  " '{}' '{}' 2>&1",
                  file.string(), schema),
      &status);
  if (status == 0) return "";
  if (out.find("No module named 'jsonschema'") != std::string::npos)
    return "python3-jsonschema is not installed: run 'make deps'";
  return out.empty() ? "the validator failed" : out;
}

}  // namespace loopprof::testing
