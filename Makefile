# cgrad — GNU Make build.
#
#   make             libcgrad.a and libcgrad.so (float), libcgrad64.a and
#                    libcgrad64.so (double), the cgrad program
#   make test        install missing system packages, build, run every test
#   make check       the tests under ASan + UBSan, fuzz smoke runs, valgrind
#   make fuzz        each libFuzzer target for FUZZ_SECONDS (default 300)
#   make examples    build examples/
#   make bench       release build, run the benchmarks (never part of test)
#   make demo        train the Fashion-MNIST demo model
#   make install     PREFIX (default /usr/local) and DESTDIR honoured; the .pc
#                    files are written for that PREFIX; the man page and the
#                    bash completion under PREFIX/share
#   make uninstall / clean / fmt / lint
#
# BUILD names the build folder (default build/), so that several builds can
# live side by side. User CFLAGS are kept; ours are appended.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
AR      ?= ar

VERSION := $(shell sed -n 's/^\#define CG_VERSION "\(.*\)"/\1/p' tensor/tensor.h)

PKGS        = openblas zlib libjpeg
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) stb 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lopenblas -lz -ljpeg)
# Open MPI (optional): with it, train/dist.c is built on MPI (CG_HAVE_MPI)
# and everything links libmpi; without it, cg_dist is a group of one process.
# NO_MPI=1 builds without it even when it is installed.
MPI_LIBS   := $(if $(NO_MPI),,$(shell pkg-config --libs ompi-c 2>/dev/null))
MPI_CFLAGS := $(if $(MPI_LIBS),-DCG_HAVE_MPI $(shell pkg-config --cflags ompi-c 2>/dev/null))
TEST_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wcast-qual -Wpointer-arith -Wwrite-strings -Wdouble-promotion \
       -Werror=implicit-function-declaration -Werror
OPT ?= -O2 -g
# gcc 12's -O2 vectorizes only with the "very cheap" cost model, which skips
# every element-wise loop of ours; the "cheap" model vectorizes them without
# the code growth of -O3. clang vectorizes at -O2 already.
# -fno-math-errno lets sqrt in a loop vectorize (nothing here reads errno;
# NaN and infinity behave as before, unlike -ffast-math).
VECT := $(if $(shell $(CC) --version 2>/dev/null | grep -qi clang || echo gcc),-fvect-cost-model=cheap) \
        -fno-math-errno
# Quiet by default; `make V=1` shows the full commands.
ifeq ($(V),1)
Q =
say = @true
else
Q = @
say = @printf '  %-6s %s\n'
endif
ALL_CFLAGS = -std=c11 $(OPT) $(VECT) $(WARN) -D_POSIX_C_SOURCE=200809L -I. $(PKG_CFLAGS) $(CFLAGS)
LIBS = $(PKG_LIBS) $(MPI_LIBS) -lpthread -lm

LIB_SRC  := $(sort $(wildcard tensor/*.c autograd/*.c nn/*.c optim/*.c data/*.c train/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_HELPERS := $(filter-out $(TEST_SRC),$(sort $(wildcard tests/*.c)))
EX_SRC   := $(sort $(wildcard examples/*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
HEADERS  := cgrad.h $(sort $(wildcard tensor/tensor.h autograd/autograd.h nn/nn.h \
                                       optim/optim.h data/data.h train/train.h \
                                       train/dist.h))

OBJ32 := $(LIB_SRC:%.c=$(BUILD)/f32/%.o)
OBJ64 := $(LIB_SRC:%.c=$(BUILD)/f64/%.o)
LIB32 := $(BUILD)/libcgrad.a
LIB64 := $(BUILD)/libcgrad64.a
CLI   := $(if $(CLI_SRC),$(BUILD)/cgrad)
TESTS32 := $(TEST_SRC:tests/%.c=$(BUILD)/tests/f32/%)
TESTS64 := $(TEST_SRC:tests/%.c=$(BUILD)/tests/f64/%)
EXAMPLES := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# ---- shared libraries (install) ----------------------------------------------
# libcgrad.so and libcgrad64.so are linked from the very objects of the static
# libraries: every library object is compiled once, with PIC_CFLAGS. On x86-64
# Debian, gcc makes position-independent executables by default, so the
# objects were -fPIE already; -fPIC differs from that only in letting another
# library interpose our functions, which -fno-semantic-interposition turns off
# again (gcc then inlines and calls directly as before). Measured with
# callgrind (bench/run.sh's tiny step, release build, one source tree):
# 16,612 instructions a step without -fPIC, 16,612 with these flags (16,613
# with -fPIC alone), and 16,682 through libcgrad.so. So one compile serves
# both libraries: a second one for the .so would double the library's build
# time for nothing.
# Soname: before 1.0 every minor version may change the ABI, so 0.1.x is
# libcgrad.so.0.1; from 1.0 on, the major version alone.
PIC_CFLAGS := -fPIC -fno-semantic-interposition
VERSION_WORDS := $(subst ., ,$(VERSION))
SOVERSION := $(if $(filter 0,$(word 1,$(VERSION_WORDS))),0.$(word 2,$(VERSION_WORDS)),$(word 1,$(VERSION_WORDS)))
SO32 := $(BUILD)/libcgrad.so.$(VERSION)
SO64 := $(BUILD)/libcgrad64.so.$(VERSION)

.PHONY: all lib test tests test-run check examples bench demo parity install uninstall \
        clean fmt lint deps
.DEFAULT_GOAL := all

# The man page and the bash completion are written by the program from its
# own option table (cli/manual.c), so they say what --help says.
MAN        := $(if $(CLI),$(BUILD)/cgrad.1)
COMPLETION := $(if $(CLI),$(BUILD)/cgrad.bash)

all: $(LIB32) $(LIB64) $(SO32) $(SO64) $(CLI) $(MAN) $(COMPLETION)

lib: $(LIB32) $(LIB64) $(SO32) $(SO64)

# The library's objects are remade when the command that compiles them
# changes (here: -fPIC was added), not only when a source does: the stamp is
# rewritten only when the flags differ from the last build's (git's
# GIT-CFLAGS trick), so an old build folder gets PIC objects for the .so.
LIB_FLAGS := $(BUILD)/lib-flags
$(LIB_FLAGS): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CFLAGS) $(PIC_CFLAGS)' | cmp -s - $@ 2>/dev/null || \
	    echo '$(CC) $(ALL_CFLAGS) $(PIC_CFLAGS)' > $@

.PHONY: FORCE
FORCE:

$(BUILD)/f32/%.o: %.c $(LIB_FLAGS)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) $(PIC_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/f64/%.o: %.c $(LIB_FLAGS)
	@mkdir -p $(@D)
	$(say) CC64 $<
	$(Q)$(CC) $(ALL_CFLAGS) $(PIC_CFLAGS) -DCG_DOUBLE -MMD -MP -c $< -o $@

# Only the file that calls MPI sees mpi.h.
$(BUILD)/f32/train/dist.o $(BUILD)/f64/train/dist.o: ALL_CFLAGS += $(MPI_CFLAGS)

$(LIB32): $(OBJ32)
	@mkdir -p $(@D)
	$(say) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB64): $(OBJ64)
	@mkdir -p $(@D)
	$(say) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# cgrad.map exports the public cg_* functions and hides the cg__* internals.
$(SO32): $(OBJ32) cgrad.map
	$(say) LD $@
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,-soname,libcgrad.so.$(SOVERSION) \
	    -Wl,--version-script=cgrad.map -o $@ $(OBJ32) $(LIBS)

$(SO64): $(OBJ64) cgrad.map
	$(say) LD $@
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,-soname,libcgrad64.so.$(SOVERSION) \
	    -Wl,--version-script=cgrad.map -o $@ $(OBJ64) $(LIBS)

$(BUILD)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The cgrad program holds both precisions: `cgrad gradcheck` checks in double
# by default (--float for float's errors, --explain shows both). It links
# libcgrad.a and a copy of libcgrad64.a whose global symbols are renamed
# cg_ -> cg64_ (cli/lib64.h declares the few it calls). Renaming the built
# archive keeps one compile of each source, one program to install, and
# both precisions side by side in one run; see docs/CLI.md, gradcheck.
OBJCOPY ?= objcopy
NM      ?= nm
LIB64_CLI := $(BUILD)/cli/libcg64.a
# $(call rename64,IN.a,OUT.a): OUT is IN with every defined global symbol
# that holds "cg_" renamed at its first "cg_" (cg__x too, and the
# sanitizers' __odr_asan_gen_cg_x).
rename64 = $(NM) -g --defined-only $(1) | \
    awk 'NF == 3 && $$3 ~ /cg_/ { s = $$3; sub(/cg_/, "cg64_", s); print $$3, s }' | \
    sort -u > $(2).syms && $(OBJCOPY) --redefine-syms=$(2).syms $(1) $(2)

$(LIB64_CLI): $(LIB64)
	@mkdir -p $(@D)
	$(say) CG64 $@
	$(Q)$(call rename64,$<,$@)

$(BUILD)/cgrad: $(CLI_SRC:%.c=$(BUILD)/%.o) $(LIB32) $(LIB64_CLI)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# (cgrad.pc and cgrad64.pc are written by `make install`, for its PREFIX.)

$(BUILD)/cgrad.1: $(BUILD)/cgrad
	$(say) GEN $@
	$(Q)$(BUILD)/cgrad help --man > $@.tmp && mv $@.tmp $@

$(BUILD)/cgrad.bash: $(BUILD)/cgrad
	$(say) GEN $@
	$(Q)$(BUILD)/cgrad help --bash-completion > $@.tmp && mv $@.tmp $@

# ---- tests ------------------------------------------------------------------
# Every tests/test_*.c is one cmocka program, built against both libraries;
# other tests/*.c are helpers linked into each.

$(BUILD)/tests/f32/%: tests/%.c $(TEST_HELPERS) $(LIB32)
	@mkdir -p $(@D)
	$(say) TEST $@
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(TEST_HELPERS) \
	    $(LIB32) $(TEST_LIBS) $(LIBS)

$(BUILD)/tests/f64/%: tests/%.c $(TEST_HELPERS) $(LIB64)
	@mkdir -p $(@D)
	$(say) TEST64 $@
	$(Q)$(CC) $(ALL_CFLAGS) -DCG_DOUBLE $(TEST_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< \
	    $(TEST_HELPERS) $(LIB64) $(TEST_LIBS) $(LIBS)

tests: $(TESTS32) $(TESTS64) $(CLI) $(EXAMPLES)

deps:
	@scripts/deps.sh

# The packages are installed before make reads any pkg-config flag: the
# build itself runs in a second make.
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: tests
	@BUILD=$(BUILD) tests/run.sh $(TESTS32) $(TESTS64)

# make check: every test under ASan + UBSan (its own build folder), a short
# run of every fuzz target from its seed corpus, and the cgrad program's
# end-to-end tests under valgrind memcheck (docs/RELIABILITY.md).
CHECK_FUZZ_SECONDS ?= 20
check: deps
	@scripts/deps.sh check
	@CG_SKIP_INSTALL_TEST=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/check CC=clang \
	    OPT="-O1 -g -fno-omit-frame-pointer" \
	    CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all $(CFLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined $(LDFLAGS)" test-run
	@$(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) \
	    FUZZ_WORK=$(BUILD)/fuzz/check
	@$(MAKE) --no-print-directory valgrind-run
	@$(MAKE) --no-print-directory parity

# ---- fuzzing (clang's libFuzzer, ASan + UBSan) -------------------------------
# The library is compiled again with the sanitizers and libFuzzer's coverage
# into $(BUILD)/fuzz; each tests/fuzz/fuzz_<name>.c is one target, run from
# tests/fuzz/corpus/<name>/ (the seeds, read only) and $(BUILD)/fuzz/corpus/
# <name>/ (what it finds). `make fuzz` runs each for FUZZ_SECONDS.

FUZZ_SECONDS ?= 300
FUZZ_CC     ?= clang
FUZZ_DIR     = $(BUILD)/fuzz
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  = -std=c11 -O1 -g -fno-omit-frame-pointer $(WARN) -D_POSIX_C_SOURCE=200809L \
               -I. $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
# the option-parser, model-file and checkpoint targets need cli/
FUZZ_CLI_TARGETS = tests/fuzz/fuzz_cli.c tests/fuzz/fuzz_modelfile.c tests/fuzz/fuzz_checkpoint.c
FUZZ_SRC    := $(if $(CLI_SRC),$(FUZZ_SRC),$(filter-out $(FUZZ_CLI_TARGETS),$(FUZZ_SRC)))
FUZZ_BINS   := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB    := $(FUZZ_DIR)/libcgrad-fuzz.a
# cli/main.c is compiled with its main() renamed (libFuzzer has the main);
# the CLI links the double library renamed cg64_ too (see $(LIB64_CLI)).
FUZZ_CLI_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(CLI_SRC))
$(FUZZ_DIR)/obj/cli/main.o: FUZZ_EXTRA = -Dmain=cgrad_main -Wno-missing-prototypes
FUZZ_LIB64  := $(FUZZ_DIR)/libcg64-fuzz.a

.PHONY: fuzz fuzz-build fuzz-run valgrind-run

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(say) FUZZCC $<
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj64/%.o: %.c
	@mkdir -p $(@D)
	$(say) FUZZCC64 $<
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -DCG_DOUBLE -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	$(say) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_LIB64): $(LIB_SRC:%.c=$(FUZZ_DIR)/obj64/%.o)
	$(say) CG64 $@
	$(Q)rm -f $@.in && $(AR) rcs $@.in $^ && $(call rename64,$@.in,$@)

# the cgrad program's objects (gradcheck links the renamed double library)
$(FUZZ_DIR)/fuzz_cli $(FUZZ_DIR)/fuzz_modelfile $(FUZZ_DIR)/fuzz_checkpoint: $(FUZZ_CLI_OBJ) \
    $(FUZZ_LIB64)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_LIB)
	$(say) FUZZ $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(filter %.o,$^) $(FUZZ_LIB) \
	    $(filter %cg64-fuzz.a,$^) $(LIBS)

fuzz-build: deps
	@scripts/deps.sh check
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

# FUZZ_WORK: where the found inputs, logs and crash artifacts go
FUZZ_WORK ?= $(FUZZ_DIR)
fuzz-run: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_WORK) $(FUZZ_BINS)

fuzz:
	@$(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)

# ---- valgrind ------------------------------------------------------------------
# The end-to-end tests of the cgrad program (tests/test_cli.c and the hostile
# inputs of tests/test_hostile.c), run against a
# wrapper that execs the normal build's cgrad under memcheck: any error or
# definite leak exits 99 (the test sees a wrong exit status) and is logged
# in $(BUILD)/valgrind/ (checked after the run).

VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
           --show-leak-kinds=definite --track-fds=no

valgrind-run:
	@if [ -z "$(CLI)" ] || [ ! -f tests/test_cli.c ]; then \
	    echo "valgrind: no cli/ or tests/test_cli.c yet: skipped"; exit 0; fi; \
	$(MAKE) --no-print-directory $(CLI) $(BUILD)/tests/f32/test_cli \
	    $(BUILD)/tests/f32/test_hostile && \
	rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind && \
	printf '#!/bin/sh\nexec $(VALGRIND) --log-file=%s/vg.%%p.log %s "$$@"\n' \
	    "$$(cd $(BUILD)/valgrind && pwd)" "$$(cd $(BUILD) && pwd)/cgrad" \
	    > $(BUILD)/valgrind/cgrad && chmod +x $(BUILD)/valgrind/cgrad && \
	BUILD=$(BUILD)/valgrind tests/run.sh $(BUILD)/tests/f32/test_cli \
	    $(BUILD)/tests/f32/test_hostile && \
	if grep -l . $(BUILD)/valgrind/vg.*.log 2>/dev/null; then \
	    echo "valgrind: reports above (in $(BUILD)/valgrind/)"; \
	    cat $(BUILD)/valgrind/vg.*.log; exit 1; fi; \
	echo "valgrind: cgrad end-to-end tests: 0 errors, 0 definite leaks ($$(ls $(BUILD)/valgrind/vg.*.log | wc -l) runs)"

examples: $(EXAMPLES)

# ---- exercises (examples/exercises/, docs/LEARNING.md) -----------------------
# Each exercise is the learner's file examples/exercises/NAME.c (one function
# to fill in), a harness/NAME.c that wires it into a graph, and the shared
# harness/main.c that checks it against the double library and prints the
# verdict. Built three ways: the learner's file, the solution, and each
# planted mistake, which is the solution edited by tests/exercises/NAME-what.sed
# (its first line says the diagnosis it must get). The blank compiles
# without -Wunused-parameter: its parameters are unused until filled in.
EX_DIR      := examples/exercises
EXERCISES   := $(basename $(notdir $(wildcard $(EX_DIR)/*.c)))
EX_MISTAKES := $(basename $(notdir $(wildcard tests/exercises/*.sed)))
EX_SHARED   := $(EX_DIR)/harness/main.c $(EX_DIR)/harness/unary.c
EX_DEPS     := $(EX_SHARED) $(EX_DIR)/exercises.h $(EX_DIR)/harness/harness.h $(LIB64)
EX_CFLAGS    = $(ALL_CFLAGS) -DCG_DOUBLE -Wno-unused-parameter -I$(EX_DIR)
EX_BINS     := $(EXERCISES:%=$(BUILD)/exercises/%) \
               $(EXERCISES:%=$(BUILD)/exercises/solutions/%) \
               $(EX_MISTAKES:%=$(BUILD)/exercises/mistakes/%)
# the exercise a mistake belongs to: NAME of NAME-what
ex_of = $(firstword $(subst -, ,$(1)))

.PHONY: exercise exercises-check
tests: $(EX_BINS)
.SECONDARY: $(EX_MISTAKES:%=$(BUILD)/exercises/mistakes/%.c)

$(BUILD)/exercises/solutions/%: $(EX_DIR)/solutions/%.c $(EX_DIR)/harness/%.c $(EX_DEPS)
	@mkdir -p $(@D)
	$(say) CC64 $@
	$(Q)$(CC) $(EX_CFLAGS) $(LDFLAGS) -o $@ $< $(EX_DIR)/harness/$*.c $(EX_SHARED) $(LIB64) $(LIBS)

$(BUILD)/exercises/mistakes/%.c: tests/exercises/%.sed $(EX_DIR)/solutions/*.c
	@mkdir -p $(@D)
	$(Q)sed -f $< $(EX_DIR)/solutions/$(call ex_of,$*).c > $@.tmp && \
	if cmp -s $@.tmp $(EX_DIR)/solutions/$(call ex_of,$*).c; then \
	    echo "$<: changes nothing in $(EX_DIR)/solutions/$(call ex_of,$*).c"; rm -f $@.tmp; \
	    exit 1; fi && mv $@.tmp $@

$(BUILD)/exercises/mistakes/%: $(BUILD)/exercises/mistakes/%.c $(EX_DIR)/harness/*.c $(EX_DEPS)
	$(say) CC64 $@
	$(Q)$(CC) $(EX_CFLAGS) $(LDFLAGS) -o $@ $< $(EX_DIR)/harness/$(call ex_of,$*).c \
	    $(EX_SHARED) $(LIB64) $(LIBS)

$(BUILD)/exercises/%: $(EX_DIR)/%.c $(EX_DIR)/harness/%.c $(EX_DEPS)
	@mkdir -p $(@D)
	$(say) CC64 $@
	$(Q)$(CC) $(EX_CFLAGS) $(LDFLAGS) -o $@ $< $(EX_DIR)/harness/$*.c $(EX_SHARED) $(LIB64) $(LIBS)

# make exercise E=sigmoid: build the learner's file and print its verdict.
exercise:
	@if [ -z "$(E)" ] || [ ! -f $(EX_DIR)/$(E).c ]; then \
	    echo "usage: make exercise E=NAME, NAME one of: $(EXERCISES)"; exit 2; fi
	@$(MAKE) --no-print-directory $(BUILD)/exercises/$(E)
	@$(BUILD)/exercises/$(E)

# Every blank fails, every solution passes, every planted mistake gets its
# diagnosis (tests/test_exercises.c; part of make test).
exercises-check: $(EX_BINS) $(BUILD)/tests/f64/test_exercises
	@BUILD=$(BUILD) tests/run.sh $(BUILD)/tests/f64/test_exercises

$(BUILD)/examples/%: examples/%.c $(LIB32)
	@mkdir -p $(@D)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIB32) $(LIBS)

# The demo's data set too: the training figures are measured on it.
bench: deps
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/release OPT="-O2 -DNDEBUG" bench-run

bench-run: $(BENCHES) $(CLI)
	@BUILD=$(BUILD) bench/run.sh

$(BUILD)/bench/%: bench/%.c $(LIB32)
	@mkdir -p $(@D)
	$(say) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIB32) $(LIBS)

# cgrad against PyTorch number for number (needs python3-torch, which
# `scripts/deps.sh check` installs): interchange, every optimizer, predict.
parity: all
	@/usr/bin/python3 scripts/torch_parity.py $(BUILD)

demo: deps
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo.sh

# ---- install ----------------------------------------------------------------

# The .pc files are written here, for the PREFIX of this install (not the one
# of an earlier `make`); cgrad64.pc is the double library, with -DCG_DOUBLE in
# its Cflags. libcgrad.so is the link name, libcgrad.so.$(SOVERSION) the
# soname the loader looks for, libcgrad.so.$(VERSION) the file.
LIBDIR_D = $(DESTDIR)$(PREFIX)/lib
pc_file = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@NAME@|$(1)|g' \
              -e 's|@DEFS@|$(2)|g' $(if $(MPI_LIBS),-e 's|^Requires.private: .*|& ompi-c|') \
              cgrad.pc.in > $(LIBDIR_D)/pkgconfig/$(1).pc
so_links = ln -sf $(1).so.$(VERSION) $(LIBDIR_D)/$(1).so.$(SOVERSION) && \
           ln -sf $(1).so.$(SOVERSION) $(LIBDIR_D)/$(1).so
so_files = $(LIBDIR_D)/$(1).so $(LIBDIR_D)/$(1).so.$(SOVERSION) $(LIBDIR_D)/$(1).so.$(VERSION)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/cgrad
	install -m 644 $(LIB32) $(LIB64) $(DESTDIR)$(PREFIX)/lib
	install -m 644 $(SO32) $(SO64) $(LIBDIR_D)
	$(call so_links,libcgrad)
	$(call so_links,libcgrad64)
	$(call pc_file,cgrad,)
	$(call pc_file,cgrad64, -DCG_DOUBLE)
	for h in $(HEADERS); do \
	    install -d $(DESTDIR)$(PREFIX)/include/cgrad/$$(dirname $$h) && \
	    install -m 644 $$h $(DESTDIR)$(PREFIX)/include/cgrad/$$h || exit 1; done
	$(if $(CLI),install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin)
	$(if $(CLI),install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions)
	$(if $(CLI),install -m 644 $(MAN) $(DESTDIR)$(PREFIX)/share/man/man1/cgrad.1)
	$(if $(CLI),install -m 644 $(COMPLETION) \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cgrad)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libcgrad.a $(DESTDIR)$(PREFIX)/lib/libcgrad64.a
	rm -f $(DESTDIR)$(PREFIX)/lib/pkgconfig/cgrad.pc $(DESTDIR)$(PREFIX)/bin/cgrad
	rm -rf $(DESTDIR)$(PREFIX)/include/cgrad
	rm -f $(call so_files,libcgrad) $(call so_files,libcgrad64) $(LIBDIR_D)/pkgconfig/cgrad64.pc
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/cgrad.1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cgrad

clean:
	rm -rf $(BUILD)

# ---- style ------------------------------------------------------------------

FMT_FILES = $(wildcard *.h */*.c */*.h)

fmt:
	@scripts/lint.sh --fix $(FMT_FILES)

lint:
	@scripts/lint.sh $(FMT_FILES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
