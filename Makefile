# edgepipe: two commands on a fresh Debian 12 machine.
#   make demo   installs what is missing, builds, and runs the main job
#   make test   installs what is missing, builds, and runs every test
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps models ort torch-models build build-asan build-tsan test test-asan test-tsan demo docs clean

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

# Under ThreadSanitizer: the pipeline runtime (threads, queues, watchdog; its tests build
# against the core sources alone) and the distribution layer (node workers, clients, link
# emulator, balancer). tests/tsan.supp names the uninstrumented libraries (libzmq, libsodium,
# oneDNN) whose internal hand-offs TSan cannot see.
build-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEDGEPIPE_TSAN=ON -DEDGEPIPE_NATIVE=OFF $(CMAKE_FLAGS) >/dev/null
	ninja -C $(TSAN_BUILD) -j$(JOBS) pipeline_core_test dist_test

test-tsan: build-tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ./$(TSAN_BUILD)/tests/pipeline_core_test --gtest_brief=1
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		./$(TSAN_BUILD)/tests/dist_test --gtest_brief=1

test: build models ort torch-models
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 1200
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-tsan

# The main job: the built-in OCR pipeline (detector, then recognizer on every box) on the
# synthetic source for about ten seconds, with the latency table at the end.
demo: build models
	./$(BUILD)/edgepipe run

docs: build
	./$(BUILD)/edgepipe ops --markdown > docs/ops.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
