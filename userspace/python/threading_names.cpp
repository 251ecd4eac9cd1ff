#include "python/threading_names.hpp"

#include "python/objects.hpp"
#include "python/thread_states.hpp"

namespace loopprof::python {

namespace {
constexpr size_t kMaxThreads = 1 << 14;
constexpr size_t kMaxNameChars = 256;

void names_of_interpreter(const PyObjects& objects, const MemoryReader& memory, uint64_t interp,
                          std::unordered_map<pid_t, std::string>& out) {
  auto modules = memory.value<uint64_t>(interp + objects.layout().interp_modules);
  if (!modules || *modules == 0) return;
  auto threading = objects.item(*modules, "threading");
  if (!threading || *threading == 0) return;
  auto module_dict = memory.value<uint64_t>(*threading + 16);  // PyModuleObject.md_dict
  if (!module_dict || *module_dict == 0) return;
  auto active = objects.item(*module_dict, "_active");
  if (!active || *active == 0) return;
  (void)objects.for_each_item(*active, kMaxThreads, [&](uint64_t, uint64_t thread) {
    auto name_object = objects.attribute(thread, "_name");
    auto tid_object = objects.attribute(thread, "_native_id");
    if (!name_object || !tid_object || *name_object == 0 || *tid_object == 0) return;
    auto name = objects.str(*name_object);
    auto tid = objects.integer(*tid_object);
    if (!name || !tid || *tid <= 0 || *tid > (int64_t{1} << 22) || name->empty() ||
        name->size() > kMaxNameChars)
      return;
    out.emplace(static_cast<pid_t>(*tid), std::move(*name));
  });
}
}  // namespace

std::unordered_map<pid_t, std::string> threading_names(const MemoryReader& memory,
                                                       const InterpreterLayout& layout,
                                                       uint64_t runtime) {
  std::unordered_map<pid_t, std::string> out;
  auto objects_layout = object_layout_for(layout.version);
  if (!objects_layout) return out;
  PyObjects objects(memory, layout, *objects_layout);
  for (uint64_t interp : list_interpreters(memory, layout, runtime))
    names_of_interpreter(objects, memory, interp, out);
  return out;
}

}  // namespace loopprof::python
