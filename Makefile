# dermsd: one non-recursive Makefile; each directory lists its sources in
# module.mk.  Variants build into their own object trees:
#   make              build/dermsd, build/dermsctl
#   make test         dependencies, build, every Check suite + integration
#   make check-asan   the same tests under ASan+UBSan (build-asan/)
#   make bench        benchmarks
#   make run          private PostgreSQL + demo PKI under var/, then dermsd
#   make install      DESTDIR/PREFIX aware

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= gcc
SANITIZE ?=

PKGS := libmicrohttpd gnutls libpq jansson libxml-2.0 libsystemd openssl libcurl clp \
        libmosquitto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wvla -Wcast-qual
CFLAGS ?= -g -O2
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS) \
              -DDERMS_PREFIX='"$(PREFIX)"'
ALL_LDFLAGS := $(LDFLAGS)
ifeq ($(SANITIZE),1)
ALL_CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
endif
LDLIBS := $(PKG_LIBS) -lpthread -lm

# Filled by the module.mk files.
LIB_SRCS :=
DERMSD_SRCS :=
DERMSCTL_SRCS :=
TEST_SRCS :=
BENCH_SRCS :=

include server/module.mk
include protocols/module.mk
include dispatch/module.mk
include settlement/module.mk
include tests/module.mk

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS      := $(call obj,$(LIB_SRCS))
DERMSD_OBJS   := $(call obj,$(DERMSD_SRCS))
DERMSCTL_OBJS := $(call obj,$(DERMSCTL_SRCS))
TEST_OBJS     := $(call obj,$(TEST_SRCS))
BENCH_OBJS    := $(call obj,$(BENCH_SRCS))
# every tests/bench/NAME.c is a program of its own: $(BUILD)/bench/NAME
BENCH_BINS    := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
ALL_OBJS := $(LIB_OBJS) $(DERMSD_OBJS) $(DERMSCTL_OBJS) $(TEST_OBJS) $(BENCH_OBJS)

.PHONY: all deps test check-asan bench run install clean tests-build bench-build
.DEFAULT_GOAL := all

all: $(BUILD)/dermsd $(BUILD)/dermsctl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libdermsd.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/dermsd: $(DERMSD_OBJS) $(BUILD)/libdermsd.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/dermsctl: $(DERMSCTL_OBJS) $(BUILD)/libdermsd.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/check_dermsd: $(TEST_OBJS) $(BUILD)/libdermsd.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(BUILD)/libdermsd.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# Installs missing Debian packages (apt-get, only when something is missing).
deps:
	@deploy/install-deps.sh

tests-build: all $(BUILD)/check_dermsd

test: deps
	@$(MAKE) --no-print-directory tests-build
	@tests/prism-install.sh
	@tests/run.sh $(BUILD)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 tests-build
	@CK_FORK=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh build-asan

bench-build: all $(BENCH_BINS)

bench: deps
	@$(MAKE) --no-print-directory bench-build
	@tests/bench.sh $(BUILD)

run: deps
	@$(MAKE) --no-print-directory all
	@deploy/run-dev.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/share/dermsd/schema $(DESTDIR)$(PREFIX)/share/doc/dermsd
	install -m 0755 $(BUILD)/dermsd $(DESTDIR)$(PREFIX)/sbin/dermsd
	install -m 0755 $(BUILD)/dermsctl $(DESTDIR)$(PREFIX)/bin/dermsctl
	install -m 0644 schema/*.sql $(DESTDIR)$(PREFIX)/share/dermsd/schema/
	install -m 0644 deploy/dermsd.conf.example deploy/dermsd.service \
	  deploy/OPERATIONS.md $(DESTDIR)$(PREFIX)/share/doc/dermsd/

clean:
	rm -rf build build-asan build-fuzz

-include $(ALL_OBJS:.o=.d)

# ---- make fuzz: libFuzzer targets, clang-14, build-fuzz/ ----
# Every tests/fuzz/fuzz_NAME.c is one target, linked with the sources listed
# in FUZZ_SRCS_fuzz_NAME, and run for FUZZ_SECONDS on a working corpus in
# build-fuzz/corpus/NAME seeded from tests/fuzz/corpus/NAME (the seeds are
# never written to).  clang-14 and libclang-rt-14-dev are installed only when
# a fuzz target is asked for.  Findings land in build-fuzz/fuzz_NAME-*.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build-fuzz
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -g -O1 -fno-omit-frame-pointer \
                -Wno-format-nonliteral -fsanitize=fuzzer,address,undefined -I. \
                $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
FUZZ_LIBS    := $(shell pkg-config --libs libxml-2.0 2>/dev/null) -lpthread
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRCS_fuzz_sep2_xml := protocols/sep2/xml.c server/arena.c server/err.c
FUZZ_SRCS_fuzz_openadr_json := protocols/openadr/model.c server/err.c
FUZZ_LIBS    += -ljansson -lm

.PHONY: fuzz fuzz-build fuzz-deps

fuzz-deps:
	@missing=; for p in clang-14 libclang-rt-14-dev; do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	echo "fuzz: installing$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then s=; else s=sudo; fi; \
	$$s apt-get update && $$s env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends $$missing

define FUZZ_RULE
$(FUZZ_DIR)/$(1): tests/fuzz/$(1).c $(FUZZ_SRCS_$(1)) \
    $(wildcard $(patsubst %.c,%.h,$(FUZZ_SRCS_$(1)))) | fuzz-deps
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $$(filter %.c,$$^) $(FUZZ_LIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(f))))

fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))

fuzz: fuzz-build
	@for f in $(FUZZ_NAMES); do \
	  c=$${f#fuzz_}; mkdir -p $(FUZZ_DIR)/corpus/$$c || exit 1; \
	  dict=; [ -f tests/fuzz/$$c.dict ] && dict=-dict=tests/fuzz/$$c.dict; \
	  echo "fuzz: $$f for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_DIR)/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/$$f- $$dict \
	    $(FUZZ_DIR)/corpus/$$c tests/fuzz/corpus/$$c || exit 1; \
	done
