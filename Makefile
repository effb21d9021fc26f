# mpmt — threads or processes, and what each costs on this machine.
# `make bench` is the main job; `make test` is what CI runs (.ci/run).

CARGO ?= cargo
MPMT  := target/release/mpmt
OUT   ?= reports

.PHONY: all build bench test lint fmt clean

all: build

build:
	$(CARGO) build --release --workspace

# Builds in release mode, runs the default measurements and writes
# reports/<run-id>/ for each workload.
bench: build
	$(MPMT) run ctx-switch --out $(OUT)
	$(MPMT) run latency --out $(OUT)
	$(MPMT) run bandwidth --out $(OUT)

# Format check, clippy with warnings as errors, then every test (unit,
# conformance over every backend × channel pair, CLI).
test: lint
	$(CARGO) test --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
