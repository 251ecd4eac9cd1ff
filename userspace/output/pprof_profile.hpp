// Stalls as a pprof profile (profile.proto, gzip-compressed): what
// `go tool pprof`, Pyroscope and Parca read. Takes stalls from any source (a
// profile run, an events file, the agent), so it knows nothing of targets.
//
// Sample types: stalls/count (each stall counts once, on its heaviest stack)
// and stall_time/nanoseconds (the default: every stack's share of its stall).
// Labels: cause (the stall's main cause), state (on_cpu/off_cpu), thread,
// tid, pid, and the metadata's labels of that pid. Python frames are functions with file and line;
// inlined native frames are lines of one location; native frames belong to a mapping per module,
// with the build ID its frames carry (else the one in the metadata); the main binary is the first
// mapping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/stall.hpp"

namespace loopprof {

struct PprofMetadata {
  uint64_t time_unix_ns = 0;  // when the profile began (0: unknown)
  uint64_t duration_ns = 0;   // how long it covered
  std::vector<std::string> comments;
  std::map<std::string, std::string> build_ids;  // module path -> build ID (hex)
  // pid -> labels every sample of that process also carries (the agent's
  // comm, service, runtime).
  std::map<int64_t, std::vector<std::pair<std::string, std::string>>> process_labels;
};

class PprofBuilder {
 public:
  PprofBuilder();
  ~PprofBuilder();
  PprofBuilder(const PprofBuilder&) = delete;
  PprofBuilder& operator=(const PprofBuilder&) = delete;

  // Adds a final stall's stacks.
  void add(const Stall& stall);
  // The serialized profile, gzip-compressed.
  std::string encode(const PprofMetadata& metadata) const;

 private:
  struct Tables;
  std::unique_ptr<Tables> tables_;
};

// encode_pprof(stalls, metadata): the gzip-compressed profile of these stalls.
std::string encode_pprof(std::span<const Stall> stalls, const PprofMetadata& metadata);

// gzip (RFC 1952) of bytes, deterministic (no name, no time in the header).
std::string gzip_bytes(const std::string& bytes);

}  // namespace loopprof
