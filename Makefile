# mmsim — one non-recursive Makefile.
#
#   make            build everything under build/
#   make test       install missing packages, build, run every suite
#   make soak       the randomized suites 100x longer (+ valgrind)
#   make bench      benchmarks beside their baselines (table + build/bench.json;
#                   ROWS=http runs only bench/rows/*http*; see bench/README.md)
#   make plots      docs/plot-*.png: how cost grows (gnuplot)
#   make SANITIZE=address,undefined ...   sanitized build in build/san/
#   make fuzz FUZZ_SECONDS=N   every fuzz driver for N seconds (build/fuzz/)

CC       ?= cc
O        ?= build
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS := -D_GNU_SOURCE -I. -MMD -MP
LDLIBS   := -lm

# FUZZ=1: clang with libFuzzer coverage, ASan and UBSan, in build/fuzz/
# (tests/fuzz/README.md).  The drivers link with -fsanitize=fuzzer.
ifneq ($(FUZZ),)
override O := build/fuzz
override CC := clang
FUZZ_SAN := address,undefined
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
            -fno-sanitize-recover=all
# the snapshot loader then skips its checksum, so mutations reach the parser
CPPFLAGS += -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
LDFLAGS  += -fsanitize=$(FUZZ_SAN)
else ifneq ($(SANITIZE),)
override O := build/san
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZE) \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# Debian packages the build and the tests need (installed by `make deps`).
DEB_PKGS := libmicrohttpd-dev libjansson-dev libuv1-dev libsqlite3-dev \
            libsodium-dev pkg-config valgrind chromium nodejs haproxy \
            shellcheck docker-compose curl clang libclang-rt-dev wrk
# ... and for `make bench` / `make plots` only.
BENCH_PKGS := wrk nginx-light sqlite3 gnuplot-nox linux-perf

.PHONY: all deps bench-deps test unit soak bench plots clean \
        check-engine-purity run fuzz fuzz-build

all: $(O)/unit-tests $(O)/bench-alloc $(O)/bench-fault $(O)/bench-policy \
     $(O)/bench-baseline $(O)/bench-growth $(O)/bench-snapshot $(O)/bench-rmap-walk \
     $(O)/mmsimd \
     $(O)/mmsim $(O)/api-op-tests $(O)/fidelity-sim build/fidelity/recorder \
     $(O)/engine-soak $(O)/web/.stamp $(O)/labs/.stamp

# npm packages (package.json, exact versions in package-lock.json): uPlot for
# the web UI; playwright-core (driving Debian's chromium, no browser
# download) and the OpenAPI validator for the tests.  They go to
# ./node_modules, reinstalled only when the lock file changes: after one
# `make deps` the tests run offline.
deps: apt-deps node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json | apt-deps
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench-deps: deps
	@$(MAKE) --no-print-directory apt-deps DEB_PKGS="$(BENCH_PKGS)"

.PHONY: apt-deps
apt-deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" \
	    || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
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

$(O)/unit-tests: $(UNIT_OBJ) $(HARNESS_OBJ) $(O)/tests/fidelity/scenario.o \
                 $(O)/libmmapi.a $(O)/libmmengine.a
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
$(O)/bench-fault: $(O)/bench/fault.o $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# the file rmap walk under callgrind (docs/files-and-swap.md): no row
$(O)/bench-rmap-walk: $(O)/bench/rmap_walk.o $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bench-snapshot: $(O)/bench/snapshot.o $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

# host baselines (sqlite commits, host faults, jansson parsing) and the
# how-cost-grows sweeps behind `make plots`
$(O)/bench-baseline: $(O)/bench/baseline.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lsqlite3 -ljansson $(LDLIBS)

$(O)/bench-growth: $(O)/bench/growth.o $(O)/libmmengine.a
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
# Everything but the transport and main: the router runs without sockets
# (tests/fuzz/fuzz_route.c links it).
SRV_LIB_OBJ := $(filter-out $(O)/server/main.o $(O)/server/http.o,$(SRV_OBJ))
$(O)/libmmsrv.a: $(SRV_LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(O)/mmsimd: $(O)/server/main.o $(O)/server/http.o $(O)/libmmsrv.a \
             $(O)/libmmapi.a $(O)/libmmpst.a $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SRV_LIBS) $(LDLIBS)

# The operation table without HTTP (tests/api/test_ops.c); the HTTP suite
# is tests/api/run.py, run against a live $(O)/mmsimd by `make test`.
$(O)/api-op-tests: $(O)/tests/api/test_ops.o $(HARNESS_OBJ) $(O)/libmmapi.a \
                   $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

# ---- clients: the CLI (run: engine + api offline; get/post: a server) ----------
$(O)/mmsim: $(O)/clients/mmsim.o $(O)/clients/remote.o $(O)/libmmapi.a \
            $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

# ---- the web UI and the labs, installed beside mmsimd (its defaults) -------------
# (the directories are prerequisites too: adding or removing a file re-copies)
WEB_SRC  := $(sort $(wildcard clients/web/*))
UPLOT    := node_modules/uplot/dist
$(O)/web/.stamp: clients/web $(WEB_SRC) node_modules/.package-lock.json
	@mkdir -p $(O)/web/vendor
	@$(if $(Q),echo "  WEB     $(O)/web")
	$(Q)rm -rf $(O)/web/*.* && cp $(WEB_SRC) $(O)/web/ && \
	  cp $(UPLOT)/uPlot.iife.min.js $(UPLOT)/uPlot.min.css $(O)/web/vendor/
	@touch $@
LABS_SRC := $(sort $(wildcard clients/labs/*.json))
$(O)/labs/.stamp: clients/labs $(LABS_SRC)
	@mkdir -p $(O)/labs
	$(Q)rm -f $(O)/labs/*.json && cp $(LABS_SRC) $(O)/labs/
	@touch $@

# ---- soak: random operation records through the op table (tests/soak/) ------------
$(O)/engine-soak: $(O)/tests/soak/engine-soak.o $(O)/tests/fuzz/opgen.o \
                  $(O)/libmmapi.a $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -ljansson $(LDLIBS)

# ---- fuzz drivers (tests/fuzz/README.md) ------------------------------------------
# One binary per tests/fuzz/fuzz_NAME.c; `make fuzz` builds them with FUZZ=1
# and runs each for FUZZ_SECONDS over a copy of its seed corpus.
FUZZ_SECONDS ?= 30
FUZZ_TEST_SECONDS ?= 30
FUZZ_DRIVERS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_COMMON  := $(O)/tests/fuzz/fuzz.o $(O)/tests/fuzz/opgen.o
$(O)/fuzz-%: $(O)/tests/fuzz/fuzz_%.o $(FUZZ_COMMON) $(O)/libmmsrv.a \
             $(O)/libmmapi.a $(O)/libmmpst.a $(O)/libmmengine.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(SRV_LIBS) $(LDLIBS)

# keep the drivers' objects (they are intermediate to the pattern rule)
.SECONDARY: $(FUZZ_DRIVERS:%=$(O)/tests/fuzz/fuzz_%.o) $(FUZZ_COMMON)

fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_DRIVERS:%=build/fuzz/fuzz-%)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@MMSIM_SRCDIR=$(CURDIR)/tests tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_DRIVERS)

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
	@$(MAKE) --no-print-directory fuzz-build
	@MMSIM_SRCDIR=$(CURDIR)/tests tests/run-suites \
	  "engine purity" "$(MAKE) --no-print-directory -s check-engine-purity" \
	  "unit" "$(O)/unit-tests" \
	  "unit (ASan+UBSan)" "build/san/unit-tests" \
	  "exec layout, live host" "tests/elf/check-live" \
	  "api ops" "$(O)/api-op-tests" \
	  "api" "python3 tests/api/run.py $(O)/mmsimd" \
	  "durability" "python3 tests/durability/run.py $(O)/mmsimd" \
	  "labs and web files" "python3 tests/labs/run.py $(O)/mmsimd" \
	  "browser (chromium)" "node tests/browser/run.mjs $(O)/mmsimd" \
	  "tenants, limits, events, metrics" "python3 tests/tenants/run.py $(O)/mmsimd" \
	  "scale-out (docker/, haproxy)" "python3 tests/scaleout/run.py $(O)/mmsimd" \
	  "grading (clients/mmsim-grade)" "python3 tests/grading/run.py $(O)/mmsimd" \
	  "fidelity" "tests/fidelity/compare --sim $(O)/fidelity-sim --recorder build/fidelity/recorder" \
	  "engine soak (short)" "$(O)/engine-soak --ops 20000 --seeds 1,2" \
	  "engine soak, memory pressure (10,000 sequences)" \
	    "$(O)/engine-soak --pressure 10000 --seeds 1" \
	  "malformed input, live server" "python3 tests/malformed/run.py $(O)/mmsimd" \
	  "resource exhaustion, live server" "python3 tests/exhaust/run.py $(O)/mmsimd" \
	  "fuzz ($(FUZZ_TEST_SECONDS) s per driver)" \
	    "tests/fuzz/run $(FUZZ_TEST_SECONDS) $(FUZZ_DRIVERS)"

unit: $(O)/unit-tests
	MMSIM_SRCDIR=$(CURDIR)/tests $(O)/unit-tests $(T)

# SOAK_SECONDS: the loopback load's duration; FUZZ_SOAK_SECONDS per driver.
SOAK_SECONDS ?= 180
FUZZ_SOAK_SECONDS ?= 600
soak: deps all
	@$(MAKE) --no-print-directory fuzz-build
	@MMSIM_SRCDIR=$(CURDIR)/tests MMSIM_TEST_TIMEOUT=7200 tests/run-suites \
	  "unit x100" "MMSIM_TEST_SCALE=100 $(O)/unit-tests" \
	  "unit under valgrind (memcheck)" \
	    "valgrind -q --error-exitcode=9 --leak-check=full $(O)/unit-tests" \
	  "engine soak (1.2M operations)" \
	    "$(O)/engine-soak --ops 150000 --seeds 1,2,3,4" \
	  "engine soak, memory pressure (1,000,000 sequences)" \
	    "$(O)/engine-soak --pressure 1000000 --seeds 1" \
	  "server: load, valgrind session, slowloris" \
	    "SOAK_SECONDS=$(SOAK_SECONDS) python3 tests/soak/server.py $(O)/mmsimd" \
	  "fuzz ($(FUZZ_SOAK_SECONDS) s per driver)" \
	    "tests/fuzz/run $(FUZZ_SOAK_SECONDS) $(FUZZ_DRIVERS)"

# Not part of `make test` (tests check behaviour, not timing).
bench: bench-deps all
	@bench/run $(O) $(ROWS)

# docs/*.png: how cost grows with machine size and with the number of VMAs.
plots: bench-deps $(O)/bench-growth
	@bench/plots $(O)

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
