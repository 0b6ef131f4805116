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
tmp=$(mktemp -d /tmp/dermsd-bench.XXXXXX)
chmod 755 "$tmp"
pid=
cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	"$ROOT/deploy/pgcluster.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

PGCLUSTER_FAST=1 "$ROOT/deploy/pgcluster.sh" init "$tmp/pg" >/dev/null
"$ROOT/deploy/pgcluster.sh" start "$tmp/pg" >/dev/null
conninfo=$("$ROOT/deploy/pgcluster.sh" conninfo "$tmp/pg")
"$BUILD/dermsctl" pki init --dir "$tmp/pki" >/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1=$(port); p2=$(port); p3=$(port)
cat > "$tmp/dermsd.conf" <<CONF
[database]
conninfo = "$conninfo"
schema_dir = $ROOT/schema
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
[admin]
port = $p3
[log]
level = warning
CONF
"$BUILD/dermsctl" -c "$tmp/dermsd.conf" migrate >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$BUILD/dermsd" -c "$tmp/dermsd.conf" 2>"$tmp/dermsd.log" &
pid=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$p3/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
server_cpu() {
	local ticks=0 p
	for p in $(pgrep -P "$pid"); do
		ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$ticks"
}
hz=$(getconf CLK_TCK)
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
