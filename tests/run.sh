#!/usr/bin/env bash
#
# tests/run.sh
#	  Run the Check suites against a private, throwaway PostgreSQL cluster.
#
#	  tests/run.sh BUILD_DIR [SUITE...]      ("make test" runs it)
#
# NOTES
#	  Makes a temporary root under /tmp (mode 0755, so the postgres user can
#	  reach the cluster inside it when we are root), starts a cluster there
#	  with deploy/pgcluster.sh (PGCLUSTER_FAST=1: no fsync), then runs
#	  BUILD_DIR/check_dermsd from the repository root with:
#	    DERMS_TEST_TMP    the temporary root (tests make directories in it)
#	    DERMS_TEST_PG     libpq conninfo of the cluster's "dermsd" database
#	    DERMS_TEST_PGCTL  the cluster directory (pgcluster.sh restart DIR)
#	    DERMS_BUILD       BUILD_DIR, absolute
#	    DERMS_SPEC_DIR    ../shared/spec from the repository root, absolute,
#	                      unless already set
#	    DERMS_PRISM       tests/.prism's prism, when installed and not set
#	  The cluster is stopped and the temporary root removed on every exit,
#	  silently, so Check's summary line stays the last thing printed.  The
#	  exit status is check_dermsd's.  A cluster that cannot be created is a
#	  failure, not a skip.
#
set -uo pipefail

PROG=tests/run.sh

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: tests/run.sh BUILD_DIR [SUITE...]"
BUILD_ARG=$1
shift

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) ||
	die "cannot find the repository root"
cd "$ROOT" || die "cannot cd to $ROOT"

[ -d "$BUILD_ARG" ] || die "build directory \"$BUILD_ARG\" does not exist (run make first)"
BUILD=$(cd "$BUILD_ARG" && pwd)
[ -x "$BUILD/check_dermsd" ] ||
	die "$BUILD/check_dermsd is missing (run: make tests-build)"

# initdb, pg_ctl and our own redirections need a real /dev/null.
if [ ! -c /dev/null ]; then
	die "/dev/null is not a character device ($(stat -c %F /dev/null 2>&1)); PostgreSQL cannot start. As root: rm -f /dev/null && mknod -m 666 /dev/null c 1 3"
fi

TEST_TMP=$(mktemp -d /tmp/dermsd-test.XXXXXX) ||
	die "could not create a temporary directory under /tmp"
chmod 0755 "$TEST_TMP"
PGDIR=$TEST_TMP/pg

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup()
{
	if [ -f "$PGDIR/data/postmaster.pid" ]; then
		"$ROOT/deploy/pgcluster.sh" stop "$PGDIR" >/dev/null 2>&1 || true
	fi
	rm -rf "$TEST_TMP" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DERMS_TEST_TMP=$TEST_TMP

started=$(date +%s%N)
if ! out=$(PGCLUSTER_FAST=1 "$ROOT/deploy/pgcluster.sh" init "$PGDIR" 2>&1); then
	echo "$out" >&2
	die "could not create the test PostgreSQL cluster in $PGDIR (see above)"
fi
if ! out=$("$ROOT/deploy/pgcluster.sh" start "$PGDIR" 2>&1); then
	echo "$out" >&2
	die "could not start the test PostgreSQL cluster in $PGDIR (see above)"
fi
elapsed_ms=$((($(date +%s%N) - started) / 1000000))

DERMS_TEST_PG=$("$ROOT/deploy/pgcluster.sh" conninfo "$PGDIR") ||
	die "could not get the conninfo of $PGDIR"
export DERMS_TEST_PG
export DERMS_TEST_PGCTL=$PGDIR
export DERMS_BUILD=$BUILD
if [ -z "${DERMS_SPEC_DIR:-}" ]; then
	DERMS_SPEC_DIR=$(realpath -m "$ROOT/../shared/spec")
fi
export DERMS_SPEC_DIR
# Prism, when tests/prism-install.sh could install it
if [ -z "${DERMS_PRISM:-}" ] && [ -x "$ROOT/tests/.prism/node_modules/.bin/prism" ]; then
	export DERMS_PRISM=$ROOT/tests/.prism/node_modules/.bin/prism
fi

echo "$PROG: PostgreSQL test cluster ready in ${elapsed_ms} ms: $DERMS_TEST_PG"

"$BUILD/check_dermsd" "$@"
rc=$?
exit $rc
