# tests/: one Check suite per source file, mirroring the tree, plus the
# integration suite that drives a real dermsd and a real PostgreSQL.
TEST_SRCS  += $(wildcard tests/*.c tests/*/*.c tests/*/*/*.c)
TEST_SRCS  := $(filter-out tests/bench/%,$(TEST_SRCS))
TEST_SRCS  := $(filter-out tests/fuzz/%,$(TEST_SRCS))
BENCH_SRCS += $(wildcard tests/bench/*.c)
