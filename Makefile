# The two commands of the quick start: `make demo` and `make test`. Each installs what is missing and builds.
BUILD ?= build
JOBS ?= $(shell nproc)
# The clang tree with AddressSanitizer + UBSan: the libFuzzer targets and the unit tests (make test),
# the integration tests too (make test-sanitize). `make fuzz`'s settings: seconds per target, the
# targets, and where new corpus entries and crash artifacts go.
FUZZ_BUILD ?= build-fuzz
# The ThreadSanitizer tree (make test-sanitize).
TSAN_BUILD ?= build-tsan
# make soak: how long it runs.
SOAK_MINUTES ?= 10
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config_loader route_match proxy_response fastcgi_record runtime_api emf_line lambda_invoke codedeploy_hook
FUZZ_WORK ?= $(FUZZ_BUILD)/fuzz-work
export CTEST_OUTPUT_ON_FAILURE = 1

.PHONY: all deps build test demo bench clean format fuzz fuzz-build test-fuzz test-sanitize soak

all: build

deps:
	./scripts/install-deps

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Every test of the gcc build, then the sanitizer tree's: the unit tests under AddressSanitizer +
# UBSan, each fuzz target's corpus replayed and a short fuzzing run (docs/RELIABILITY.md).
test: build test-fuzz
	cd $(BUILD) && ctest -j $(JOBS) --timeout 600

test-fuzz: fuzz-build
	cd $(FUZZ_BUILD) && ctest -j $(JOBS) --timeout 600 -L 'unit|fuzz'

# clang, everything under AddressSanitizer + UBSan; the fuzz targets and the unit tests only
# (fuzz/CMakeLists.txt, tests/CMakeLists.txt).
$(FUZZ_BUILD)/build.ninja: CMakeLists.txt fuzz/CMakeLists.txt
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Sanitize \
	  -DCUTOVER_FUZZ=ON

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) --target fuzz_targets unit_tests -j $(JOBS)

$(TSAN_BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Sanitize \
	  -DCUTOVER_SANITIZE=thread

# All the unit and integration tests under AddressSanitizer + UBSan, then under ThreadSanitizer.
# Long (two more full builds); not part of `make test`, which runs the unit tests under the first.
test-sanitize: deps $(FUZZ_BUILD)/build.ninja $(TSAN_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest -j $(JOBS) --timeout 900 -L 'unit|integration'
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest -j $(JOBS) --timeout 900 -L 'unit|integration'

# Each of FUZZ_TARGETS for FUZZ_SECONDS from its committed corpus; all run, and any crash fails the run.
fuzz: fuzz-build
	@status=0; for t in $(FUZZ_TARGETS); do \
	  ./fuzz/run-fuzzer --seconds $(FUZZ_SECONDS) $(FUZZ_BUILD)/fuzz/$${t}_fuzzer $(FUZZ_WORK) || status=1; \
	done; \
	echo "fuzz: new inputs in $(FUZZ_WORK)/corpus, crashes in $(FUZZ_WORK)/artifacts"; exit $$status

demo: build
	./scripts/demo

bench: deps $(BUILD)/build.ninja
	cmake -S . -B $(BUILD) -DCUTOVER_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)
	BUILD=$(BUILD) ./bench/run

# Steady load, a deployment a minute (alternately promoted and rolled back by an alarm), RSS, file
# descriptors and threads sampled; fails on growth or on failures that were not injected.
soak: build
	BUILD=$(BUILD) ./scripts/soak --minutes $(SOAK_MINUTES)

format:
	clang-format -i $$(git ls-files 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc' 'bench/*.cc')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
