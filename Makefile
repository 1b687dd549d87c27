# mmsim — one non-recursive Makefile.
#
#   make            build everything under build/
#   make test       install missing packages, build, run every suite
#   make soak       the randomized suites 100x longer (+ valgrind)
#   make bench      benchmarks beside their baselines (table + build/bench.json)
#   make SANITIZE=address,undefined ...   sanitized build in build/san/

CC       ?= cc
O        ?= build
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS := -D_GNU_SOURCE -I. -MMD -MP
LDLIBS   := -lm

ifneq ($(SANITIZE),)
override O := build/san
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# Debian packages the build and the tests need (installed by `make deps`).
DEB_PKGS := libmicrohttpd-dev libjansson-dev libuv1-dev libsqlite3-dev \
            libsodium-dev pkg-config valgrind

.PHONY: all deps test unit soak bench clean check-engine-purity run

all: $(O)/unit-tests $(O)/bench-alloc $(O)/bench-policy $(O)/mmsimd $(O)/mmsim $(O)/api-op-tests \
     $(O)/fidelity-sim build/fidelity/recorder

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq $$missing >/dev/null; \
	fi

# ---- engine: pure C, libc only -------------------------------------------
ENGINE_SRC := $(sort $(wildcard engine/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(O)/%.o)
$(O)/libmmengine.a: $(ENGINE_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# ---- api: JSON <-> engine ---------------------------------------------------
API_SRC := $(sort $(wildcard api/*.c))
API_OBJ := $(API_SRC:%.c=$(O)/%.o)
$(O)/libmmapi.a: $(API_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# ---- persistence: the sqlite store ------------------------------------------------
PST_SRC := $(sort $(wildcard persistence/*.c))
PST_OBJ := $(PST_SRC:%.c=$(O)/%.o)
$(O)/libmmpst.a: $(PST_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

# ---- tests --------------------------------------------------------------------
HARNESS_OBJ := $(O)/tests/harness.o
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(O)/%.o)

$(O)/unit-tests: $(UNIT_OBJ) $(HARNESS_OBJ) $(O)/libmmapi.a $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

# ---- fidelity (SPEC §8, tests/fidelity/README.md) -------------------------------
# fidelity-sim runs a scenario on the engine; the recorder runs it on the host
# kernel (built by its own script, outside $(O): it must not be sanitized).
FIDELITY_OBJ := $(O)/tests/fidelity/simulate.o $(O)/tests/fidelity/scenario.o
$(O)/fidelity-sim: $(FIDELITY_OBJ) $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/fidelity/recorder: tests/fidelity/recorder.c tests/fidelity/scenario.c \
                         tests/fidelity/scenario.h engine/mm.h \
                         engine/vmstat_items.h tests/fidelity/build-recorder
	@$(if $(Q),echo "  CC      $@")
	$(Q)tests/fidelity/build-recorder >/dev/null

# ---- bench ----------------------------------------------------------------------
$(O)/bench-alloc: $(O)/bench/alloc.o $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bench-policy: $(O)/bench/policy.o $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- server: mmsimd (libuv loop + libmicrohttpd + jansson) -------------------
#   make run   = deps + build + ./build/mmsimd --listen 127.0.0.1:8080 --data ./var
SRV_PKGS   := libmicrohttpd libuv jansson sqlite3 libsodium
SRV_CFLAGS := $(shell pkg-config --cflags $(SRV_PKGS) 2>/dev/null)
SRV_LIBS   := $(or $(shell pkg-config --libs $(SRV_PKGS) 2>/dev/null),\
                   -lmicrohttpd -luv -ljansson -lsqlite3 -lsodium)
SRV_SRC    := $(sort $(wildcard server/*.c))
SRV_OBJ    := $(SRV_SRC:%.c=$(O)/%.o)
$(SRV_OBJ): CPPFLAGS += $(SRV_CFLAGS)

$(O)/mmsimd: $(SRV_OBJ) $(O)/libmmapi.a $(O)/libmmpst.a $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SRV_LIBS) $(LDLIBS)

# The operation table without HTTP (tests/api/test_ops.c); the HTTP suite
# is tests/api/run.py, run against a live $(O)/mmsimd by `make test`.
$(O)/api-op-tests: $(O)/tests/api/test_ops.o $(HARNESS_OBJ) $(O)/libmmapi.a \
                   $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

# ---- clients: the offline CLI (engine + api, no server) ------------------------
$(O)/mmsim: $(O)/clients/mmsim.o $(O)/libmmapi.a $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory $(O)/mmsimd
	./$(O)/mmsimd --listen 127.0.0.1:8080 --data ./var

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# The engine performs no I/O and reads no clock or random source (SPEC §1).
check-engine-purity: $(ENGINE_OBJ)
	@tests/check-purity $(ENGINE_OBJ) && tests/check-purity --selftest "$(CC)" | tail -n 1 \
	  | sed 's/^1 passed/2 passed/'

# ---- test: every suite, one closing line ---------------------------------------
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SANITIZE=address,undefined O=build/san build/san/unit-tests
	@MMSIM_SRCDIR=$(CURDIR)/tests tests/run-suites \
	  "engine purity" "$(MAKE) --no-print-directory -s check-engine-purity" \
	  "unit" "$(O)/unit-tests" \
	  "unit (ASan+UBSan)" "build/san/unit-tests" \
	  "exec layout, live host" "tests/elf/check-live" \
	  "api ops" "$(O)/api-op-tests" \
	  "api" "python3 tests/api/run.py $(O)/mmsimd" \
	  "durability" "python3 tests/durability/run.py $(O)/mmsimd" \
	  "tenants, limits, events, metrics" "python3 tests/tenants/run.py $(O)/mmsimd" \
	  "fidelity" "tests/fidelity/compare --sim $(O)/fidelity-sim --recorder build/fidelity/recorder"

unit: $(O)/unit-tests
	MMSIM_SRCDIR=$(CURDIR)/tests $(O)/unit-tests $(T)

soak: deps all
	@MMSIM_SRCDIR=$(CURDIR)/tests MMSIM_TEST_TIMEOUT=7200 tests/run-suites \
	  "unit x100" "MMSIM_TEST_SCALE=100 $(O)/unit-tests" \
	  "unit under valgrind (memcheck)" \
	    "valgrind -q --error-exitcode=9 --leak-check=full $(O)/unit-tests"

bench: deps all
	@bench/run $(O)

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
