#!/usr/bin/env bash
#
# tests/bench/dispatch.sh -- run by tests/bench.sh with BUILD and ROOT.
#
# Tiers S and M (seed 1), and L when DISPATCH_BENCH_L=1 (it needs about
# a gigabyte per 100k devices and minutes): the decomposition three times
# each (median of the wall times it reports, peak RSS from
# /usr/bin/time -v; a solver time limit of 2 s (S) / 30 s (M) / 120 s (L)
# and a `timeout` of 4x that per solve bound the run: a master LP solve
# can overrun the solver's own limit), S again at the 0.5 s target
# ("S@0.5"), CLP --exact once on S only (timeout 300 s), and
# "bench: dispatch: ..." lines with times, certified gaps, the cost gap
# against CLP, the speed ratio and the machine's load average.
set -euo pipefail
: "${BUILD:?}" "${ROOT:?}"
CTL=$BUILD/dermsctl
TMP=$(mktemp -d /tmp/dispatch-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }
limit() {	# limit FILE SECONDS: put a solver time limit into the instance
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["solver"] = {"time_limit_s": float(sys.argv[2])}
json.dump(d, open(sys.argv[1], "w"))
PY
}
rss() {		# rss FILE: peak resident set in MB from /usr/bin/time -v
	awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }
tiers="S S@0.5 M"
[ "${DISPATCH_BENCH_L:-0}" = 1 ] && tiers="S S@0.5 M L"
for tier in $tiers; do
	case $tier in
		S) lim=2 ;;
		S@0.5) lim=0.5 ;;
		M) lim=30 ;;
		L) lim=120 ;;
	esac
	base=${tier%@*}
	[ -f "$TMP/$base.json" ] ||
		"$CTL" dispatch generate --tier $base --seed 1 --output "$TMP/$base.json"
	cp "$TMP/$base.json" "$TMP/$tier.lim.json"
	limit "$TMP/$tier.lim.json" $lim
	rows=()
	to=$(python3 -c "import math; print(math.ceil(4 * $lim))")
	for i in 1 2 3; do
		if timeout $to /usr/bin/time -v -o "$TMP/$tier.time$i" \
			"$CTL" dispatch solve --input "$TMP/$tier.lim.json" \
			--output "$TMP/$tier.dw$i.json" 2>/dev/null; then
			rows+=("$(field "$TMP/$tier.dw$i.json" "['seconds']") $i")
		else
			echo "bench: dispatch: $tier decomposition run $i did not finish in $to s"
		fi
	done
	if [ ${#rows[@]} -eq 0 ]; then
		continue
	fi
	mid=$(printf '%s\n' "${rows[@]}" | sort -g | sed -n "$(((${#rows[@]} + 1) / 2))p")
	med=${mid% *}
	f="$TMP/$tier.dw${mid#* }.json"
	echo "bench: dispatch: $tier decomposition median ${med} s (${#rows[@]} runs), method $(field "$f" "['method']"), cost $(field "$f" "['cost']['total']"), bound $(field "$f" "['lower_bound']"), certified gap $(field "$f" "['gap']"), iterations $(field "$f" "['iterations']"), peak RSS $(rss "$TMP/$tier.time${mid#* }") MB, load $(load)"
	if [ $tier = S@0.5 ] && [ -n "${c_lp:-}" ]; then
		c_dw=$(field "$f" "['cost']['total']")
		echo "bench: dispatch: S@0.5 decomposition cost vs CLP $(python3 -c "print(($c_dw-$c_lp)/abs($c_lp))")"
	fi
	if [ $tier = S ]; then
		if timeout 300 /usr/bin/time -v -o "$TMP/S.lp.time" "$CTL" dispatch solve --exact --input "$TMP/S.json" --output "$TMP/S.lp.json" 2>/dev/null; then
			lp=$(field "$TMP/S.lp.json" "['seconds']")
			c_dw=$(field "$f" "['cost']['total']")
			c_lp=$(field "$TMP/S.lp.json" "['lower_bound']")
			echo "bench: dispatch: S exact CLP ${lp} s, optimum ${c_lp}, peak RSS $(rss "$TMP/S.lp.time") MB; decomposition cost vs CLP $(python3 -c "print(($c_dw-$c_lp)/abs($c_lp))"); speed ratio CLP/decomposition $(python3 -c "print($lp/$med)"), load $(load)"
		else
			echo "bench: dispatch: S exact CLP did not finish in 300 s"
		fi
	fi
done
