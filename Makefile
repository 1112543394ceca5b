# The two commands of the quick start: `make demo` and `make test`. Each installs what is missing and builds.
BUILD ?= build
JOBS ?= $(shell nproc)
export CTEST_OUTPUT_ON_FAILURE = 1

.PHONY: all deps build test demo bench clean format

all: build

deps:
	./scripts/install-deps

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(JOBS) --timeout 600

demo: build
	./scripts/demo

bench: deps $(BUILD)/build.ninja
	cmake -S . -B $(BUILD) -DCUTOVER_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)
	BUILD=$(BUILD) ./bench/run

format:
	clang-format -i $$(git ls-files 'src/*.h' 'src/*.cc' 'tests/*.h' 'tests/*.cc' 'bench/*.cc')

clean:
	rm -rf $(BUILD)
