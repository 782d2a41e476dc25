# steer — top-level build. `make` builds build/steer; `make check` runs every test.
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)
BUILD    := build

PKGS     := libbpf libnftnl libmnl
CFLAGS   ?= -O2 -g
# Headers are named from the include root: #include "steer/config.h".
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -iquote . -iquote $(BUILD) -MMD -MP \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   += -DLIBNFTNL_VERSION='"$(shell pkg-config --modversion libnftnl 2>/dev/null)"'
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lpthread
BPF_CFLAGS := -target bpf -O2 -g -Wall -Werror -I$(ARCH_INC) -iquote . -MMD -MP

# Debian packages the build, the tests and the demo need.
DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
            nftables libnftnl-dev libmnl-dev libev-dev libcmocka-dev \
            iproute2 iputils-ping python3-prometheus-client nginx-light socat curl wrk jq python3 python3-scapy \
            dnsutils dnsmasq-base \
            qemu-system-x86 busybox-static kmod cpio xz-utils

LIB_SRCS := $(filter-out steer/main.c,$(wildcard steer/*.c)) \
            $(filter-out %.bpf.c,$(wildcard bpf/*.c)) \
            $(wildcard proxy/*.c) $(wildcard nft/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
SKEL     := $(BUILD)/bpf/steer.skel.h

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS  := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(wildcard tests/tools/*.c))
# Code the test binaries share (harnesses, network-namespace set-up): linked into each.
TEST_LIB   := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))
# Kept between runs: make would delete them as intermediates and relink every test.
.SECONDARY: $(TEST_LIB)

.PHONY: all check demo deps clean unit-check bpf-check net-check layers-check test-build vm-matrix vm-check
all: $(BUILD)/steer

$(BUILD)/bpf/steer.bpf.o: bpf/steer.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BUILD)/bpf/steer.bpf.o
	$(BPFTOOL) gen skeleton $< name steer_bpf > $@.tmp && mv $@.tmp $@

# Header dependencies come from the compiler (-MMD -MP, the .d files below);
# the generated skeleton must exist before the first compile can name it.
$(BUILD)/obj/%.o: %.c | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsteer.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/steer: $(BUILD)/obj/steer/main.o $(BUILD)/libsteer.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIB) $(BUILD)/libsteer.a | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-unused-parameter -o $@ $< $(TEST_LIB) $(BUILD)/libsteer.a $(LDLIBS) -lcmocka

$(BUILD)/tests/%: tests/bpf/%.c $(TEST_LIB) $(BUILD)/libsteer.a | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(TEST_LIB) $(BUILD)/libsteer.a $(LDLIBS)

$(BUILD)/tests/%: tests/tools/%.c $(BUILD)/libsteer.a | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsteer.a $(LDLIBS)

# Installs only what is missing, then fetches the matrix's kernels (tests/vm/prepare.sh:
# Debian's packages, unpacked under build/vm; cached); a no-op when all is present.
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	@tests/vm/prepare.sh $(VM_KERNELS)

# The include graph between folders (docs/ARCHITECTURE.md): no cycles, no "../".
layers-check:
	@tests/layers.sh

unit-check: $(UNIT_TESTS)
	@tests/run-bins.sh unit $(UNIT_TESTS)

bpf-check: $(BPF_TESTS)
	@tests/run-bins.sh bpf $(BPF_TESTS)

net-check: $(BUILD)/steer $(TEST_TOOLS)
	@tests/net/run.sh

# Everything the tests run, host and VM alike (a recipe: BENCH_TOOLS is defined below).
test-build:
	$(MAKE) all $(UNIT_TESTS) $(BPF_TESTS) $(TEST_TOOLS) $(BENCH_TOOLS)

# The kernel matrix (README "Kernels"): what runs, inside a VM under qemu, on
# each Debian kernel. Chosen from measured VM durations (TCG: several times
# slower than the host) to keep CI's whole run well under its 90 minutes.
VM_KERNELS  := 6.1 6.12
VM_TESTS_61  := unit bpf test_tcp_client.sh test_upstream_modes.sh test_clsact.sh test_passthrough.sh \
               test_udp.sh test_switch.sh test_audit.sh test_timewait.sh test_lifecycle.sh
VM_TESTS_612 := bpf test_tcp_client.sh test_clsact.sh test_udp.sh test_lifecycle.sh

vm-matrix: test-build
	@tests/vm/matrix.sh "6.1: $(VM_TESTS_61)" "6.12: $(VM_TESTS_612)"

# By hand: make vm-check KERNEL=6.12 TESTS="unit test_udp.sh" (TESTS: unit bpf net test_*.sh).
KERNEL ?= 6.1
TESTS  ?= unit bpf net
vm-check: test-build
	tests/vm/boot.sh $(KERNEL) tests/vm/suite.sh $(TESTS)

# `make check` installs nothing: `make deps` does (CI runs both). The host's
# kernel first, then the matrix.
check:
	$(MAKE) test-build
	$(MAKE) layers-check unit-check bpf-check net-check
	$(MAKE) vm-matrix

demo: deps
	$(MAKE) all
	tests/demo.sh

clean:
	rm -rf $(BUILD)

# Benchmark (not part of check): `make bench [BENCH=full|quick|smoke]`, see bench/README.md.
BENCH       ?= full
BENCH_PKGS  := haproxy iperf3 gnuplot-nox wrk
BENCH_TOOLS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
.PHONY: bench

$(BUILD)/bench/%: bench/%.c $(BUILD)/libsteer.a | $(SKEL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libsteer.a $(LDLIBS)

bench: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"
	$(MAKE) all $(BENCH_TOOLS)
	BENCH=$(BENCH) bench/run.sh

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
