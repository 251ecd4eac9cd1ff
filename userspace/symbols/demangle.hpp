// C++ (Itanium ABI) demangling.
#pragma once

#include <string>
#include <string_view>

namespace loopprof {

// "_ZN2ns3fooEi" -> "ns::foo(int)"; anything else is returned unchanged.
std::string demangle(std::string_view name);

}  // namespace loopprof
