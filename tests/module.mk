# tests/: one Check suite per source file, mirroring the tree, plus the
# integration suite that drives a real dermsd and a real PostgreSQL.
TEST_SRCS  += $(wildcard tests/*.c tests/server/*.c tests/integration/*.c)
BENCH_SRCS += $(wildcard tests/bench/*.c)
