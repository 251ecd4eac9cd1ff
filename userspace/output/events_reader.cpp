#include "output/events_reader.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "output/events_json.hpp"

namespace loopprof {

Result<RecordedRun> read_events_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::failed(fmt::format("open events file {}", path), std::strerror(errno));
  const std::string what = fmt::format("read events file {}", path);
  RecordedRun run;
  bool have_summary = false;
  bool agent_log = false;  // stall lines of `loopprof agent` (they name their service)
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    if (have_summary)
      return Error::failed(what, fmt::format("line {} follows the summary", number),
                           "pass one file written by loopprof --events");
    try {
      nlohmann::json object = nlohmann::json::parse(line);
      const std::string event = object.at("event");
      if (event == "stall") {
        agent_log |= object.contains("service");
        Stall stall = stall_from_json(object);
        if (stall.at_exit)
          run.summary.ongoing_at_exit.push_back(std::move(stall));
        else
          run.stalls.push_back(std::move(stall));
      } else if (event == "summary") {
        if (int version = object.value("format_version", 1); version != kEventsFormatVersion)
          return Error::failed(what,
                               fmt::format("format version {} (this loopprof reads {})", version,
                                           kEventsFormatVersion),
                               version > kEventsFormatVersion
                                   ? "a newer loopprof wrote it: read it with that version"
                                   : "write the events file again with this version of loopprof");
        std::vector<Stall> at_exit = std::move(run.summary.ongoing_at_exit);
        run.summary = summary_from_json(object);
        run.summary.ongoing_at_exit = std::move(at_exit);
        have_summary = true;
      } else {
        return Error::failed(what, fmt::format("line {}: unknown event '{}'", number, event));
      }
    } catch (const nlohmann::json::exception& e) {
      // getline stopped at the end of the file, not at a newline: the last
      // line is cut short (loopprof ends every line, the summary last).
      if (in.eof())
        return Error::failed(what,
                             fmt::format("line {} is cut short: the file ends in the middle of it "
                                         "(an incomplete copy?)",
                                         number),
                             "copy the whole file; loopprof writes its summary line last");
      return Error::failed(what, fmt::format("line {}: {}", number, e.what()),
                           "is it a file written by loopprof --events (this version)?");
    } catch (const std::exception& e) {
      return Error::failed(what, fmt::format("line {}: {}", number, e.what()));
    }
  }
  if (!have_summary && agent_log)
    return Error::failed(what,
                         "it is the stall log of loopprof agent, which has no summary line; "
                         "report reads the --events file of 'loopprof -p PID'",
                         "the agent's stall profile is at /debug/pprof/stalls?seconds=N "
                         "(go tool pprof)");
  if (!have_summary)
    return Error::failed(what, "no summary line (an incomplete file?)",
                         "loopprof writes the summary when profiling ends");
  return run;
}

}  // namespace loopprof
