#!/usr/bin/env bash
#
# tests/bench/settlement.sh -- run by tests/bench.sh with BUILD and ROOT.
#
# 10,000 resources x 11 days of 5-minute data (about 32 million readings,
# written by $BUILD/bench/settle_gen), then the PJM CBL baseline and
# performance for one event day for every resource, through the real
# "dermsctl settle baseline" (CSV parse, estimation, calendar, baselines,
# output).  Prints the median of 3 runs as readings per second.
# SETTLE_BENCH_RESOURCES and SETTLE_BENCH_DAYS override the size.
set -euo pipefail
: "${BUILD:?}" "${ROOT:?}"
NRES=${SETTLE_BENCH_RESOURCES:-10000}
NDAYS=${SETTLE_BENCH_DAYS:-11}
TMP=$(mktemp -d /tmp/settle-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

[ -x "$BUILD/bench/settle_gen" ] || { echo "bench: settlement: $BUILD/bench/settle_gen missing (make bench-build)" >&2; exit 1; }
"$BUILD/bench/settle_gen" "$TMP/r.csv" "$NRES" "$NDAYS"
readings=$(($(wc -l < "$TMP/r.csv") - 1))
bytes=$(stat -c %s "$TMP/r.csv")

times=()
for i in 1 2 3; do
	start=$(date +%s%N)
	"$BUILD/dermsctl" settle baseline --method pjm-cbl --interval 5 \
		--input "$TMP/r.csv" \
		--event 2024-07-17T14:00-04:00/2024-07-17T18:00-04:00 > "$TMP/out.csv"
	end=$(date +%s%N)
	times+=($(((end - start) / 1000000)))
done
rows=$(($(wc -l < "$TMP/out.csv") - 1))
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
rate=$((readings * 1000 / (median > 0 ? median : 1)))
echo "bench: settlement: $readings readings ($((bytes / 1048576)) MiB CSV), $NRES resources x $NDAYS days, pjm-cbl 5-min, $rows output rows"
echo "bench: settlement: runs ${times[*]} ms; median ${median} ms = $rate readings/s (target: <= 60000 ms)"
