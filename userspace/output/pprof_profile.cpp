#include "output/pprof_profile.hpp"

#include <zlib.h>

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "output/pprof/profile.pb.h"

namespace loopprof {

namespace pb = perftools::profiles;

namespace {

// A location: one out-of-line frame and the calls inlined into it (root
// first, as in Frames), or one frame of any other kind.
using FrameGroup = std::vector<const Frame*>;

std::vector<FrameGroup> group_inlined(const Frames& frames) {
  std::vector<FrameGroup> groups;
  for (const Frame& frame : frames) {
    bool joins = frame.inlined && frame.kind == FrameKind::native && !groups.empty() &&
                 groups.back().front()->kind == FrameKind::native &&
                 groups.back().front()->address == frame.address;
    if (joins)
      groups.back().push_back(&frame);
    else
      groups.push_back({&frame});
  }
  return groups;
}

// The function name pprof shows for a frame.
std::string function_name(const Frame& frame) {
  switch (frame.kind) {
    case FrameKind::python:
    case FrameKind::kernel:
      return frame.name.empty() ? frame_label(frame) : frame.name;
    case FrameKind::native:
      if (!frame.name.empty()) return frame.name;
      return frame_label(frame);
    case FrameKind::truncated:
    case FrameKind::unknown:
      return frame_label(frame);
  }
  return frame_label(frame);
}

// Mappings in the order written: pprof names the first one the profile's
// main binary ("File:"), so the first that is neither a shared library nor
// a pseudo-file such as [kernel] or [vdso] goes first; the others keep their
// order of first use.
std::vector<size_t> mapping_order(const std::vector<std::string>& paths) {
  std::vector<size_t> order(paths.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto library = [](const std::string& path) {
    std::string_view name = std::string_view(path).substr(path.rfind('/') + 1);
    return name.find(".so") != std::string_view::npos;
  };
  for (size_t i = 0; i < paths.size(); ++i)
    if (!paths[i].empty() && paths[i][0] != '[' && !library(paths[i])) {
      std::rotate(order.begin(), order.begin() + i, order.begin() + i + 1);
      break;
    }
  return order;
}

Frame synthetic_frame(const char* name) {
  return Frame{.kind = FrameKind::truncated, .name = name};
}

}  // namespace

struct PprofBuilder::Tables {
  std::vector<std::string> strings{""};
  std::unordered_map<std::string, int64_t> string_ids{{"", 0}};
  std::map<std::pair<std::string, std::string>, uint64_t> function_ids;  // (name, file)
  std::vector<pb::Function> functions;
  std::map<std::string, uint64_t> mapping_ids;  // module path
  std::vector<std::string> mapping_paths;
  std::vector<std::string> mapping_build_ids;    // per mapping_paths ("" unknown)
  std::map<std::string, uint64_t> location_ids;  // key of a frame group
  std::vector<pb::Location> locations;
  using SampleKey = std::tuple<std::vector<uint64_t>, std::string, std::string, std::string,
                               int64_t, int64_t>;  // locations, cause, state, thread, tid, pid
  std::map<SampleKey, std::pair<int64_t, int64_t>> samples;  // -> (stalls, ns)
  std::vector<SampleKey> sample_order;

  int64_t str(const std::string& text) {
    auto [it, inserted] = string_ids.try_emplace(text, static_cast<int64_t>(strings.size()));
    if (inserted) strings.push_back(text);
    return it->second;
  }

  uint64_t function(const Frame& frame) {
    std::string name = function_name(frame);
    auto key = std::make_pair(name, frame.file);
    auto it = function_ids.find(key);
    if (it != function_ids.end()) return it->second;
    uint64_t id = functions.size() + 1;
    pb::Function& f = functions.emplace_back();
    f.set_id(id);
    f.set_name(str(name));
    // A Python name is no linker symbol: without a system name, pprof takes
    // it as it is (else "<module>" or "<lambda>" look like C++ template
    // arguments to its demangler, which strips them to nothing).
    if (frame.kind != FrameKind::python) f.set_system_name(str(name));
    f.set_filename(str(frame.file));
    function_ids.emplace(std::move(key), id);
    return id;
  }

  uint64_t mapping(const std::string& module, const std::string& build_id) {
    auto [it, inserted] = mapping_ids.try_emplace(module, mapping_paths.size() + 1);
    if (inserted) {
      mapping_paths.push_back(module);
      mapping_build_ids.push_back(build_id);
    }
    if (std::string& known = mapping_build_ids[it->second - 1]; known.empty()) known = build_id;
    return it->second;
  }

  static std::string group_key(const FrameGroup& group) {
    std::string key;
    for (const Frame* f : group) {
      key += std::to_string(static_cast<int>(f->kind));
      key += '\x1f';
      key += f->name;
      key += '\x1f';
      key += f->file;
      key += '\x1f';
      key += std::to_string(f->line);
      key += '\x1f';
      key += f->module;
      key += '\x1f';
      // Python frames are one location per source line, wherever the
      // interpreter was.
      if (f->kind != FrameKind::python) key += std::to_string(f->address);
      key += '\x1e';
    }
    return key;
  }

  uint64_t location(const FrameGroup& group) {
    std::string key = group_key(group);
    auto it = location_ids.find(key);
    if (it != location_ids.end()) return it->second;
    uint64_t id = locations.size() + 1;
    pb::Location& loc = locations.emplace_back();
    loc.set_id(id);
    const Frame& outer = *group.front();
    if ((outer.kind == FrameKind::native || outer.kind == FrameKind::kernel ||
         outer.kind == FrameKind::unknown) &&
        !outer.module.empty()) {
      loc.set_mapping_id(mapping(outer.module, outer.build_id));
      loc.set_address(outer.address);
    }
    // pprof: the innermost inlined call first, the function holding it last.
    for (auto frame = group.rbegin(); frame != group.rend(); ++frame) {
      pb::Line* line = loc.add_line();
      line->set_function_id(function(**frame));
      line->set_line((*frame)->line);
    }
    location_ids.emplace(std::move(key), id);
    return id;
  }

  void add_sample(const Frames& frames, const Stall& stall, const char* state, int64_t stalls,
                  int64_t ns) {
    std::vector<uint64_t> ids;
    std::vector<FrameGroup> groups = group_inlined(frames);
    ids.reserve(groups.size());
    for (auto group = groups.rbegin(); group != groups.rend(); ++group)
      ids.push_back(location(*group));  // leaf first
    SampleKey key{std::move(ids), main_cause(stall.breakdown),     state,
                  stall.thread,   static_cast<int64_t>(stall.tid), static_cast<int64_t>(stall.pid)};
    auto [it, inserted] = samples.try_emplace(key, 0, 0);
    if (inserted) sample_order.push_back(key);
    it->second.first += stalls;
    it->second.second += ns;
  }
};

PprofBuilder::PprofBuilder() : tables_(std::make_unique<Tables>()) {}
PprofBuilder::~PprofBuilder() = default;

void PprofBuilder::add(const Stall& stall) {
  // The stall counts once, on its heaviest stack.
  size_t heaviest = 0;
  uint64_t attributed_us = 0;
  for (size_t i = 0; i < stall.stacks.size(); ++i) {
    attributed_us += stall.stacks[i].weight_us;
    if (stall.stacks[i].weight_us > stall.stacks[heaviest].weight_us) heaviest = i;
  }
  for (size_t i = 0; i < stall.stacks.size(); ++i) {
    const WeightedStack& stack = stall.stacks[i];
    const Frames& frames =
        stack.frames.empty() ? Frames{synthetic_frame("[no stack]")} : stack.frames;
    tables_->add_sample(frames, stall, cpu_state_name(stack.state), i == heaviest ? 1 : 0,
                        static_cast<int64_t>(stack.weight_us * 1000));
  }
  // Stall time no captured stack accounts for still counts.
  uint64_t duration_us = stall.duration_ns / 1000;
  if (stall.stacks.empty() || attributed_us < duration_us)
    tables_->add_sample(
        Frames{synthetic_frame("[no stack captured]")}, stall, "unknown",
        stall.stacks.empty() ? 1 : 0,
        static_cast<int64_t>((duration_us - std::min(attributed_us, duration_us)) * 1000));
}

std::string PprofBuilder::encode(const PprofMetadata& metadata) const {
  Tables tables = *tables_;  // string ids added below stay out of the builder
  pb::Profile profile;
  auto value_type = [&](pb::ValueType* type, const char* name, const char* unit) {
    type->set_type(tables.str(name));
    type->set_unit(tables.str(unit));
  };
  value_type(profile.add_sample_type(), "stalls", "count");
  value_type(profile.add_sample_type(), "stall_time", "nanoseconds");
  profile.set_default_sample_type(tables.str("stall_time"));
  value_type(profile.mutable_period_type(), "stall_time", "nanoseconds");
  profile.set_period(1);
  profile.set_time_nanos(static_cast<int64_t>(metadata.time_unix_ns));
  profile.set_duration_nanos(static_cast<int64_t>(metadata.duration_ns));
  for (const std::string& comment : metadata.comments) profile.add_comment(tables.str(comment));

  const int64_t cause = tables.str("cause"), state = tables.str("state"),
                thread = tables.str("thread"), tid = tables.str("tid"), pid = tables.str("pid");
  for (const Tables::SampleKey& key : tables.sample_order) {
    const auto& [stalls, ns] = tables.samples.at(key);
    pb::Sample* sample = profile.add_sample();
    for (uint64_t id : std::get<0>(key)) sample->add_location_id(id);
    sample->add_value(stalls);
    sample->add_value(ns);
    auto label = [&](int64_t name) {
      pb::Label* l = sample->add_label();
      l->set_key(name);
      return l;
    };
    label(cause)->set_str(tables.str(std::get<1>(key)));
    label(state)->set_str(tables.str(std::get<2>(key)));
    label(thread)->set_str(tables.str(std::get<3>(key)));
    label(tid)->set_num(std::get<4>(key));
    label(pid)->set_num(std::get<5>(key));
    if (auto it = metadata.process_labels.find(std::get<5>(key));
        it != metadata.process_labels.end())
      for (const auto& [name, value] : it->second)
        label(tables.str(name))->set_str(tables.str(value));
  }
  for (size_t i : mapping_order(tables.mapping_paths)) {
    const std::string& path = tables.mapping_paths[i];
    pb::Mapping* mapping = profile.add_mapping();
    mapping->set_id(i + 1);
    mapping->set_filename(tables.str(path));
    std::string build_id = tables.mapping_build_ids[i];
    if (auto it = metadata.build_ids.find(path); build_id.empty() && it != metadata.build_ids.end())
      build_id = it->second;
    if (!build_id.empty()) mapping->set_build_id(tables.str(build_id));
    // Frames arrive symbolized: readers must not symbolize them again.
    mapping->set_has_functions(true);
    mapping->set_has_filenames(true);
    mapping->set_has_line_numbers(true);
    mapping->set_has_inline_frames(true);
  }
  for (const pb::Location& location : tables.locations) *profile.add_location() = location;
  for (const pb::Function& function : tables.functions) *profile.add_function() = function;
  for (const std::string& text : tables.strings) profile.add_string_table(text);
  return gzip_bytes(profile.SerializeAsString());
}

std::string encode_pprof(std::span<const Stall> stalls, const PprofMetadata& metadata) {
  PprofBuilder builder;
  for (const Stall& stall : stalls) builder.add(stall);
  return builder.encode(metadata);
}

std::string gzip_bytes(const std::string& bytes) {
  z_stream stream{};
  // 15 + 16: gzip wrapper; zlib writes no name and a zero time.
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, bytes.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace loopprof
