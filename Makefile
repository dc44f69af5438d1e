# scep-agent: every developer and CI task is a target here. See README.md.
#
#   make demo     build the static binary and show what it does
#   make test     install what is missing, then every test (unit, layering, Embedded static build, smoke)
#   make static   the shipped binary: Embedded Swift, fully static, stripped -> dist/scep-agent
#   make bench    size and speed table

SWIFT          ?= swift
SWIFT_BIN_DIR  := $(shell dirname "$$(command -v swiftc)")
SWIFT_ROOT     := $(abspath $(SWIFT_BIN_DIR)/..)
ARCH           := $(shell uname -m)
EMBEDDED_LIBS  := $(SWIFT_ROOT)/lib/swift/embedded/$(ARCH)-unknown-linux-gnu
# mbedTLS for the shipped binary: built from Debian's source with our trimmed config
# (Board/mbedtls/scep-agent-config.h); Swift sees the same headers and config.
MBEDTLS_OUT    := .build-mbedtls/$(ARCH)-linux-gnu
MBEDTLS_FLAGS  := -Xcc -I$(MBEDTLS_OUT)/include -Xcc '-DMBEDTLS_CONFIG_FILE=<scep-agent-config.h>' \
                  -Xlinker -L$(MBEDTLS_OUT)/lib
# Embedded Swift keeps String's Unicode tables in a separate archive; link it by path.
EMBEDDED_FLAGS := -c release --traits Embedded --product scep-agent --scratch-path .build-embedded $(MBEDTLS_FLAGS) \
                  -Xlinker -L$(EMBEDDED_LIBS) -Xlinker -lswiftUnicodeDataTables

DIST           := dist
BINARY         := $(DIST)/scep-agent

.PHONY: all build mbedtls static deb package-test fleet-sim test unit-test smoke-test responder interop-test check-layers deps demo bench clean

all: static

deps:
	@Scripts/install-deps.sh

build: deps
	$(SWIFT) build

mbedtls: deps
	@Scripts/build-mbedtls.sh $(MBEDTLS_OUT) cc

static: deps mbedtls
	@# SwiftPM does not notice a rebuilt mbedTLS archive: relink when one is newer than the binary.
	@if [ -f .build-embedded/release/scep-agent ] && [ -n "$$(find $(MBEDTLS_OUT)/lib -newer .build-embedded/release/scep-agent)" ]; then \
		rm -f .build-embedded/release/scep-agent; fi
	$(SWIFT) build $(EMBEDDED_FLAGS)
	@mkdir -p $(DIST)
	@# Unwind tables are dropped too: nothing in this program unwinds (no C++ exceptions,
	@# Embedded Swift traps on fatal errors, no thread cancellation); that is ~100 KB.
	strip -R .eh_frame -R .eh_frame_hdr -o $(BINARY) .build-embedded/release/scep-agent
	@echo "built $(BINARY): $$(stat -c %s $(BINARY)) bytes"

check-layers:
	@Scripts/check-layers.sh

unit-test: deps
	$(SWIFT) test

smoke-test: static
	@Tests/Smoke/run-all.sh $(BINARY)

responder: deps
	$(SWIFT) build --product scep-test-responder

# The shipped binary against the fault-injecting responder and the real micromdm scepserver.
interop-test: static responder
	@echo "== faults.sh" && Tests/Interop/faults.sh $(BINARY) .build/debug/scep-test-responder
	@echo "== micromdm.sh" && Tests/Interop/micromdm.sh $(BINARY)
	@echo "== tls.sh" && Tests/Interop/tls.sh $(BINARY)
	@echo "== keystore.sh" && Tests/Interop/keystore.sh $(BINARY) .build/debug/scep-test-responder 200
	@echo "== daemon.sh" && Tests/Interop/daemon.sh $(BINARY) .build/debug/scep-test-responder

deb: static
	@Scripts/build-deb.sh $(BINARY) $(DIST)

package-test: deb
	@echo "== deb.sh" && Tests/Packaging/deb.sh $(DIST)/scep-agent_*.deb

test: deps check-layers unit-test smoke-test interop-test package-test

demo: static responder
	@Scripts/demo.sh $(BINARY)

fleet-sim: deps
	$(SWIFT) build -c release --product scep-fleet-sim --scratch-path .build-sim

bench: static responder fleet-sim
	@Scripts/bench.sh $(BINARY) .build/debug/scep-test-responder .build-sim/release/scep-fleet-sim

clean:
	rm -rf .build .build-embedded $(DIST)
