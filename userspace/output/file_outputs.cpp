#include "output/file_outputs.hpp"

#include "output/format_writers.hpp"

namespace loopprof {

Result<std::vector<std::unique_ptr<OutputSink>>> open_file_outputs(const OutputPaths& paths) {
  std::vector<std::unique_ptr<OutputSink>> sinks;
  auto add = [&](Result<std::unique_ptr<OutputSink>> sink) -> Status {
    if (!sink) return sink.error();
    sinks.push_back(std::move(sink).value());
    return ok_status();
  };
  const std::pair<const std::string*, StallEncoder> encoded[] = {
      {&paths.html, encode_html},
      {&paths.pprof, encode_pprof_file},
      {&paths.speedscope, encode_speedscope},
      {&paths.trace, encode_trace}};
  if (!paths.folded.empty())
    if (auto added = add(make_folded_writer(paths.folded)); !added) return added.error();
  if (!paths.events.empty())
    if (auto added = add(make_jsonl_writer(paths.events)); !added) return added.error();
  for (const auto& [path, encode] : encoded)
    if (!path->empty())
      if (auto added = add(make_encoded_file_writer(*path, encode)); !added) return added.error();
  return sinks;
}

}  // namespace loopprof
