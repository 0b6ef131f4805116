# shellcheck shell=bash disable=SC2034,SC2120
# (globals are read by the scripts that source this; arguments are optional)
#
# tests/bench/lib.sh -- sourced by the bench scripts (tests/bench.sh does not
# run it): a private PostgreSQL cluster, dermsd on free loopback ports, and
# the CPU the server used.  Needs ROOT and BUILD.
#
#   bench_init [TAG]        $tmp, a fresh directory (mode 0755, so the
#                           postgres user reaches the cluster in it), and an
#                           EXIT trap that stops dermsd and the cluster and
#                           removes $tmp
#   bench_cluster [default] a cluster in $tmp/pg, PGCLUSTER_FAST=1 unless
#                           "default"; its conninfo in $conninfo
#   bench_ports             free ports $p1 (sep2), $p2 (vtn), $p3 (admin)
#   bench_conf              $tmp/dermsd.conf: [database] and [admin] from the
#                           above, the other sections from stdin; migrated
#   bench_start             dermsd on that file in the background ($pid, log
#                           in $tmp/dermsd.log), waiting up to 10 s for
#                           /readyz
#   server_pids [COMM]      dermsd's children (those named COMM)
#   server_cpu [COMM]       their CPU ticks (utime + stime); $hz per second
#
# NOTES
#	  Functions set globals (tmp, conninfo, p1..p3, pid, hz) on purpose:
#	  the scripts read them.
: "${ROOT:?}" "${BUILD:?}"

pid=
hz=$(getconf CLK_TCK)

bench_cleanup() {
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || true
	fi
	"$ROOT/deploy/pgcluster.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}

bench_init() {
	tmp=$(mktemp -d "/tmp/${1:-dermsd-bench}.XXXXXX")
	chmod 755 "$tmp"
	trap bench_cleanup EXIT
}

bench_cluster() {
	if [ "${1:-fast}" = default ]; then
		"$ROOT/deploy/pgcluster.sh" init "$tmp/pg" >/dev/null
	else
		PGCLUSTER_FAST=1 "$ROOT/deploy/pgcluster.sh" init "$tmp/pg" >/dev/null
	fi
	"$ROOT/deploy/pgcluster.sh" start "$tmp/pg" >/dev/null
	conninfo=$("$ROOT/deploy/pgcluster.sh" conninfo "$tmp/pg")
}

bench_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_ports() {
	p1=$(bench_port)
	p2=$(bench_port)
	p3=$(bench_port)
}

bench_conf() {
	{
		printf '[database]\nconninfo = "%s"\nschema_dir = %s\n' "$conninfo" "$ROOT/schema"
		cat
		printf '[admin]\nport = %s\n' "$p3"
	} > "$tmp/dermsd.conf"
	"$BUILD/dermsctl" -c "$tmp/dermsd.conf" migrate >/dev/null
}

bench_start() {
	"$BUILD/dermsd" -c "$tmp/dermsd.conf" 2>"$tmp/dermsd.log" &
	pid=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$p3/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
}

server_pids() {
	local p
	for p in $(pgrep -P "$pid"); do
		if [ -z "${1:-}" ] || [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ]; then
			echo "$p"
		fi
	done
	return 0
}

server_cpu() {
	local ticks=0 p
	for p in $(server_pids "${1:-}"); do
		ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$ticks"
}
