# SPDX-License-Identifier: Apache-2.0
# Vigil — build, test and benchmark. Everything a fresh Debian bookworm machine needs is
# installed by `make deps` (run as root); every other target depends on it.
.DELETE_ON_ERROR:
SHELL := /bin/bash

SWIFT_BIN ?= /opt/swift/usr/bin
export PATH := $(SWIFT_BIN):$(PATH)
CLANG ?= $(SWIFT_BIN)/clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
# Each architecture the BPF programs build for has its own kernel types (bpf/include/$(ARCH)/vmlinux.h)
# and syscall table (bpf/lib/syscalls_$(ARCH).bpf.h); another one is refused, never given x86's.
BPF_ARCHS := $(patsubst bpf/include/%/vmlinux.h,%,$(wildcard bpf/include/*/vmlinux.h))
OUT := .output
GEN := Sources/CVigilBPF/generated
BPF_SRC := $(wildcard bpf/*.bpf.c)
BPF_HDR := $(wildcard bpf/include/*.h bpf/include/$(ARCH)/*.h bpf/lib/*.h)
SKELS := $(GEN)/vigil.skel.h $(GEN)/probe.skel.h
CONFIG ?= debug
SWIFT_FLAGS := -c $(CONFIG)

DEB_PACKAGES := libbpf-dev libelf-dev zlib1g-dev libssl-dev bpftool pkg-config liburing-dev gcc-multilib clang-format libtss2-dev swtpm swtpm-tools tpm2-tools

# A stamp per package list: a machine whose `make deps` ran before a package was added installs it.
DEPS_STAMP := $(OUT)/.deps-$(shell printf '%s\n' $(DEB_PACKAGES) | sha256sum | cut -c1-16)

.PHONY: all deps bpf build test test-unit test-helpers postgres postgres-stop bench run demo install install-console clean fmt lint
all: build

# Installs missing Debian packages (the only step that needs the network).
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@mkdir -p $(OUT)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: missing Debian packages ($$missing) and not root: run 'sudo make deps'" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@touch $@

bpf: $(SKELS)

# Checked on every build, also when the skeletons are up to date (they were built for some ARCH).
.PHONY: bpf-arch
bpf-arch:
	@if [ ! -f bpf/include/$(ARCH)/vmlinux.h ]; then \
	  echo "error: ARCH=$(ARCH) is not supported by the BPF programs (supported: $(BPF_ARCHS)): add bpf/include/$(ARCH)/vmlinux.h (bpftool btf dump file /sys/kernel/btf/vmlinux format c) and bpf/lib/syscalls_$(ARCH).bpf.h" >&2; \
	  exit 1; \
	fi

$(OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDR) | $(DEPS_STAMP) bpf-arch
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-default-const-init-var-unsafe \
	  -Ibpf/include/$(ARCH) -Ibpf/include -Ibpf -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(GEN)/%.skel.h: $(OUT)/%.bpf.o | bpf-arch
	$(BPFTOOL) gen skeleton $< name $*_skel > $@

build: $(SKELS)
	swift build $(SWIFT_FLAGS)

# Formatting: .swift-format (swift-format, with the toolchain) and .clang-format (Debian's clang-format).
# `make fmt` rewrites in place every file we own, or only FILES="a.swift b.c"; `make lint` changes
# nothing and fails on any finding. Rules the tree still breaks are off in .swift-format:
# AlwaysUseLowerCamelCase, DoNotUseSemicolons, GroupNumericLiterals, OneCasePerLine,
# OneVariableDeclarationPerLine, OnlyOneTrailingClosureArgument, OrderedImports,
# ReplaceForEachWithForLoop, TypeNamesShouldBeCapitalized, UseLetInEveryBoundCaseVariable.
SWIFT_FORMAT := $(SWIFT_BIN)/swift-format
CLANG_FORMAT ?= clang-format
SWIFT_FILES = $(shell git ls-files '*.swift')
C_FILES = $(shell git ls-files '*.c' '*.h' | grep -v '/vmlinux')
fmt: | $(DEPS_STAMP)
	@files="$(or $(FILES),$(SWIFT_FILES) $(C_FILES))"; \
	swift=$$(printf '%s\n' $$files | grep '\.swift$$' || true); c=$$(printf '%s\n' $$files | grep -E '\.[ch]$$' || true); \
	[ -z "$$swift" ] || $(SWIFT_FORMAT) format --in-place --parallel $$swift; \
	[ -z "$$c" ] || $(CLANG_FORMAT) -i --style=file $$c
lint: | $(DEPS_STAMP)
	@status=0; \
	$(SWIFT_FORMAT) lint --strict --parallel $(SWIFT_FILES) || status=1; \
	$(CLANG_FORMAT) --dry-run --Werror --style=file $(C_FILES) || status=1; \
	if [ $$status != 0 ]; then echo "lint: findings above (make fmt FILES=... fixes the formatting ones)" >&2; exit 1; fi; \
	echo "lint: clean ($(words $(SWIFT_FILES) $(C_FILES)) files formatted and linted)"

# Small C programs the privileged tests run: io_uring-only and int 0x80 opens, ptrace and friends, and so on.
HELPERS := $(OUT)/helpers/uring_probe $(OUT)/helpers/int80_open $(OUT)/helpers/proc_reach
test-helpers: $(HELPERS)
$(OUT)/helpers/uring_probe: Tests/helpers/uring_probe.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	gcc -O2 -Wall -o $@ $< -luring
$(OUT)/helpers/int80_open: Tests/helpers/int80_open.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	gcc -O2 -Wall -static -no-pie -o $@ $<
$(OUT)/helpers/proc_reach: Tests/helpers/proc_reach.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	gcc -O2 -Wall -o $@ $<

# Unit tests only: no root, no Claude Code, no network once `make pytools` has run. The end-to-end target
# (Tests/VigilEndToEndTests) is left out, and every test gated on a privilege is reported as skipped,
# with its reason, even as root.
test-unit: $(SKELS) pytools
	swift build --build-tests
	VIGIL_SKIP_PRIVILEGED=1 swift test --skip-build --skip VigilEndToEndTests

# Everything, as CI runs it (.ci/run): unit tests, the privileged tests (BPF, cgroups, fanotify) and the
# end-to-end suites (the real vigild as root, Claude Code as the developer account vigil-dev, which they
# create with useradd). A privileged test the machine cannot run is reported as skipped with its
# reason; with VIGIL_REQUIRE_PRIVILEGED=1 (CI) it fails instead.
# The last step: the benchmarks' synthetic ring records must still decode and render (they broke
# silently once when the ABI changed), so vigil-bench runs them at 1% scale, its figures ignored.
test: $(SKELS) test-helpers claude pytools browser postgres
	swift build --build-tests
	swift test --skip-build --skip VigilConsoleTests
	@# In a process of their own: the end-to-end tests block their threads while Claude Code runs
	@# (two here), and the in-process console answers on the same concurrency pool.
	swift test --skip-build --filter VigilConsoleTests
	@# The console's OpenAPI document against the real console: schemathesis with and without a session.
	$(PY_VENV)/bin/python Tests/APIFuzz/fuzz_console_api.py
	VIGIL_BENCH_SCALE=0.01 .build/debug/vigil-bench consumer render > /dev/null

# The console's PostgreSQL backend is tested against a throwaway cluster (Debian's postgresql, installed
# if missing) under $(OUT)/postgres on 127.0.0.1:55432, kept running between runs; the tests read its URL
# from $(OUT)/postgres-url, or from VIGIL_TEST_POSTGRES_URL to use another server.
postgres:
	@OUT=$(OUT) bash Tests/postgres/test-server.sh
postgres-stop:
	@OUT=$(OUT) bash Tests/postgres/test-server.sh stop

# The real Claude Code CLI (2.1.330), shipped inside the pinned PyPI package claude-agent-sdk, in a
# venv of its own. Idempotent (a stamp per version); prints the binary's path, also kept in
# $(CLAUDE_VENV)/claude-path, where the end-to-end tests (Tests/VigilEndToEndTests) look for it.
CLAUDE_SDK_VERSION := 0.2.187
CLAUDE_VENV := $(OUT)/claude-venv
CLAUDE_STAMP := $(CLAUDE_VENV)/.installed-$(CLAUDE_SDK_VERSION)
.PHONY: claude
claude: $(CLAUDE_STAMP)
	@cat $(CLAUDE_VENV)/claude-path
$(CLAUDE_STAMP):
	@if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "error: python3 with venv is missing and not root: run 'sudo make claude'" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null; \
	fi
	rm -rf $(CLAUDE_VENV)
	python3 -m venv $(CLAUDE_VENV)
	$(CLAUDE_VENV)/bin/pip install --quiet --disable-pip-version-check 'claude-agent-sdk==$(CLAUDE_SDK_VERSION)'
	@bin=$$(ls -d $(CLAUDE_VENV)/lib/python3*/site-packages/claude_agent_sdk/_bundled/claude 2>/dev/null | head -n1); \
	if [ ! -x "$$bin" ]; then echo "error: claude-agent-sdk==$(CLAUDE_SDK_VERSION) installed no bundled claude binary" >&2; exit 1; fi; \
	"$$bin" --version; \
	realpath "$$bin" > $(CLAUDE_VENV)/claude-path
	@touch $@

# The Python side of the RFC 9421 interop tests (Tests/VigilSignaturesTests/Oracle/oracle.py): PyPI's
# http-message-signatures and everything it and the oracle import, every version pinned, in a venv of
# its own that the tests find at $(PY_VENV)/bin/python. Idempotent: a stamp per pinned set.
PYTOOLS_PACKAGES := http-message-signatures==3.0.0 http-sf==1.5.0 cryptography==50.0.2 cffi==2.1.1 pycparser==3.12 \
  typing_extensions==4.16.0 requests==2.34.2 urllib3==2.8.0 idna==3.20 charset-normalizer==3.5.3 certifi==2026.10.19.post1 \
  selenium==4.27.1 attrs==26.1.0 h11==0.16.0 outcome==1.3.0.post0 PySocks==1.7.1 sniffio==1.3.1 sortedcontainers==2.4.0 \
  trio==0.35.0 trio-websocket==0.12.2 websocket-client==1.9.2 wsproto==1.3.2 \
  schemathesis==4.32.5 anyio==4.16.0 click==8.5.1 graphql-core==3.3.2 harfile==0.6.0 hypothesis==6.170.17 \
  hypothesis-graphql==0.13.5 iniconfig==2.3.1 jsonschema_rs==0.60.3 markdown-it-py==4.3.0 MarkupSafe==3.0.4 mdurl==0.1.2 \
  packaging==26.4 pluggy==1.7.0 Pygments==2.21.0 pyrate-limiter==4.6.0 pytest==9.2.0 PyYAML==6.0.4 rich==15.0.0 Werkzeug==3.1.9
PY_VENV := $(OUT)/py-venv
PYTOOLS_STAMP := $(PY_VENV)/.installed-$(shell printf '%s\n' $(PYTOOLS_PACKAGES) | sha256sum | cut -c1-16)
.PHONY: pytools
pytools: $(PYTOOLS_STAMP)
$(PYTOOLS_STAMP):
	@if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "error: python3 with venv is missing and not root: run 'sudo make pytools'" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null; \
	fi
	rm -rf $(PY_VENV)
	python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install --quiet --disable-pip-version-check $(PYTOOLS_PACKAGES)
	$(PY_VENV)/bin/python -c 'import http_message_signatures, requests, selenium, schemathesis'
	@touch $@

# The browser the web console's walkthrough drives (Tests/VigilEndToEndTests/Browser): Debian's
# chromium and chromium-driver, at /usr/bin/chromium and /usr/bin/chromedriver.
.PHONY: browser
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "error: chromium and chromium-driver are missing and not root: run 'sudo make browser'" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

bench: $(SKELS) test-helpers claude
	swift build -c release --product vigil
	swift build -c release --product vigil-bench
	swift build -c release --product vigild
	swift build -c release --product vigil-console
	.build/release/vigil-bench
	bash bench/sensor-overhead.sh .build/release/vigil

# The main job: the whole product on this machine — vigil-console on SQLite, this device enrolled to
# it, the starter policy as the organisation's first version, vigild in the foreground (sensor,
# policy, enforcement, signed audit log, Claude Code hooks, local API). Prints the console's URL and
# the admin commands. Then, in another terminal: `vigil status`, `vigil claude …`.
run: build
	BIN=.build/$(CONFIG) bash packaging/scripts/run-local.sh

# A demo of the sensor alone: `vigil trace` on a small command.
demo: build
	.build/$(CONFIG)/vigil trace -- sh -c 'cat /etc/hostname; ls / >/dev/null'

# Release binaries in /usr/local, the systemd unit, the starter policy (kept if present).
install: $(SKELS)
	swift build -c release --product vigil
	swift build -c release --product vigild
	install -D -m 0755 .build/release/vigil /usr/local/bin/vigil
	install -D -m 0755 .build/release/vigild /usr/local/sbin/vigild
	install -D -m 0644 packaging/systemd/vigild.service /etc/systemd/system/vigild.service
	@[ -f /etc/vigil/policy.yaml ] || install -D -m 0644 packaging/policy.example.yaml /etc/vigil/policy.yaml
	@echo "installed; start it with: systemctl daemon-reload && systemctl enable --now vigild"

# The console on its own machine: the binary and its sandboxed unit (a dynamic user, its state directory).
install-console:
	swift build -c release --product vigil-console
	install -D -m 0755 .build/release/vigil-console /usr/local/bin/vigil-console
	install -D -m 0644 packaging/systemd/vigil-console.service /etc/systemd/system/vigil-console.service
	@echo "installed; start it with: systemctl daemon-reload && systemctl enable --now vigil-console"

clean:
	rm -rf $(OUT) $(GEN)/*.skel.h .build
