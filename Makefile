# loopprof: `make deps`, `make` (build/loopprof), `make test`, `make demo`, `make install`.
BUILD_DIR ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)

.PHONY: all build binary deps test unit-test integration-test demo install bench format clean asan fuzz

all: build

deps:
	@tools/install-deps.sh
	@tools/npm-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Just the loopprof binary (what demo and install need).
binary: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS) --target loopprof

test: deps
	$(MAKE) build
	ctest --test-dir $(BUILD_DIR) --output-on-failure

unit-test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L unit

integration-test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L integration

demo: deps
	$(MAKE) binary
	tools/demo.sh $(BUILD_DIR)

install: binary
	cmake --install $(BUILD_DIR)
	@echo "install: agent deploy files in $(PREFIX)/share/loopprof/deploy (see deploy/README.md)"

bench: build
	tools/bench/run.sh $(BUILD_DIR)

# ASan + UBSan build (clang) in build-asan: the unit tests and a short
# integration subset (in CI after `make test`). The headless-Chromium tests
# are left out: they time the browser (a minute under ASan), and the HTML
# writer they feed runs under ASan in FormatWritersTest.
ASAN_DIR ?= build-asan
ASAN_UNIT ?= -BrowserTest.*
ASAN_INTEGRATION ?= OutputDestinations.*:TargetChecks.*:LoopprofErrors.NoSuchPid:Stopping.SigtermAfterAStall
CLANG_CMAKE = -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
asan: deps
	cmake -S . -B $(ASAN_DIR) $(CLANG_CMAKE) -DLOOPPROF_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS) --target loopprof loopprof_unit_tests loopprof_integration_tests
	UBSAN_OPTIONS=print_stacktrace=1 $(ASAN_DIR)/tests/loopprof_unit_tests --gtest_filter='$(ASAN_UNIT)'
	UBSAN_OPTIONS=print_stacktrace=1 $(ASAN_DIR)/tests/loopprof_integration_tests --gtest_filter='$(ASAN_INTEGRATION)'

# libFuzzer targets (tests/fuzz) for FUZZ_SECONDS each, FUZZ_JOBS at a time;
# corpora in tests/fuzz/corpus.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
fuzz:
	cmake -S . -B $(FUZZ_DIR) $(CLANG_CMAKE) -DLOOPPROF_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers
	tools/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_JOBS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.h' '*.c')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
