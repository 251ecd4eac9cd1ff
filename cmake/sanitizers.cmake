# -DLOOPPROF_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer (with
# float-cast-overflow, which GCC lacks) on loopprof_core and everything that
# links it (loopprof, unit tests, fuzzers). -DLOOPPROF_FUZZ=ON adds libFuzzer
# instrumentation and the tests/fuzz targets. Both need clang.
option(LOOPPROF_SANITIZE "Build with ASan and UBSan (clang)" OFF)
option(LOOPPROF_FUZZ "Build the libFuzzer targets in tests/fuzz (clang)" OFF)
if(LOOPPROF_SANITIZE OR LOOPPROF_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LOOPPROF_SANITIZE/LOOPPROF_FUZZ need clang: "
                        "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(LOOPPROF_SANITIZERS address,undefined,float-cast-overflow)
  if(LOOPPROF_FUZZ)
    set(LOOPPROF_SANITIZERS ${LOOPPROF_SANITIZERS},fuzzer-no-link)
  endif()
  target_compile_options(loopprof_core PUBLIC -fsanitize=${LOOPPROF_SANITIZERS}
                                              -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(loopprof_core PUBLIC -fsanitize=address,undefined)
endif()
