#include "node/node_support.hpp"

#include <fmt/format.h>

#include <unordered_set>

#include "node/snapshot_memory.hpp"
#include "symbols/proc_maps.hpp"

namespace loopprof::node {

Result<std::unique_ptr<NodeSupport>> NodeSupport::attach(pid_t pid) {
  auto maps = read_proc_maps(pid);
  if (!maps) return maps.error();
  std::unordered_set<std::string> seen;
  for (const Mapping& m : maps.value()) {
    if (!m.executable || !m.file_backed() || !seen.insert(m.path).second) continue;
    // Only binaries that may embed V8: looking into every library is slow.
    const std::string base = m.path.substr(m.path.rfind('/') + 1);
    if (base.find("node") == std::string::npos && base.find("v8") == std::string::npos &&
        base.find("electron") == std::string::npos)
      continue;
    auto symbols = read_v8_debug_symbols(fmt::format("/proc/{}/root{}", pid, m.path));
    if (!symbols || symbols.value().empty()) continue;
    auto layout = v8_layout_from_symbols(symbols.value());
    if (!layout) return layout.error();
    return std::unique_ptr<NodeSupport>(new NodeSupport(pid, m.path, std::move(layout.value())));
  }
  return std::unique_ptr<NodeSupport>();
}

std::string NodeSupport::description() const {
  return fmt::format("V8 frames ({})", binary_);
}

bool NodeSupport::is_v8_code(const Frame& native) {
  if (native.kind == FrameKind::native && native.name.rfind("Builtins_", 0) == 0) return true;
  // Anonymous executable memory (JIT code), named or not by a perf map.
  return native.module.empty() || native.module[0] != '/' ||
         native.module.rfind("/tmp/perf-", 0) == 0;
}

std::optional<Frame> NodeSupport::frame(uint64_t fp, const Frame& native,
                                        const SnapshotBytes& snapshot) {
  if (fp == 0 || !is_v8_code(native)) return std::nullopt;
  SnapshotMemory stack(snapshot);
  auto v8 = reader_.read(fp, stack);
  if (!v8) return std::nullopt;
  Frame out;
  out.address = native.address;
  if (v8->kind == V8Frame::Kind::typed) {
    if (native.kind == FrameKind::native && !native.name.empty()) return std::nullopt;
    out.kind = FrameKind::native;
    out.name = fmt::format("[V8 {}]", v8->function);
    return out;
  }
  out.kind = FrameKind::python;  // a script frame: function (file:LINE)
  out.name = v8->function;
  out.file = v8->script;
  out.line = v8->line;
  return out;
}

}  // namespace loopprof::node
