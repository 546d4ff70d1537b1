# edgepipe: two commands on a fresh Debian 12 machine.
#   make demo   installs what is missing, builds, and runs the main job
#   make test   installs what is missing, builds, and runs every test
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps models ort torch-models build build-asan test test-asan demo docs clean

all: build

deps:
	@scripts/install-deps.sh

models:
	@scripts/fetch-models.sh

ort:
	@scripts/ensure-ort.sh

# Architecture-faithful random-weight exports (Debian's python3-torch; a few minutes the first time).
torch-models:
	@scripts/export-models.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j$(JOBS)

# Sanitizer build of the tests that feed untrusted bytes and the runtime's core.
build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEDGEPIPE_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	ninja -C $(ASAN_BUILD) -j$(JOBS) asan_tests

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest -L 'unit|onnx|fuzz' --output-on-failure -j$(JOBS)

test: build models ort torch-models
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 1200
	$(MAKE) --no-print-directory test-asan

demo: build models
	./$(BUILD)/edgepipe bench models/ch_PP-OCRv4_det_infer.onnx --shape x=1x3x640x640 --threads $(JOBS) --warmup 2 --iterations 10 --profile

docs: build
	./$(BUILD)/edgepipe ops --markdown > docs/ops.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
