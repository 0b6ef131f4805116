#!/usr/bin/env bash
# tests/bench/fleet_import.sh -- bulk fleet import (run by tests/bench.sh).
# A private cluster; CSV files for 100,000 sites, 130,000 DERs and their
# 130,000 enrollments (generated once); then, three times on a fresh
# database, `dermsctl import` of feeders, markets and aggregations
# (untimed) and of sites, DERs and enrollments (timed, wall clock).
# Prints the median of the three runs per kind and for the total.
# Target: total <= 60 s.  FLEET_BENCH_SITES scales it down.
set -euo pipefail
: "${ROOT:?}" "${BUILD:?}"
sites=${FLEET_BENCH_SITES:-100000}
runs=${FLEET_BENCH_RUNS:-3}
. "$ROOT/tests/bench/lib.sh"
bench_init
bench_cluster
base=$conninfo

# 200 feeders, 20 pricing nodes, 4 aggregators; one aggregation per
# aggregator and node in one market.  Every site has a DER, 30% a second;
# every DER is enrolled in its aggregator's aggregation at its node.
awk -v sites="$sites" -v dir="$tmp" 'BEGIN {
	OFS = ","
	print "name,hosting_capacity_kw" > dir "/feeders.csv"
	for (f = 0; f < 200; f++) print "F" f, 1000000 > dir "/feeders.csv"
	print "name,kind,min_size_kw,allow_dual_participation" > dir "/markets.csv"
	print "ISO-1,wholesale,100,false" > dir "/markets.csv"
	print "tenant,name,market,iso_resource_id,pricing_node,min_size_kw,effective_from,effective_to" > dir "/aggregations.csv"
	for (t = 0; t < 4; t++) for (n = 0; n < 20; n++)
		print "bench" t, "AGG-" t "-" n, "ISO-1", "R-" t "-" n, "NODE-" n, "", "2024-01-01T00:00:00Z", "" > dir "/aggregations.csv"
	print "meter_id,tenant,address,feeder,transformer,pricing_node,time_zone" > dir "/sites.csv"
	print "der_id,meter_id,tenant,kind,nameplate_kw,nameplate_kva,energy_kwh,max_charge_kw,max_discharge_kw,charge_efficiency,discharge_efficiency,inverter_make,inverter_model,lfdi,ven_name,resource_name,interconnection_status,interconnection_date,export_cap_kw" > dir "/ders.csv"
	print "tenant,aggregation,der_id,effective_from,effective_to" > dir "/enrollments.csv"
	d = 0
	for (s = 0; s < sites; s++) {
		t = s % 4; n = s % 20
		print "MTR" s, "bench" t, "\"" s " Elm St, Springfield\"", "F" (s % 200), "T" int(s / 8), "NODE-" n, "America/Chicago" > dir "/sites.csv"
		k = (s % 10 < 3) ? 2 : 1
		for (j = 0; j < k; j++) {
			if (j == 0)
				print "DER" d, "MTR" s, "bench" t, "pv", "7.6", "8", "", "", "", "", "", "Acme", "P-7", sprintf("%040X", d + 1), "", "", "interconnected", "2023-05-01", "7.6" > dir "/ders.csv"
			else
				print "DER" d, "MTR" s, "", "battery", "5", "5", "13.5", "5", "5", "0.95", "0.95", "Acme", "B-13", "", "ven" t, "bat" d, "interconnected", "2023-05-01", "" > dir "/ders.csv"
			print "bench" t, "AGG-" t "-" n, "DER" d, "2024-01-01T00:00:00Z", "" > dir "/enrollments.csv"
			d++
		}
	}
}'
echo "bench: fleet: generated $sites sites, $(($(wc -l < "$tmp/ders.csv") - 1)) DERs, $(($(wc -l < "$tmp/enrollments.csv") - 1)) enrollments"

now() { date +%s.%N; }
declare -A times
for run in $(seq "$runs"); do
	db=bench_$run
	psql "$base" -qXc "CREATE DATABASE $db" >/dev/null
	ci="$base dbname=$db"
	"$BUILD/dermsctl" --db "$ci" --schema "$ROOT/schema" migrate >/dev/null
	psql "$ci" -qXc "INSERT INTO tenants (name, kind) SELECT 'bench' || g, 'aggregator' FROM generate_series(0, 3) g" >/dev/null
	for k in feeders markets aggregations; do
		"$BUILD/dermsctl" --db "$ci" import "$k" "$tmp/$k.csv" >/dev/null
	done
	total=0
	for k in sites ders enrollments; do
		t0=$(now)
		"$BUILD/dermsctl" --db "$ci" import "$k" "$tmp/$k.csv" >/dev/null
		t1=$(now)
		dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		times[$k]="${times[$k]:-} $dt"
		total=$(awk -v a="$total" -v b="$dt" 'BEGIN { printf "%.3f", a + b }')
	done
	times[total]="${times[total]:-} $total"
	echo "bench: fleet: run $run: sites+ders+enrollments in $total s"
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }'; }
for k in sites ders enrollments total; do
	echo "bench: fleet: import $k: median $(echo "${times[$k]}" | median) s of $runs runs (target total <= 60 s)"
done
