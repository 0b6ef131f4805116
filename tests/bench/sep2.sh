#!/usr/bin/env bash
# tests/bench/sep2.sh -- load on the IEEE 2030.5 listener (run by tests/bench.sh).
# A private cluster and dermsd on free loopback ports, then $BUILD/bench/sep2_load
# in "new" (handshake per request) and "keep" (connection reuse) modes, each
# three times; the median of the three runs' medians is what to quote.
set -euo pipefail
: "${ROOT:?}" "${BUILD:?}"
. "$ROOT/tests/bench/lib.sh"
bench_init
bench_cluster
"$BUILD/dermsctl" pki init --dir "$tmp/pki" >/dev/null
bench_ports
bench_conf <<CONF
[sep2]
port = $p1
workers = 2
cert_file = pki/sep2-server.pem
key_file = pki/sep2-server.key
ca_file = pki/trust.pem
[vtn]
port = $p2
cert_file = pki/vtn-server.pem
key_file = pki/vtn-server.key
[log]
level = warning
CONF
"$BUILD/dermsctl" -c "$tmp/dermsd.conf" cert register "$tmp/pki/device-demo.pem" --role device >/dev/null
bench_start
url="https://127.0.0.1:$p1/dcap"
args=("$tmp/pki/device-demo.pem" "$tmp/pki/device-demo.key" "$tmp/pki/ca.pem")
# server_cpu (lib.sh) separates the server's cost per request from the
# clients' on this shared machine.
load() {
	local n=$1 mode=$2 c0 c1
	c0=$(server_cpu)
	"$BUILD/bench/sep2_load" "$url" "${args[@]}" "$n" 4 "$mode"
	c1=$(server_cpu)
	awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$n" -v m="$mode" \
		'BEGIN { printf "bench: sep2: mode=%s server CPU %.3f ms per request\n", m, t * 1000 / hz / n }'
}
# Handshakes alone with openssl s_time: full ECDHE-ECDSA handshakes against
# session-ticket resumption (curl offers no tickets, so it cannot show this).
handshakes() {
	local mode=$1 c0 c1 n
	c0=$(server_cpu)
	n=$(openssl s_time -connect "127.0.0.1:$p1" -tls1_2 -cipher ECDHE-ECDSA-AES128-CCM8 \
		-cert "${args[0]}" -key "${args[1]}" -CAfile "${args[2]}" "-$mode" -time 4 2>/dev/null |
		awk '/connections in [0-9]+ real seconds/ {print $1}')
	c1=$(server_cpu)
	awk -v n="${n:-0}" -v t=$((c1 - c0)) -v hz="$hz" -v m="$mode" \
		'BEGIN { printf "bench: sep2: handshakes mode=%s: %.0f connections/s, server CPU %.3f ms per connection\n",
		         m, n / 4, (n ? t * 1000 / hz / n : 0) }'
}
for run in 1 2 3; do
	load 2000 new
	load 20000 keep
	handshakes new
	handshakes reuse
done
