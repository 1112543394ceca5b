# The two commands of the quick start: `make demo` and `make test`. Each installs what is missing and builds.
BUILD ?= build
JOBS ?= $(shell nproc)
# The libFuzzer build (clang, its own tree) and `make fuzz`'s settings: seconds per target, the targets,
# and where new corpus entries and crash artifacts go.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config_loader route_match proxy_response fastcgi_record runtime_api emf_line lambda_invoke codedeploy_hook
FUZZ_WORK ?= $(FUZZ_BUILD)/fuzz-work
export CTEST_OUTPUT_ON_FAILURE = 1

.PHONY: all deps build test demo bench clean format fuzz fuzz-build test-fuzz

all: build

deps:
	./scripts/install-deps

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(JOBS) --timeout 600

# The fuzz targets' corpus replay and short runs (fuzz/CMakeLists.txt); not yet part of `make test`.
test-fuzz: fuzz-build
	cd $(FUZZ_BUILD)/fuzz && ctest -j $(JOBS) --timeout 600

# Only the fuzz targets and the libraries they link, instrumented (fuzz/CMakeLists.txt).
$(FUZZ_BUILD)/build.ninja: CMakeLists.txt fuzz/CMakeLists.txt
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Fuzz \
	  -DCUTOVER_FUZZ=ON -DCUTOVER_BUILD_TESTS=OFF

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) --target fuzz_targets -j $(JOBS)

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

format:
	clang-format -i $$(git ls-files 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc' 'bench/*.cc')

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
