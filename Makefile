# loopprof: `make deps`, `make` (build/loopprof), `make test`, `make demo`, `make install`.
BUILD_DIR ?= build
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)

.PHONY: all build binary deps test unit-test integration-test demo install bench format clean

all: build

deps:
	@tools/install-deps.sh

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

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.h' '*.c')

clean:
	rm -rf $(BUILD_DIR)
