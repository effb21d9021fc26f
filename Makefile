# mpmt — threads or processes, and what each costs on this machine.
# `make bench` is the main job; `make test` is what CI runs (.ci/run).

CARGO ?= cargo
MPMT  := target/release/mpmt
OUT   ?= reports
PROFILE ?= default
# `make install` puts mpmt and mpmt-worker side by side in $(BINDIR):
# mpmt finds its worker next to itself.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
# Where install-files copies from (the tests install their debug build).
BUILD ?= release
BINSRC ?= target/$(BUILD)

.PHONY: all build bench bench-criterion c-baselines validate-streams report test test-under-load lint fmt clean install install-files

all: build

build:
	$(CARGO) build --release --workspace

# Builds in release mode, runs every workload (`mpmt suite --profile
# default`, under 5 minutes on 2 vCPUs), writes reports/<run-id>/ with
# results.json, results.csv, the SVG charts and index.html, points
# reports/latest at it and prints where index.html is.
#
# Five minutes in all, the build included: the default profile's
# measuring gets what the build left of BENCH_SECONDS (floors and the
# report take a few seconds more), at most its own 4m30s and at least a
# minute. Another PROFILE keeps its own budget.
BENCH_SECONDS ?= 290
bench:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory build || exit 1; \
	budget=""; \
	if [ "$(PROFILE)" = default ]; then \
	  left=$$(( $(BENCH_SECONDS) - $$(date +%s) + start )); \
	  [ $$left -le 270 ] || left=270; [ $$left -ge 60 ] || left=60; \
	  budget="--budget $${left}s"; \
	  echo "make bench: the build took $$(( $$(date +%s) - start )) s; measuring gets $${left} s"; \
	fi; \
	echo "$(MPMT) suite --profile $(PROFILE) --out $(OUT) $$budget"; \
	$(MPMT) suite --profile $(PROFILE) --out $(OUT) $$budget

# Criterion benches over mpmt-core (ctx-switch, latency per channel, spawn).
bench-criterion:
	$(CARGO) build --release -p mpmt-worker
	$(CARGO) bench -p mpmt-benches

# The plain C loops mpmt's figures are checked against (docs/validation.md):
# fork + _exit + waitpid, and a pipe stream of untouched 64 KiB buffers,
# both on CPU 0; two writers on CPUs 0 and 1 with their counters in one
# cache line or apart; and a stream over every channel the kernel copies
# (pipe, AF_UNIX stream and seqpacket, POSIX mq) at 4 KiB, 64 KiB and
# 1 MiB, untouched and touched, on one CPU and across two, timed until the
# reader has the last byte; a copy-on-write loop; and a team of 2 or 4
# processes (or threads in one process) where one segfaults holding a
# robust mutex, timed until the parent's pidfd says so; the cache-line
# round trip beside an 8-byte message over a ring laid out as shm-spin's,
# in alternating blocks (line_rtt). Built into
# target/c-baselines/. stream.c is built with -O3 so that its touched
# reader's sum is vectorized, as rustc vectorizes mpmt's verify (at -O2
# GCC 12 left it scalar, and the C loop's touched 1 MiB stream across
# CPUs read 2.5-2.8 GB/s against 2.9-3.3 at -O3).
c-baselines:
	mkdir -p target/c-baselines
	$(CC) -O2 -o target/c-baselines/fork_exit_wait benches/c/fork_exit_wait.c
	$(CC) -O2 -o target/c-baselines/pipe_stream benches/c/pipe_stream.c
	$(CC) -O2 -pthread -o target/c-baselines/false_sharing benches/c/false_sharing.c
	$(CC) -O3 -o target/c-baselines/stream benches/c/stream.c -lrt
	$(CC) -O2 -o target/c-baselines/cow benches/c/cow.c
	$(CC) -O2 -pthread -o target/c-baselines/crash benches/c/crash.c
	$(CC) -O2 -pthread -o target/c-baselines/line_rtt benches/c/line_rtt.c
	target/c-baselines/fork_exit_wait
	target/c-baselines/pipe_stream
	target/c-baselines/false_sharing
	target/c-baselines/line_rtt 0 1 41
	@for m in process thread; do for w in 2 4; do \
	  target/c-baselines/crash $$m $$w 128 21 || exit 1; \
	done; done
	@for w in child parent none; do for p in 4k thp; do \
	  target/c-baselines/cow 256 $$w $$p 11 || exit 1; \
	done; done
	@for ch in pipe unix seqpacket mq; do for sz in 4096 65536 1048576; do \
	  for m in untouched touched; do for cpus in "0 0" "0 1"; do \
	    target/c-baselines/stream $$ch $$sz $$m $$cpus 3 || exit 1; \
	  done; done; done; done

# mpmt's bandwidth beside the C stream loop, cell by cell, the two tools
# alternating REPS times per cell (the host's speed drifts): every copying
# channel at 4 KiB, 64 KiB and 1 MiB, one CPU and two, transfer-only and
# touched (docs/validation.md). About 10 minutes at the default 5 pairs
# a cell (30 at 15); nothing else may run.
REPS ?= 5
validate-streams: build
	mkdir -p target/c-baselines
	$(CC) -O3 -o target/c-baselines/stream benches/c/stream.c -lrt
	$(CC) -O2 -pthread -o target/c-baselines/line_rtt benches/c/line_rtt.c
	benches/c/validate_streams.sh $(REPS)

# Builds in release mode and installs mpmt and mpmt-worker into $(BINDIR)
# (default /usr/local/bin; `make install PREFIX=~/.local` for a user).
install: build
	$(MAKE) --no-print-directory install-files BUILD=release

install-files:
	install -d "$(BINDIR)"
	install -m 755 "$(BINSRC)/mpmt" "$(BINSRC)/mpmt-worker" "$(BINDIR)/"
	@echo "installed mpmt and mpmt-worker in $(BINDIR)"
	@case ":$$PATH:" in *":$(BINDIR):"*) ;; *) echo "note: $(BINDIR) is not on PATH; add it: export PATH=\"$(BINDIR):\$$PATH\"";; esac

# Redraws the charts and index.html of the latest run from its results.json.
report: build
	$(MPMT) report $(OUT)/latest

# Format check, clippy with warnings as errors, then every test: unit,
# conformance over every backend × channel pair, the classic workloads,
# CLI, report rendering, the browser check (when chromium is installed)
# and each criterion bench run once.
test: lint
	@command -v chromium >/dev/null 2>&1 || echo "note: chromium is not installed, so the browser check of the HTML report will be skipped; install it with: sudo apt-get install chromium"
	$(CARGO) test --workspace --all-targets

# The fault suite and the soak beside a busy loop on every CPU: a slower,
# loaded machine, as CI's may be. The class of flake a quiet machine hides
# (a bound that only holds when mpmt has the CPUs to itself) shows here
# first. The loops are started and stopped by this target alone.
test-under-load:
	$(CARGO) build --workspace --all-targets
	@set -e; n=$$(nproc); pids=""; \
	for i in $$(seq $$n); do sh -c 'while :; do :; done' & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM HUP; \
	echo "test-under-load: $$n busy loop(s) running (pids$$pids)"; \
	$(CARGO) test -p mpmt --test faults; \
	$(CARGO) test -p mpmt-worker --test soak

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
