// The kernel/userspace ABI (bpf/*.h) as seen from C++.
#pragma once

#include <linux/types.h>

extern "C" {
#include "loop_model.h"
#include "loopprof.h"
#include "task_model.h"
}
