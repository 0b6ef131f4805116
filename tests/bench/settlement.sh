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
# Then the same from the database, in a private PostgreSQL cluster
# (deploy/pgcluster.sh, default settings): the fleet (10,000 DERs in 100
# aggregations of market PJM) made in SQL, "dermsctl settle import" of the
# whole CSV (COPY + one upsert), prices through "settle import-prices", and
# "dermsctl settle export --aggregation all" without --input (members as
# of the day, readings, prices and instructions read back from the
# database), timed once each.
# SETTLE_BENCH_RESOURCES and SETTLE_BENCH_DAYS override the size;
# SETTLE_BENCH_SKIP_CSV=1 runs only the database part.
set -euo pipefail
: "${BUILD:?}" "${ROOT:?}"
NRES=${SETTLE_BENCH_RESOURCES:-10000}
NDAYS=${SETTLE_BENCH_DAYS:-11}
NAGGS=${SETTLE_BENCH_AGGS:-100}
. "$ROOT/tests/bench/lib.sh"
bench_init settle-bench
TMP=$tmp

[ -x "$BUILD/bench/settle_gen" ] || { echo "bench: settlement: $BUILD/bench/settle_gen missing (make bench-build)" >&2; exit 1; }
"$BUILD/bench/settle_gen" "$TMP/r.csv" "$NRES" "$NDAYS"
readings=$(($(wc -l < "$TMP/r.csv") - 1))
bytes=$(stat -c %s "$TMP/r.csv")

if [ "${SETTLE_BENCH_SKIP_CSV:-0}" != 1 ]; then
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
fi

awk -v n="$NRES" -v a="$NAGGS" 'BEGIN { print "aggregation,resource";
	per = int((n + a - 1) / a);
	for (r = 0; r < n; r++) printf "agg-%03d,meter-%05d\n", int(r / per), r }' > "$TMP/members.csv"
{
	echo "interval_start,interval_minutes,price_per_mwh"
	for h in $(seq 0 23); do printf '2024-07-17T%02d:00-04:00,60,%d.25\n' "$h" $((30 + h)); done
} > "$TMP/prices.csv"
if [ "${SETTLE_BENCH_SKIP_CSV:-0}" != 1 ]; then
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
fi

# ---- from the database ----
bench_cluster default
CI=$conninfo
"$BUILD/dermsctl" --db "$CI" --schema "$ROOT/schema" migrate >/dev/null
psql -q -X "$CI" -v ON_ERROR_STOP=1 -v nres="$NRES" -v naggs="$NAGGS" <<'SQL'
INSERT INTO tenants (name, kind) VALUES ('bench', 'aggregator');
INSERT INTO iso_markets (name) VALUES ('PJM');
INSERT INTO aggregations (tenant_id, name, iso_resource_id, iso_market_id)
	SELECT t.id, 'agg-' || lpad(a::text, 3, '0'), 'agg-' || lpad(a::text, 3, '0'), m.id
	FROM tenants t, iso_markets m, generate_series(0, :naggs - 1) a;
INSERT INTO der_resources (kind, external_id, tenant_id)
	SELECT 'flexible_load', 'meter-' || lpad(r::text, 5, '0'), t.id
	FROM tenants t, generate_series(0, :nres - 1) r;
INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)
	SELECT g.id, d.id, '2024-01-01Z'
	FROM der_resources d
	JOIN aggregations g ON g.name = 'agg-' || lpad(((substr(d.external_id, 7)::int)
		/ ((:nres + :naggs - 1) / :naggs))::text, 3, '0');
SQL
start=$(date +%s%N)
"$BUILD/dermsctl" --db "$CI" settle import "$TMP/r.csv" > "$TMP/import.out"
end=$(date +%s%N)
ims=$(((end - start) / 1000000))
echo "bench: settlement: db import: $(cat "$TMP/import.out")"
echo "bench: settlement: db import: $readings readings in ${ims} ms = $((readings * 1000 / (ims > 0 ? ims : 1))) readings/s"
"$BUILD/dermsctl" --db "$CI" settle import-prices --iso pjm "$TMP/prices.csv" >/dev/null
psql -q -X "$CI" -c "VACUUM ANALYZE" >/dev/null
rm -rf "$TMP/x"
mkdir "$TMP/x"
start=$(date +%s%N)
"$BUILD/dermsctl" --db "$CI" settle export --iso pjm --aggregation all --day 2024-07-17 \
	--method pjm-cbl --event 2024-07-17T14:00-04:00/2024-07-17T18:00-04:00 \
	--out "$TMP/x" > "$TMP/x.out" 2> "$TMP/x.err"
end=$(date +%s%N)
dms=$(((end - start) / 1000000))
nagg=$(grep -c '^exported ' "$TMP/x.out")
nfiles=$(find "$TMP/x" -type f | wc -l)
echo "bench: settlement: db export: $nagg aggregations x 1 day, pjm-cbl + prices from the database, $nfiles files"
echo "bench: settlement: db export: ${dms} ms = $((readings * 1000 / (dms > 0 ? dms : 1))) readings/s (target: <= 60000 ms)"
