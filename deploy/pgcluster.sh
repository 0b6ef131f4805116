#!/usr/bin/env bash
#
# deploy/pgcluster.sh
#	  Manage a private PostgreSQL 15 cluster living in one directory, for
#	  development ("make run") and tests ("make test").
#
#	  pgcluster.sh init DIR       initdb + configuration (no-op if present)
#	  pgcluster.sh start DIR      start (no-op if running), create db dermsd
#	  pgcluster.sh stop DIR       fast shutdown (no-op if stopped)
#	  pgcluster.sh restart DIR    stop + start
#	  pgcluster.sh status DIR     exit 0 running, 3 stopped, 4 no cluster
#	  pgcluster.sh conninfo DIR   print the libpq conninfo to connect with
#
# NOTES
#	  Layout: DIR/data (PGDATA), DIR/run (unix socket directory, 0700),
#	  DIR/log/postgresql.log.  No TCP at all (listen_addresses = ''), so
#	  local connections are trusted: the 0700 socket directory is the
#	  access control.  The database superuser is always "postgres" and owns
#	  the database "dermsd"; conninfo prints
#	  "host=DIR/run dbname=dermsd user=postgres" with DIR absolute.
#
#	  PostgreSQL refuses to run as root.  When we are root the directories
#	  are given to the OS user "postgres" (override: PGCLUSTER_OS_USER) and
#	  every server-side program runs through "runuser -u postgres --"; when
#	  we are not root everything runs as the current user.
#
#	  PGCLUSTER_FAST=1 (tests only) makes initdb skip its fsyncs and turns
#	  fsync, synchronous_commit and full_page_writes off: a crash may then
#	  lose or corrupt data, which a throwaway test cluster does not mind.
#	  PG_BINDIR overrides /usr/lib/postgresql/15/bin.
#
set -euo pipefail

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
OS_USER=${PGCLUSTER_OS_USER:-postgres}
DB_SUPERUSER=postgres
DB_NAME=dermsd
PROG=pgcluster

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

say()
{
	echo "$PROG: $*"
}

usage()
{
	echo "usage: pgcluster.sh {init|start|stop|restart|status|conninfo} DIR" >&2
	exit 2
}

# initdb and pg_ctl redirect from /dev/null; on these machines it has been
# seen turning into a regular file, which breaks them in obscure ways.
check_devnull()
{
	[ -c /dev/null ] ||
		die "/dev/null is not a character device (it is a $(stat -c %F /dev/null 2>&1)); PostgreSQL tools need it: as root, run 'rm -f /dev/null && mknod -m 666 /dev/null c 1 3'"
}

check_bins()
{
	local b
	for b in initdb pg_ctl psql; do
		[ -x "$PG_BINDIR/$b" ] ||
			die "$PG_BINDIR/$b not found; install postgresql-15 (deploy/install-deps.sh)"
	done
}

# The path goes into postgresql.conf and into conninfo strings unquoted:
# accept only characters that need no quoting anywhere.  Unix socket paths
# are limited to 107 bytes, and the socket file name adds 16.
check_dir_name()
{
	case "$DIR" in
		*[!A-Za-z0-9/._+-]*)
			die "cluster directory \"$DIR\" contains characters other than A-Z a-z 0-9 / . _ + -"
			;;
	esac
	[ ${#RUN} -le 90 ] ||
		die "socket directory \"$RUN\" is too long for a unix socket path (${#RUN} > 90 bytes)"
}

# Run a command as the cluster's OS user, from a directory that user can
# read (runuser keeps our cwd, which may be root's 0700 home).
as_owner()
{
	if [ "$EUID" -eq 0 ]; then
		(cd / && runuser -u "$OWNER" -- "$@")
	else
		"$@"
	fi
}

# Who runs the server: the owner of DIR/data when it exists.
find_owner()
{
	if [ "$EUID" -ne 0 ]; then
		OWNER=$(id -un)
		return
	fi
	if [ -d "$DATA" ]; then
		OWNER=$(stat -c %U "$DATA")
		[ "$OWNER" != root ] ||
			die "$DATA is owned by root; PostgreSQL cannot run as root"
	else
		OWNER=$OS_USER
	fi
}

initialized()
{
	[ -f "$DATA/PG_VERSION" ]
}

running()
{
	# pg_ctl status: 0 running, 3 not running, 4 no data directory.
	as_owner "$PG_BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# When root, make sure the OS user can reach DIR; name the first parent
# that stops it.
check_traverse()
{
	local p=""
	local part
	local -a parts

	[ "$EUID" -eq 0 ] || return 0
	if as_owner test -w "$DATA" -a -x "$DATA"; then
		return 0
	fi
	IFS=/ read -r -a parts <<<"${DIR#/}"
	for part in "${parts[@]}"; do
		p="$p/$part"
		if ! as_owner test -x "$p"; then
			die "user $OWNER cannot traverse $p (mode $(stat -c %A "$p"), owner $(stat -c %U "$p")); choose a cluster directory under a path $OWNER can reach, e.g. /tmp or /var/lib"
		fi
	done
	die "user $OWNER cannot write $DATA"
}

conf_quote()
{
	printf "'%s'" "$1"
}

cmd_init()
{
	local locale=C
	local created_dir=0
	local -a initdb_opts

	check_devnull
	check_bins
	if initialized; then
		say "cluster at $DIR exists already; nothing to do"
		return 0
	fi
	if [ -e "$DATA" ] && [ -n "$(ls -A "$DATA" 2>&1)" ]; then
		die "$DATA exists, is not empty and holds no cluster; remove it first"
	fi
	if [ "$EUID" -eq 0 ] && ! id -u "$OWNER" >/dev/null 2>&1; then
		die "OS user \"$OWNER\" does not exist (it comes with the postgresql-15 package)"
	fi

	[ -d "$DIR" ] || created_dir=1
	mkdir -p "$DATA" "$RUN" "$LOGDIR"
	chmod 0700 "$DATA" "$RUN"
	chmod 0750 "$LOGDIR"
	if [ "$EUID" -eq 0 ]; then
		chown "$OWNER:" "$DATA" "$RUN" "$LOGDIR"
		[ "$created_dir" -eq 0 ] || chown "$OWNER:" "$DIR"
	fi
	check_traverse

	if locale -a 2>&1 | grep -qix 'c\.utf-\?8'; then
		locale=C.UTF-8
	fi
	initdb_opts=(-D "$DATA" -U "$DB_SUPERUSER" --encoding=UTF8
		--locale="$locale" --auth-local=trust --auth-host=reject)
	[ "${PGCLUSTER_FAST:-0}" != 1 ] || initdb_opts+=(--no-sync)

	if ! as_owner "$PG_BINDIR/initdb" "${initdb_opts[@]}" \
		>"$LOGDIR/initdb.log" 2>&1; then
		cat "$LOGDIR/initdb.log" >&2
		die "initdb failed (log: $LOGDIR/initdb.log)"
	fi

	{
		echo
		echo "# ---- added by deploy/pgcluster.sh ----"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = $(conf_quote "$RUN")"
		echo "unix_socket_permissions = 0700"
		echo "shared_buffers = 16MB"
		echo "max_connections = 100"
		echo "logging_collector = on"
		echo "log_destination = 'stderr'"
		echo "log_directory = $(conf_quote "$LOGDIR")"
		echo "log_filename = 'postgresql.log'"
		echo "log_file_mode = 0640"
		echo "log_rotation_age = 0"
		echo "log_rotation_size = 0"
		echo "log_line_prefix = '%m [%p] %q%u@%d '"
		if [ "${PGCLUSTER_FAST:-0}" = 1 ]; then
			echo "# PGCLUSTER_FAST=1: throwaway test cluster, durability off"
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		else
			echo "fsync = on"
		fi
	} | as_owner tee -a "$DATA/postgresql.conf" >/dev/null

	say "initialized cluster at $DIR"
}

ensure_database()
{
	local ci="host=$RUN dbname=postgres user=$DB_SUPERUSER"
	local out

	out=$(as_owner "$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$ci" \
		-c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" 2>&1) ||
		die "could not query the cluster at $DIR: $out"
	[ "$out" != 1 ] || return 0
	out=$(as_owner "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$ci" \
		-c "CREATE DATABASE $DB_NAME OWNER $DB_SUPERUSER" 2>&1) ||
		case "$out" in
			*"already exists"*) ;;	# a concurrent start won the race
			*) die "could not create database $DB_NAME: $out" ;;
		esac
}

cmd_start()
{
	check_devnull
	check_bins
	initialized || die "no cluster at $DIR; run: pgcluster.sh init $DIR"
	if running; then
		ensure_database
		return 0
	fi
	if ! as_owner "$PG_BINDIR/pg_ctl" start -w -t 60 -D "$DATA" \
		-l "$LOGDIR/postgresql.log" >"$LOGDIR/pg_ctl.log" 2>&1; then
		echo "$PROG: last lines of $LOGDIR/postgresql.log:" >&2
		tail -n 20 "$LOGDIR/postgresql.log" >&2 || true
		die "could not start the cluster at $DIR"
	fi
	ensure_database
}

cmd_stop()
{
	check_devnull
	check_bins
	if ! initialized; then
		say "no cluster at $DIR; nothing to stop"
		return 0
	fi
	running || return 0
	as_owner "$PG_BINDIR/pg_ctl" stop -w -t 60 -m fast -D "$DATA" \
		>"$LOGDIR/pg_ctl.log" 2>&1 ||
		die "could not stop the cluster at $DIR: $(cat "$LOGDIR/pg_ctl.log")"
}

cmd_status()
{
	local rc=0

	check_bins
	if ! initialized; then
		echo "no cluster at $DIR"
		return 4
	fi
	as_owner "$PG_BINDIR/pg_ctl" status -D "$DATA" >/dev/null 2>&1 || rc=$?
	case $rc in
		0) echo "running: $(head -n 1 "$DATA/postmaster.pid" 2>&1 | sed 's/^/pid /')" ;;
		3) echo "stopped" ;;
		*) echo "unknown (pg_ctl status exited $rc)" ;;
	esac
	return $rc
}

cmd_conninfo()
{
	echo "host=$RUN dbname=$DB_NAME user=$DB_SUPERUSER"
}

[ $# -eq 2 ] || usage
CMD=$1
[ -n "$2" ] || usage
DIR=$(realpath -m -- "$2")
DATA=$DIR/data
RUN=$DIR/run
LOGDIR=$DIR/log
check_dir_name
find_owner

case "$CMD" in
	init) cmd_init ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	restart) cmd_stop; cmd_start ;;
	status) cmd_status ;;
	conninfo) cmd_conninfo ;;
	*) usage ;;
esac
