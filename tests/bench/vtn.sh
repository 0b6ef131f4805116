#!/usr/bin/env bash
# tests/bench/vtn.sh -- load on the OpenADR VTN (run by tests/bench.sh).
# A private cluster and dermsd (two VTN workers) on free loopback ports, then
# $BUILD/bench/vtn_load: VTN_VENS VEN clients (default 1000), each with its own
# token and keep-alive TLS connection, searching /events with a targets
# filter; three runs, side by side in one script.  The server's CPU per
# request is printed too, as this 2-core machine also runs the clients.
set -euo pipefail
: "${ROOT:?}" "${BUILD:?}"
vens=${VTN_VENS:-1000}
. "$ROOT/tests/bench/lib.sh"
bench_init
bench_cluster
"$BUILD/dermsctl" pki init --dir "$tmp/pki" >/dev/null
bench_ports
bench_conf <<CONF
[sep2]
port = $p1
workers = 1
cert_file = pki/sep2-server.pem
key_file = pki/sep2-server.key
ca_file = pki/trust.pem
[vtn]
port = $p2
workers = 2
cert_file = pki/vtn-server.pem
key_file = pki/vtn-server.key
token_key_file = pki/vtn-token.key
[http]
connection_limit = 4096
[log]
level = warning
CONF
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bench_start
for run in 1 2 3; do
	c0=$(server_cpu)
	out=$("$BUILD/bench/vtn_load" --url "https://127.0.0.1:$p2" --ca "$tmp/pki/ca.pem" \
		--db "$conninfo" --vens "$vens" --seconds 10)
	c1=$(server_cpu)
	echo "$out"
	n=$(echo "$out" | sed -n 's/.* \([0-9]*\) requests in .*/\1/p')
	# the CPU figure covers setup and warm-up too: an upper bound per request
	awk -v t=$((c1 - c0)) -v hz="$hz" -v n="${n:-0}" -v r="$run" \
		'BEGIN { printf "bench: vtn: run %d: server CPU (setup and warm-up included) %.3f ms per measured request\n", r, n ? t * 1000 / hz / n : 0 }'
done
