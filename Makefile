# SPDX-License-Identifier: Apache-2.0
# The two commands of the README's Quickstart, and the rest.
#   make demo    install what is missing, build, run the main story
#   make check   install, lint, build with ASan+UBSan and -Werror, run every test
#   make lint    banned functions and formatting alone (scripts/lint;
#                RP_LINT_FORMAT=0 skips the format)
#   make bench   benchmarks (bench/), figures for docs/performance.md:
#                the fan-out run, `make bench-burst`, `make bench-agent-memory`,
#                `make bench-log`, then `make bench-directory`
#   make bench-burst  the sequencer after a burst of approvals, and
#                scheduled commands (bench/burst; BENCH_BURST_* variables)
#   make bench-agent-memory  the agent's peak RSS under a hostile server's
#                worst answers (bench/agent-memory)
#   make bench-agent-idle  the idle agent's Pss and RSS, root and network
#                process and their sum (bench/agent-idle; BENCH_RUNS,
#                BENCH_IDLE_WAIT)
#   make bench-log  the transparency log alone (bench/logbench.c; its
#                BENCH_LOG_* variables set the sizes, BENCH_LOG_BIG=0 skips
#                the 10M-entry log)
#   make bench-directory  issue 10: 1,000 users and 50 groups converged under
#                a temporary root prefix, an unchanged directory's writes
#                (bench/directory.c; BENCH_RUNS, BENCH_DIR, BENCH_KEEP)
#   make bench-keepalive  issue 12: round trips on one kept-alive TLS
#                connection to rampartd (bench/keepalive)
#   make deb     the Debian packages rampartd, rampart-agent, rampart and
#                rampart-witness in build-deb/, lintian-checked (scripts/build-deb)
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 30) each

BUILD ?= build
CHECK_BUILD ?= build-check
BENCH_BUILD ?= build-release

.PHONY: all deps build demo check lint deb bench bench-burst bench-agent-memory bench-agent-idle bench-log bench-directory bench-keepalive bench-build fuzz clean

all: build

deps:
	@scripts/install-deps
	@scripts/build-wolfssl

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD) >/dev/null

demo: build
	@scripts/demo $(BUILD)

check: deps
	@scripts/check $(CHECK_BUILD) $(BUILD)

lint: deps
	@scripts/lint

deb: deps
	@scripts/build-deb build-deb

bench: bench-build
	@bench/run $(BENCH_BUILD)
	@bench/burst $(BENCH_BUILD)
	@bench/agent-memory $(BENCH_BUILD)
	@$(BENCH_BUILD)/bench/logbench
	@$(BENCH_BUILD)/bench/directory

bench-burst: bench-build
	@bench/burst $(BENCH_BUILD)

bench-agent-memory: bench-build
	@bench/agent-memory $(BENCH_BUILD)

bench-agent-idle: bench-build
	@bench/agent-idle $(BENCH_BUILD)

bench-log: bench-build
	@$(BENCH_BUILD)/bench/logbench

bench-directory: bench-build
	@$(BENCH_BUILD)/bench/directory

bench-keepalive: bench-build
	@bench/keepalive $(BENCH_BUILD) 3

bench-build: deps
	@test -f $(BENCH_BUILD)/build.ninja || meson setup $(BENCH_BUILD) --buildtype=release -Dtests=false >/dev/null
	@ninja -C $(BENCH_BUILD) >/dev/null

fuzz: deps
	@scripts/fuzz

clean:
	rm -rf $(BUILD) $(CHECK_BUILD) $(BENCH_BUILD) build-fuzz
