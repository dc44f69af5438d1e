# scep-agent: every developer and CI task is a target here. See README.md.
#
#   make demo     build the static binary and show what it does
#   make test     install what is missing, then every test (unit, layering, Embedded static build, smoke)
#   make static   the shipped binary: Embedded Swift, fully static, stripped -> dist/scep-agent
#   make cross    static binaries for aarch64, armv7hf and the tiny musl build -> dist/TARGET/
#   make board BOARD=raspberrypi-aarch64   a board's binary and default config -> dist/boards/BOARD/
#   make bench    size and speed table
#   make fuzz     every untrusted-input parser under libFuzzer + ASan, FUZZ_SECONDS each (default 300)
#   make reference   regenerate the option reference (docs/configuration.md, the man page)
#   make hardening   what each binary hardening flag costs -> docs/generated/hardening.md

SWIFT          ?= swift
# The targets `make cross` builds besides the host's (Scripts/build-target.sh, Board/README.md).
CROSS_TARGETS  := aarch64-linux-gnu arm-linux-gnueabihf x86_64-linux-musl-tiny
BOARD          ?= raspberrypi-aarch64
FUZZ_SECONDS   ?= 300

DIST           := dist
BINARY         := $(DIST)/scep-agent

.PHONY: all build static cross board cross-test fuzz-replay-arm probes reference hardening feature-cost size-breakdown separation-cost test-system fuzz fuzz-smoke memcheck asan deb package-test fleet-sim test test-suites unit-test smoke-test responder interop-test check-layers deps demo bench clean

all: static

deps:
	@Scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The shipped binary: Embedded Swift over mbedTLS built from Debian's source with our trimmed
# config (Board/mbedtls/scep-agent-config.h), fully static, stripped.
static: deps
	@Scripts/build-target.sh x86_64-linux-gnu $(BINARY)

cross: deps
	@for target in $(CROSS_TARGETS); do Scripts/build-target.sh $$target $(DIST)/$$target/scep-agent || exit 1; done

board: deps
	@Scripts/board.sh $(BOARD) $(DIST)/boards/$(BOARD)

# The fuzz targets' replay driver for armv7hf (Embedded, so no libFuzzer): Tests/Cross/run.sh runs
# the corpus through it under qemu-arm-static. -enable-testing, for its @testable imports.
fuzz-replay-arm: deps
	@PRODUCT=scep-fuzz-replay SCRATCH_SUFFIX=-replay SIZES_TABLE= EXTRA_SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing" \
		Scripts/build-target.sh arm-linux-gnueabihf $(DIST)/arm-linux-gnueabihf/scep-fuzz-replay

# The cross-built binaries under qemu-user-static: enroll and renew against micromdm scepserver.
cross-test: cross static responder fuzz-replay-arm
	@echo "== Cross/run.sh" && Tests/Cross/run.sh $(DIST)

fuzz: deps fuzz-replay-arm
	@Tests/Fuzz/fuzz.sh $(FUZZ_SECONDS)
	@echo "== the grown corpus on armv7hf" && REPLAY_TABLE=.build-fuzz/summary.md Tests/Fuzz/replay-arm.sh $(DIST)/arm-linux-gnueabihf/scep-fuzz-replay
	@Scripts/lib/wrap-generated.sh "Fuzzing" "make fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)" .build-fuzz/summary.md docs/generated/fuzz.md

# In make test: every committed seed and past crash replayed, then a few seconds of fuzzing each.
fuzz-smoke: deps
	@Tests/Fuzz/fuzz.sh 5

# valgrind's memcheck over enroll, renew, caps, getca, status and a refused renewal. A normal-mode
# build with DWARF 4 (valgrind 3.19 cannot read DWARF 5, and cannot watch the static binary's heap).
memcheck: deps responder
	$(SWIFT) build -c release --product scep-agent --scratch-path .build-valgrind -Xswiftc -dwarf-version=4 -Xcc -gdwarf-4
	@echo "== valgrind.sh" && Tests/Memory/valgrind.sh .build-valgrind/release/scep-agent .build/debug/scep-test-responder

# The unit tests under AddressSanitizer: any invalid access fails. LeakSanitizer is off here
# because Foundation's Process (the tests' openssl runner) leaks two 32-byte weak-reference
# tables per run; leaks in the agent are memcheck's job, and in the parsers the fuzzers'.
asan: deps
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan

check-layers:
	@Scripts/check-layers.sh

unit-test: deps
	$(SWIFT) test
	@$(SWIFT) build --product scep-agent >/dev/null && echo "== debug-build.sh" && Tests/Smoke/debug-build.sh .build/debug/scep-agent

smoke-test: static
	@Tests/Smoke/run-all.sh $(BINARY)

responder: deps
	$(SWIFT) build --product scep-test-responder

# A test build whose network process can be told to break its sandbox (SCEP_SANDBOX_PROBES):
# Tests/Interop/sandbox.sh proves each attempt is stopped. The shipped binary has no probes.
probes: deps
	$(SWIFT) build --product scep-agent --scratch-path .build-probes -Xswiftc -DSCEP_SANDBOX_PROBES

# The shipped binary against the fault-injecting responder and the real micromdm scepserver.
# faults.sh also writes its table of refusals to docs/generated/faults.md.
interop-test: static responder probes
	@echo "== faults.sh" && FAULT_TABLE=docs/generated/faults.md Tests/Interop/faults.sh $(BINARY) .build/debug/scep-test-responder
	@echo "== oracle selftest" && Tests/Oracle/selftest.sh $(BINARY)
	@echo "== oracle.sh" && Tests/Interop/oracle.sh $(BINARY)
	@echo "== micromdm.sh" && Tests/Interop/micromdm.sh $(BINARY)
	@echo "== tls.sh" && Tests/Interop/tls.sh $(BINARY) .build/debug/scep-test-responder
	@echo "== keystore.sh" && Tests/Interop/keystore.sh $(BINARY) .build/debug/scep-test-responder 200
	@echo "== keystore.sh, EC keys" && Tests/Interop/keystore.sh $(BINARY) .build/debug/scep-test-responder 50 ec:p256
	@echo "== daemon.sh" && Tests/Interop/daemon.sh $(BINARY) .build/debug/scep-test-responder
	@echo "== tpm.sh" && Tests/Interop/tpm.sh $(BINARY) .build/debug/scep-test-responder "" 200
	@echo "== sandbox.sh" && Tests/Interop/sandbox.sh $(BINARY) .build/debug/scep-test-responder .build-probes/debug/scep-agent
	@echo "== proxy.sh" && Tests/Interop/proxy.sh $(BINARY) .build/debug/scep-test-responder

deb: static
	@Scripts/build-deb.sh $(BINARY) $(DIST)

package-test: deb responder
	@echo "== deb.sh" && Tests/Packaging/deb.sh $(DIST)/scep-agent_*.deb .build/debug/scep-test-responder
	@echo "== openwrt.sh" && Tests/Packaging/openwrt.sh $(BINARY) .build/debug/scep-test-responder

# The Debian package in a booted Debian system (systemd as PID 1, in qemu): not part of make test,
# for time (an image build and three emulated boots, the third with a TPM; the run prints how long each boot took).
test-system: deb
	@Scripts/install-deps.sh --system
	@echo "== System/run.sh" && Tests/System/run.sh $(DIST)/scep-agent_*.deb

# make test runs test-suites with its output also kept in .build/make-test.log, then
# Scripts/test-counts.sh writes the counts in it to docs/generated/test-counts.md (it never fails
# the run); make test's status is test-suites'.
test:
	@mkdir -p .build
	@{ $(MAKE) --no-print-directory test-suites 2>&1; echo $$? > .build/make-test.status; } | tee .build/make-test.log
	@Scripts/test-counts.sh .build/make-test.log docs/generated/test-counts.md "$$(cat .build/make-test.status)" || true
	@exit "$$(cat .build/make-test.status)"

test-suites: deps check-layers unit-test asan fuzz-smoke memcheck smoke-test interop-test package-test cross-test

# Rewrites the option tables generated from Sources/CLI/OptionTable.swift (docs/configuration.md,
# the man page); `swift test` fails while they are stale.
reference: deps
	SCEP_AGENT_WRITE_REFERENCE=1 $(SWIFT) test --filter GeneratedReferenceTests

hardening: deps
	@Scripts/hardening.sh docs/generated/hardening.md

feature-cost: deps
	@Scripts/feature-cost.sh docs/generated/feature-cost.md

# Where the tiny build's bytes go, part by part (TARGET=... for another build).
size-breakdown: deps
	@Scripts/size-breakdown.sh $(or $(TARGET),x86_64-linux-musl-tiny) docs/generated/size-breakdown.md

separation-cost: static
	@Scripts/separation-cost.sh $(BINARY) docs/generated/separation-cost.md

demo: static responder
	@Scripts/demo.sh $(BINARY)

fleet-sim: deps
	$(SWIFT) build -c release --product scep-fleet-sim --scratch-path .build-sim

bench: static cross responder fleet-sim
	@Scripts/bench.sh $(BINARY) .build/debug/scep-test-responder .build-sim/release/scep-fleet-sim

# Every scratch directory any target builds in (each `--scratch-path` and Scripts/ build dir).
clean:
	rm -rf .build .build-embedded .build-aarch64 .build-armv7 .build-armv7-replay .build-tiny .build-sim .build-mbedtls \
		.build-asan .build-valgrind .build-fuzz .build-probes .build-embedded-hardening-* .build-embedded-cost-* .build-tiny-cost-* $(DIST)
