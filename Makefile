# SPDX-License-Identifier: Apache-2.0
# The two commands of the README's Quickstart, and the rest.
#   make demo    install what is missing, build, run the main story
#   make check   install, build with ASan+UBSan and -Werror, run every test
#   make bench   benchmarks (bench/), figures for docs/performance.md
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 30) each

BUILD ?= build
CHECK_BUILD ?= build-check
BENCH_BUILD ?= build-release

.PHONY: all deps build demo check bench fuzz clean

all: build

deps:
	@scripts/install-deps

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD) >/dev/null

demo: build
	@scripts/demo $(BUILD)

check: deps
	@scripts/check $(CHECK_BUILD) $(BUILD)

bench: deps
	@test -f $(BENCH_BUILD)/build.ninja || meson setup $(BENCH_BUILD) --buildtype=release -Dtests=false >/dev/null
	@ninja -C $(BENCH_BUILD) >/dev/null
	@bench/run $(BENCH_BUILD)

fuzz: deps
	@scripts/fuzz

clean:
	rm -rf $(BUILD) $(CHECK_BUILD) $(BENCH_BUILD) build-fuzz
