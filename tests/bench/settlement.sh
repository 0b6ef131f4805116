#!/usr/bin/env bash
#
# tests/bench/settlement.sh -- run by tests/bench.sh with BUILD and ROOT.
#
# 10,000 resources x 11 days of 5-minute data (about 32 million readings,
# written by $BUILD/bench/settle_gen), then the PJM CBL baseline and
# performance for one event day for every resource, through the real
# "dermsctl settle baseline" (CSV parse, estimation, calendar, baselines,
# output).  Then the exports: SETTLE_BENCH_AGGS aggregations (default 100,
# resources split evenly) for the event day through "dermsctl settle export
# --iso pjm --aggregation all" with the PJM CBL, prices and every file
# (PJM hourly, ESPI, CSV, JSON, manifest; fsync'ed), end to end from the
# same CSV.  Prints the median of 3 runs of each as readings per second.
# SETTLE_BENCH_RESOURCES and SETTLE_BENCH_DAYS override the size.
set -euo pipefail
: "${BUILD:?}" "${ROOT:?}"
NRES=${SETTLE_BENCH_RESOURCES:-10000}
NDAYS=${SETTLE_BENCH_DAYS:-11}
NAGGS=${SETTLE_BENCH_AGGS:-100}
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

# ---- exports: NAGGS aggregations, one day, every file ----
awk -v n="$NRES" -v a="$NAGGS" 'BEGIN { print "aggregation,resource";
	per = int((n + a - 1) / a);
	for (r = 0; r < n; r++) printf "agg-%03d,meter-%05d\n", int(r / per), r }' > "$TMP/members.csv"
{
	echo "interval_start,interval_minutes,price_per_mwh"
	for h in $(seq 0 23); do printf '2024-07-17T%02d:00-04:00,60,%d.25\n' "$h" $((30 + h)); done
} > "$TMP/prices.csv"
xtimes=()
for i in 1 2 3; do
	rm -rf "$TMP/x"
	mkdir "$TMP/x"
	start=$(date +%s%N)
	"$BUILD/dermsctl" settle export --iso pjm --aggregation all \
		--members "$TMP/members.csv" --day 2024-07-17 --input "$TMP/r.csv" \
		--prices "$TMP/prices.csv" --method pjm-cbl \
		--event 2024-07-17T14:00-04:00/2024-07-17T18:00-04:00 \
		--out "$TMP/x" > "$TMP/x.out" 2> "$TMP/x.err"
	end=$(date +%s%N)
	xtimes+=($(((end - start) / 1000000)))
done
nagg=$(grep -c '^exported ' "$TMP/x.out")
nfiles=$(find "$TMP/x" -type f | wc -l)
xbytes=$(du -sm "$TMP/x" | cut -f1)
xmedian=$(printf '%s\n' "${xtimes[@]}" | sort -n | sed -n 2p)
xrate=$((readings * 1000 / (xmedian > 0 ? xmedian : 1)))
echo "bench: settlement: export: $nagg aggregations x 1 day, pjm-cbl + prices, $nfiles files ($xbytes MiB, fsync'ed) from $readings readings"
echo "bench: settlement: export: runs ${xtimes[*]} ms; median ${xmedian} ms = $xrate readings/s (target: <= 60000 ms)"
