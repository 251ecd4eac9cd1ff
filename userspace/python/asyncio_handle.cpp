#include "python/asyncio_handle.hpp"

#include "python/objects.hpp"
#include "python/thread_states.hpp"

namespace loopprof::python {

namespace {
constexpr uint32_t kModuleDict = 16;  // PyModuleObject.md_dict

std::optional<uint64_t> handle_run_of_interpreter(const PyObjects& objects,
                                                  const MemoryReader& memory, uint64_t interp) {
  const ObjectLayout& l = objects.layout();
  auto modules = memory.value<uint64_t>(interp + l.interp_modules);
  if (!modules || *modules == 0) return std::nullopt;
  auto events = objects.item(*modules, "asyncio.events");
  if (!events || *events == 0) return std::nullopt;
  auto module_dict = memory.value<uint64_t>(*events + kModuleDict);
  if (!module_dict || *module_dict == 0) return std::nullopt;
  auto handle = objects.item(*module_dict, "Handle");
  if (!handle || *handle == 0) return std::nullopt;
  auto type_dict = memory.value<uint64_t>(*handle + l.type_dict);
  if (!type_dict || *type_dict == 0) return std::nullopt;
  auto run = objects.item(*type_dict, "_run");
  if (!run || *run == 0) return std::nullopt;
  auto code = memory.value<uint64_t>(*run + l.function_code);
  if (!code || *code == 0) return std::nullopt;
  return *code;
}
}  // namespace

std::optional<uint64_t> find_handle_run_code(const MemoryReader& memory,
                                             const InterpreterLayout& layout, uint64_t runtime) {
  auto objects_layout = object_layout_for(layout.version);
  if (!objects_layout) return std::nullopt;
  PyObjects objects(memory, layout, *objects_layout);
  for (uint64_t interp : list_interpreters(memory, layout, runtime))
    if (auto code = handle_run_of_interpreter(objects, memory, interp)) return code;
  return std::nullopt;
}

}  // namespace loopprof::python
