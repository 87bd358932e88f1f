# Vessel: one non-recursive Makefile. `make help` lists the targets.
PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= gcc
PYTHON    ?= /usr/bin/python3
PKGS      := json-c libseccomp libcap libarchive libcurl libcrypto libmnl

WARNINGS  := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef \
             -Wwrite-strings -Wswitch-enum -Wvla -Wimplicit-fallthrough -Wno-unused-parameter \
             -Wno-format-truncation
WERROR    ?= -Werror
OPT       ?= -O2
SANITIZE  :=
ifeq ($(SAN),1)
SANITIZE  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(FUZZ),1)
SANITIZE  := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
WARNINGS  += -Wno-unknown-warning-option
endif

CPPFLAGS  += -Isrc -D_GNU_SOURCE -MMD -MP
CFLAGS    ?= $(OPT) -g
CFLAGS    += -std=gnu17 $(WARNINGS) $(WERROR) $(SANITIZE) $(shell pkg-config --cflags $(PKGS))
LDFLAGS   += $(SANITIZE)
LDLIBS    += $(shell pkg-config --libs $(PKGS)) -lpthread

MAIN_SRC  := src/main.c src/vmm-main.c src/runc-main.c
LIB_SRCS  := $(sort $(filter-out $(MAIN_SRC) src/agent/% src/runtime/stub/%,\
               $(wildcard src/*/*.c src/*/*/*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libvessel.a
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECS ?= 20

.PHONY: all clean check test unit integration asan fuzz fuzz-build bench demo install format \
	format-check lint help deps
all: $(BUILD)/vessel $(BUILD)/vessel-runc $(BUILD)/vessel-vmm $(BUILD)/probe

help:
	@echo "make            build $(BUILD)/vessel, vessel-runc and vessel-vmm"
	@echo "make check      install deps, then unit tests (cmocka) and integration tests (pytest, root)"
	@echo "make test       the same without installing anything"
	@echo "make asan       the same under ASan+UBSan (build/asan)"
	@echo "make fuzz       build libFuzzer targets, replay corpora, fuzz each for FUZZ_SECS"
	@echo "make bench      side-by-side benchmarks against crun, runc, podman, skopeo and QEMU"
	@echo "make demo       run a busybox container on the embedded defaults"
	@echo "make format     clang-format the tree; make format-check checks it"
	@echo "make lint       clang-tidy + cppcheck"

deps:
	scripts/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The trampoline (src/runtime/stub/) is freestanding: no libc, no sanitizers; its bytes are
# embedded into trampoline.o with .incbin.
TRAMPOLINE := $(BUILD)/trampoline
$(TRAMPOLINE): src/runtime/stub/trampoline.c
	@mkdir -p $(@D)
	@echo "  STUB    $@"
	@gcc -std=gnu17 -Os -Wall -Wextra $(WERROR) -static -nostdlib -fno-stack-protector \
	  -fno-asynchronous-unwind-tables -fno-pie -no-pie -Wl,--build-id=none -s -o $@ $<
$(BUILD)/src/runtime/trampoline.o: $(TRAMPOLINE)
$(BUILD)/src/runtime/trampoline.o: CPPFLAGS += -DTRAMPOLINE_BIN=$(TRAMPOLINE)

# The default micro-VM's /init (src/agent/init.c): static, always plain gcc without sanitizers;
# embedded into vm-image.o with .incbin, as is scripts/fetch-kernel (run on first use).
VM_INIT := $(BUILD)/vessel-init
$(VM_INIT): src/agent/init.c
	@mkdir -p $(@D)
	@echo "  INIT    $@"
	@gcc -std=gnu17 -D_GNU_SOURCE -Os $(filter-out -Wno-unknown-warning-option,$(WARNINGS)) \
	  $(WERROR) -static -s -o $@ $<
$(BUILD)/src/engine/vm-image.o: $(VM_INIT) scripts/fetch-kernel
$(BUILD)/src/engine/vm-image.o: CPPFLAGS += -DVM_INIT_BIN=$(VM_INIT) \
	-DFETCH_KERNEL_SCRIPT=scripts/fetch-kernel

$(LIB): $(LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	@$(AR) rcs $@ $^

$(BUILD)/vessel: $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The OCI runtime alone: the linker takes from libvessel.a only the objects the runc surface
# reaches, and a reference to any library not named here (curl, archive, crypto) fails the link.
$(BUILD)/vessel-runc: $(BUILD)/src/runc-main.o $(LIB)
	@rm -f $@
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c libseccomp libcap) -lpthread

# The micro-VM monitor, which `vessel vm` execs: static, so that a VM's process maps no shared
# library. The linker takes from libvessel.a only the objects the vm commands reach, and a
# reference to any library not named here fails the link. Sanitizers cannot link statically.
$(BUILD)/vessel-vmm: $(BUILD)/src/vmm-main.o $(LIB)
	$(CC) $(LDFLAGS) $(if $(SANITIZE),,-static) -o $@ $^ -lseccomp -lpthread

# The probe runs inside test containers: static, no libc surprises.
$(BUILD)/probe: tests/probe/probe.c
	@mkdir -p $(@D)
	gcc -std=gnu17 -O2 -Wall -Wextra $(WERROR) -static -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# Test guests for the VMM (freestanding, built by tests/guest/build.sh).
GUEST_SRCS := $(wildcard tests/guest/*.[chS] tests/guest/*.ld tests/guest/*.py tests/guest/build.sh)
$(BUILD)/guest/pvh.elf: $(GUEST_SRCS)
	@echo "  GUEST   $(BUILD)/guest"
	@sh tests/guest/build.sh $(BUILD)/guest

integration: all $(BUILD)/guest/pvh.elf
	VESSEL_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -rs tests/integration

# check, asan and demo install what they need first, then build in a fresh make (whose
# pkg-config calls then see the installed libraries).
check: deps
	$(MAKE) test

test: all unit integration

asan: deps
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 test

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS)

fuzz-build: deps
	$(MAKE) BUILD=build/fuzz CC=clang FUZZ=1 OPT=-O1 $(patsubst tests/fuzz/%.c,build/fuzz/fuzz/%,$(FUZZ_SRCS))

fuzz: fuzz-build
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); c=tests/fuzz/corpus/$${n#fuzz-}; \
	  mkdir -p build/fuzz/corpus/$$n; \
	  echo "== $$n: replay $$c, then fuzz $(FUZZ_SECS)s"; \
	  build/fuzz/fuzz/$$n -runs=0 $$c || exit 1; \
	  build/fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECS) -timeout=10 -rss_limit_mb=1024 \
	    -artifact_prefix=build/fuzz/$$n- \
	    build/fuzz/corpus/$$n $$c >build/fuzz/$$n.log 2>&1 || { tail -40 build/fuzz/$$n.log; exit 1; }; \
	done

bench: all
	bench/container-start
	BENCH_LIMITS=1 bench/container-start
	bench/engine-run
	bench/pull
	VESSEL_BUILD=$(BUILD) bench/vm
	VESSEL_BUILD=$(BUILD) bench/vm-devices

demo: deps
	$(MAKE) all $(BUILD)/guest/pvh.elf
	scripts/demo

install: all
	install -D -m 0755 $(BUILD)/vessel $(DESTDIR)$(PREFIX)/bin/vessel
	install -D -m 0755 $(BUILD)/vessel-vmm $(DESTDIR)$(PREFIX)/bin/vessel-vmm
	rm -f $(DESTDIR)$(PREFIX)/bin/vessel-runc
	install -D -m 0755 $(BUILD)/vessel-runc $(DESTDIR)$(PREFIX)/bin/vessel-runc

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

lint:
	clang-tidy -quiet $(LIB_SRCS) $(MAIN_SRC) -- $(CPPFLAGS) -std=gnu17 $(shell pkg-config --cflags $(PKGS))
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability -Isrc \
	  --suppress=missingIncludeSystem $(LIB_SRCS) $(MAIN_SRC)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
