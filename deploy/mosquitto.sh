#!/usr/bin/env bash
#
# deploy/mosquitto.sh
#	  Manage a private Mosquitto MQTT broker living in one directory, the
#	  broker of the OpenADR MQTT notifier binding, for development
#	  ("make run") and tests.
#
#	  mosquitto.sh init DIR PKI [PORT]  configuration (no-op if present)
#	  mosquitto.sh start DIR            start (no-op if running)
#	  mosquitto.sh stop DIR             stop (no-op if stopped)
#	  mosquitto.sh status DIR           exit 0 running, 3 stopped, 4 none
#	  mosquitto.sh conf DIR             print dermsd.conf's [mqtt] section
#
# NOTES
#	  One TLS listener on 127.0.0.1:PORT (default 8883), no plain port.
#	  Its certificate is the VTN's (PKI/vtn-server.pem and .key, whose
#	  SANs name 127.0.0.1 and localhost); clients must present a
#	  certificate of the same PKI (PKI/trust.pem), and the broker takes its
#	  CN as the MQTT username (use_identity_as_username): the YAML's
#	  CERTIFICATE authentication.  No anonymous access and no passwords.
#	  What each username may read or write is DIR/acl, which
#	  "dermsctl vtn mqtt sync --pki PKI --broker DIR" writes and makes the
#	  broker reread (SIGHUP); until then only the publisher (CN
#	  dermsd-mqtt) may do anything.
#
#	  Layout: DIR/mosquitto.conf, DIR/server.pem, DIR/server.key,
#	  DIR/trust.pem (copies the broker can read), DIR/acl,
#	  DIR/mosquitto.pid, DIR/mosquitto.log, DIR/settings (PKI and PORT).
#	  When we are root Mosquitto drops to the OS user "mosquitto" (from the
#	  Debian package; override: MOSQUITTO_OS_USER), which gets DIR and the
#	  copies (it writes the pid file after dropping privileges); otherwise
#	  it runs as the current user.
#
set -euo pipefail

OS_USER=${MOSQUITTO_OS_USER:-mosquitto}
MOSQUITTO=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
PROG=mosquitto.sh

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

usage()
{
	echo "usage: mosquitto.sh {init DIR PKI [PORT]|start DIR|stop DIR|status DIR|conf DIR}" >&2
	exit 2
}

[ $# -ge 2 ] || usage
CMD=$1
DIR=$2
case "$DIR" in
	/*) ;;
	*) DIR=$(pwd)/$DIR ;;
esac
CONF=$DIR/mosquitto.conf
PIDFILE=$DIR/mosquitto.pid

pid_of()
{
	local pid
	[ -f "$PIDFILE" ] || return 1
	pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

# shellcheck disable=SC1091
load_settings()
{
	[ -f "$DIR/settings" ] || die "no broker in $DIR (run: mosquitto.sh init $DIR PKI)"
	. "$DIR/settings"
}

cmd_init()
{
	local pki=${1:-}
	local port=${2:-8883}
	local f

	[ -n "$pki" ] || usage
	case "$pki" in
		/*) ;;
		*) pki=$(pwd)/$pki ;;
	esac
	[ -x "$MOSQUITTO" ] || die "$MOSQUITTO not found; install mosquitto (deploy/install-deps.sh)"
	if [ -f "$CONF" ]; then
		echo "$PROG: broker at $DIR exists already; nothing to do"
		return 0
	fi
	for f in vtn-server.pem vtn-server.key trust.pem; do
		[ -r "$pki/$f" ] || die "$pki/$f not found (make the PKI with: dermsctl pki init --dir $pki)"
	done
	mkdir -p "$DIR"
	chmod 0755 "$DIR"
	(
		umask 077
		cp "$pki/vtn-server.pem" "$DIR/server.pem"
		cp "$pki/vtn-server.key" "$DIR/server.key"
		cp "$pki/trust.pem" "$DIR/trust.pem"
	)
	chmod 0644 "$DIR/trust.pem" "$DIR/server.pem"
	printf 'user dermsd-mqtt\ntopic write openadr3/#\n' > "$DIR/acl"
	chmod 0644 "$DIR/acl"
	: > "$DIR/mosquitto.log"
	if [ "$EUID" -eq 0 ]; then
		id -u "$OS_USER" >/dev/null 2>&1 ||
			die "OS user \"$OS_USER\" does not exist (it comes with the mosquitto package)"
		# it writes its pid file after dropping privileges
		chown "$OS_USER:" "$DIR" "$DIR/server.key" "$DIR/mosquitto.log"
	fi
	cat > "$CONF" <<CONF
# Written by deploy/mosquitto.sh init.
per_listener_settings false
allow_anonymous false
persistence false
pid_file $PIDFILE
log_dest file $DIR/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
acl_file $DIR/acl
user $OS_USER

listener $port 127.0.0.1
cafile $DIR/trust.pem
certfile $DIR/server.pem
keyfile $DIR/server.key
require_certificate true
use_identity_as_username true
CONF
	printf 'PKI=%q\nPORT=%q\n' "$pki" "$port" > "$DIR/settings"
	echo "$PROG: broker configured in $DIR (127.0.0.1:$port)"
}

cmd_start()
{
	local port
	load_settings
	if pid_of >/dev/null; then
		return 0
	fi
	rm -f "$PIDFILE"
	"$MOSQUITTO" -c "$CONF" -d || die "mosquitto did not start (log: $DIR/mosquitto.log)"
	for _ in $(seq 50); do
		if pid_of >/dev/null && grep -q "Opening ipv4 listen socket on port $PORT" \
			"$DIR/mosquitto.log" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 5 "$DIR/mosquitto.log" >&2 || true
	die "mosquitto did not come up on port $PORT (log: $DIR/mosquitto.log)"
}

cmd_stop()
{
	local pid
	pid=$(pid_of) || return 0
	kill -TERM "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
}

cmd_status()
{
	[ -f "$CONF" ] || exit 4
	pid_of >/dev/null || exit 3
}

cmd_conf()
{
	load_settings
	cat <<CONF
[mqtt]
enabled = true
host = 127.0.0.1
port = $PORT
ca_file = $DIR/trust.pem
cert_file = $PKI/dermsd-mqtt.pem
key_file = $PKI/dermsd-mqtt.key
CONF
}

case "$CMD" in
	init) shift 2; cmd_init "$@" ;;
	start) cmd_start ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	conf) cmd_conf ;;
	*) usage ;;
esac
