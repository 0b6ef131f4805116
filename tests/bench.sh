#!/usr/bin/env bash
#
# tests/bench.sh BUILD_DIR -- what `make bench` runs.
#
# Runs every tests/bench/*.sh but lib.sh (which they source) in name order
# with BUILD (absolute) and ROOT exported.  Each script prints its figures
# as "bench: NAME: ..." lines (medians, and ratios measured side by side in
# the same run).
# Performance targets live here, never in the unit tests.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
export ROOT BUILD
cd "$ROOT"
status=0
shopt -s nullglob
for b in tests/bench/*.sh; do
	[ "$b" = tests/bench/lib.sh ] && continue	# sourced by the others
	echo "== $b"
	bash "$b" || { echo "bench: $b failed" >&2; status=1; }
done
exit $status
