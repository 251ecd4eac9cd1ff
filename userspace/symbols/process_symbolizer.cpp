// ProcessSymbolizer: /proc/PID/maps + ELF modules + the JIT perf map.
#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "symbols/mapped_file.hpp"
#include "symbols/module_cache.hpp"
#include "symbols/perf_map.hpp"
#include "symbols/proc_maps.hpp"
#include "symbols/symbolizer.hpp"
#include "target/proc_path.hpp"

namespace loopprof {

namespace {

using Clock = std::chrono::steady_clock;

// Full answers per address; dropped wholesale past this size.
constexpr size_t kMaxCachedResults = 1 << 18;

bool same_root(pid_t pid) {
  struct stat theirs {
  }, ours{};
  if (::stat((proc_dir(pid) + "/root/").c_str(), &theirs) != 0) return true;
  if (::stat("/", &ours) != 0) return true;
  return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

std::vector<std::string> default_debug_dirs(pid_t pid) {
  std::vector<std::string> dirs;
  if (!same_root(pid)) dirs.push_back(proc_dir(pid) + "/root/usr/lib/debug");
  dirs.push_back("/usr/lib/debug");
  return dirs;
}

// module+0xOFFSET: the file offset in a file mapping, the offset from the
// start of an anonymous one (printed as 0xADDRESS: it has no module name).
Frame unknown_frame(const Mapping* mapping, uint64_t address) {
  Frame frame;
  frame.kind = FrameKind::unknown;
  frame.address = address;
  if (mapping != nullptr) {
    frame.module = mapping->path;
    frame.offset =
        mapping->file_backed() ? mapping->file_offset_of(address) : address - mapping->start;
  }
  return frame;
}

class MapsSymbolizer final : public ProcessSymbolizer {
 public:
  MapsSymbolizer(pid_t pid, ProcessSymbolizerOptions options, Mappings mappings)
      : pid_(pid),
        options_(std::move(options)),
        mappings_(std::move(mappings)),
        maps_read_at_(Clock::now()) {
    if (options_.debug_dirs.empty()) options_.debug_dirs = default_debug_dirs(pid);
    if (!options_.cache) options_.cache = std::make_shared<ModuleCache>();
  }

  Frames symbolize(uint64_t address, bool return_address) override {
    auto& cache = results_[return_address ? 1 : 0];
    if (auto it = cache.find(address); it != cache.end()) return it->second;

    const uint64_t lookup = return_address && address > 0 ? address - 1 : address;
    const Mapping* mapping = find_mapping(mappings_, lookup);
    if (mapping == nullptr && due(maps_read_at_)) {
      reload_maps();  // a library dlopen'ed since
      mapping = find_mapping(mappings_, lookup);
    }
    if (mapping != nullptr && (mapping->file_backed() || mapping->vdso())) {
      if (auto frames = from_elf(*mapping, address, lookup)) {
        if (cache.size() >= kMaxCachedResults) cache.clear();
        cache.emplace(address, *frames);
        return std::move(*frames);
      }
    }
    // JIT code (or a binary without symbols that a JIT described): never
    // cached, the perf map grows and code moves.
    if (auto name = from_perf_map(lookup)) {
      Frame jit = unknown_frame(mapping, address);
      jit.kind = FrameKind::native;
      jit.name = std::string(*name);
      jit.module = perf_map_->path();
      return {jit};
    }
    return {unknown_frame(mapping, address)};
  }

  void refresh() override {
    reload_maps();
    if (perf_map_) {
      perf_map_->update();
      perf_map_checked_at_ = Clock::now();
    }
  }

 private:
  bool due(Clock::time_point last) const { return Clock::now() - last >= options_.reload_interval; }

  void reload_maps() {
    maps_read_at_ = Clock::now();
    auto mappings = read_proc_maps(pid_);
    if (!mappings) return;  // the process is gone: keep what we knew
    mappings_ = std::move(mappings.value());
    files_.clear();
    results_[0].clear();
    results_[1].clear();
  }

  // Frames from the ELF file behind `mapping`; nullopt when it names
  // nothing there (the caller then tries the perf map).
  std::optional<Frames> from_elf(const Mapping& mapping, uint64_t address, uint64_t lookup) {
    ElfModule* module = module_for(mapping);
    if (module == nullptr) return std::nullopt;
    auto vaddr = module->vaddr_of_file_offset(mapping.file_offset_of(lookup));
    if (!vaddr) return std::nullopt;
    const std::vector<SymbolicFrame>& symbolic = module->lookup(*vaddr);
    if (symbolic.empty()) {
      // A binary without symbols here. A JIT may still have described it.
      if (options_.perf_map && from_perf_map(lookup)) return std::nullopt;
      Frame unnamed = unknown_frame(&mapping, address);
      unnamed.build_id = module->build_id();
      // Labelled by the start of its function, so samples in it add up.
      if (auto start = module->function_start(*vaddr); start && *start <= *vaddr)
        unnamed.offset = mapping.file_offset_of(lookup) - (*vaddr - *start);
      return Frames{unnamed};
    }
    Frames frames;
    frames.reserve(symbolic.size());
    for (const SymbolicFrame& s : symbolic) {
      Frame& frame = frames.emplace_back(unknown_frame(&mapping, address));
      frame.kind = FrameKind::native;
      frame.name = s.name;
      frame.file = s.file;
      frame.line = s.line;
      frame.inlined = s.inlined;
      frame.build_id = module->build_id();
    }
    return frames;
  }

  ElfModule* module_for(const Mapping& mapping) {
    auto key = std::make_tuple(mapping.dev_major, mapping.dev_minor, mapping.inode, mapping.path);
    if (auto it = files_.find(key); it != files_.end()) return it->second.get();
    auto fd = mapping.vdso() ? open_vdso_image(pid_, mapping) : open_mapped_file(pid_, mapping);
    std::shared_ptr<ElfModule> module;
    if (fd) {
      auto path = mapping.vdso() ? mapping.path : proc_dir(pid_) + "/root" + mapping.path;
      auto opened = options_.cache->get(std::move(fd.value()), path, options_.debug_dirs);
      if (opened) module = std::move(opened.value());
    }
    return files_.emplace(key, std::move(module)).first->second.get();
  }

  std::optional<std::string_view> from_perf_map(uint64_t lookup) {
    if (!options_.perf_map) return std::nullopt;
    if (!perf_map_) {
      perf_map_.emplace(perf_map_of(pid_));
      perf_map_->update();
      perf_map_checked_at_ = Clock::now();
    }
    if (auto name = perf_map_->lookup(lookup)) return name;
    if (!due(perf_map_checked_at_)) return std::nullopt;
    perf_map_->update();
    perf_map_checked_at_ = Clock::now();
    return perf_map_->lookup(lookup);
  }

  pid_t pid_;
  ProcessSymbolizerOptions options_;
  Mappings mappings_;
  Clock::time_point maps_read_at_;
  // Per mapped file of the current maps (null: could not be opened/parsed).
  std::map<std::tuple<uint32_t, uint32_t, uint64_t, std::string>, std::shared_ptr<ElfModule>>
      files_;
  std::optional<PerfMap> perf_map_;
  Clock::time_point perf_map_checked_at_{};
  std::unordered_map<uint64_t, Frames> results_[2];  // [return_address]
};

}  // namespace

Result<std::unique_ptr<ProcessSymbolizer>> ProcessSymbolizer::open(
    pid_t pid, ProcessSymbolizerOptions options) {
  auto mappings = read_proc_maps(pid);
  if (!mappings) return mappings.error();
  return std::unique_ptr<ProcessSymbolizer>(
      std::make_unique<MapsSymbolizer>(pid, std::move(options), std::move(mappings.value())));
}

std::unique_ptr<ProcessSymbolizer> ProcessSymbolizer::create(pid_t pid) {
  auto symbolizer = open(pid, {});
  if (symbolizer) return std::move(symbolizer.value());
  return std::make_unique<MapsSymbolizer>(pid, ProcessSymbolizerOptions{}, Mappings{});
}

}  // namespace loopprof
