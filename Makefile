# Two commands do everything on a fresh Debian 12 machine:
#   make demo   set up, build (Release, in build/), run the tour, write build/demo/REPORT.md
#   make test   set up, build, run the test suite (CTest)
# Variables: BUILD (build directory), JOBS (parallel jobs), CMAKE_ARGS (extra configure flags).

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all setup configure build demo test bench clean format

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

configure: $(BUILD)/build.ninja

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ODYN_REQUIRE_MNIST=1 ctest --output-on-failure -j $(JOBS)

bench: build
	@bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)
