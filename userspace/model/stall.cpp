#include "model/stall.hpp"

namespace loopprof {

const char* cpu_state_name(CpuState state) {
  return state == CpuState::on_cpu ? "on_cpu" : "off_cpu";
}

}  // namespace loopprof
