#!/usr/bin/env bash
# tests/bench/vtn_notify.sh -- webhook fan-out of the OpenADR VTN (run by
# tests/bench.sh).  A private cluster and dermsd on free loopback ports with
# notify.allow_http_loopback and VTN_NOTIFY_WORKERS notify workers (default
# 4), then $BUILD/bench/vtn_notify: VTN_SUBS VEN
# clients (default 1000), each subscribed to EVENT CREATE with a callback
# to one of four receivers on loopback; three events, one per run, each
# timed from its POST /events to every callback received.  Prints each run
# and the medians of the runs' p50, p99 and max (target: p99 < 1 s).
set -euo pipefail
: "${ROOT:?}" "${BUILD:?}"
subs=${VTN_SUBS:-1000}
workers=${VTN_NOTIFY_WORKERS:-4}
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
[notify]
workers = $workers
allow_http_loopback = true
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
out=$("$BUILD/bench/vtn_notify" --url "https://127.0.0.1:$p2" --ca "$tmp/pki/ca.pem" \
	--db "$conninfo" --subs "$subs" --receivers 4 --runs 3) || {
	echo "$out"
	tail -20 "$tmp/dermsd.log" >&2
	psql -qAtX "$conninfo" -c "SELECT 'callbacks', state, count(*) FROM oadr_callbacks GROUP BY state
		UNION ALL SELECT 'outbox ' || kind, state, count(*) FROM notify_outbox GROUP BY kind, state
		UNION ALL SELECT 'held', '', count(*) FROM oadr_held" >&2 || true
	exit 1
}
echo "$out"
echo "$out" | awk -v subs="$subs" -v w="$workers" '
	BEGIN { n = 0 }
	/: run [0-9]+: / {
		for (i = 1; i <= NF; i++) {
			if ($i == "p50") p50[n] = $(i + 1)
			if ($i == "p99") p99[n] = $(i + 1)
			if ($i == "max") mx[n] = $(i + 1)
		}
		n++
	}
	function median(a, n,   i, j, t) {
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
			if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int(n / 2)]
	}
	END {
		if (n == 0) exit 1
		printf "bench: vtn_notify: %d subscribers, %d notify workers, median of %d runs:" \
			" p50 %d ms, p99 %d ms, max %d ms (target p99 < 1000 ms)\n",
			subs, w, n, median(p50, n), median(p99, n), median(mx, n)
	}'
