// Exit codes shared by every command (documented in the README).
#pragma once

namespace loopprof {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitNotALoop = 3,
};

}  // namespace loopprof
