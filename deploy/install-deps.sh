#!/usr/bin/env bash
#
# deploy/install-deps.sh
#	  Install the Debian 12 packages dermsd needs to build, test and run,
#	  but only the ones that are missing.
#
# NOTES
#	  Idempotent: when everything is present this runs one dpkg-query and
#	  prints nothing.  Installing needs root; we use sudo when we are not
#	  root and sudo exists, otherwise we say what to install and fail.
#	  Never removes or upgrades anything.
#
set -euo pipefail

PACKAGES=(
	gcc make pkg-config
	libmicrohttpd-dev libgnutls28-dev
	libpq-dev postgresql-15 postgresql-client-15
	libssl-dev libxml2-dev libxml2-utils libjansson-dev
	check libsubunit-dev libsystemd-dev coinor-libclp-dev
	libcurl4-openssl-dev curl openssl ca-certificates tzdata
	mosquitto libmosquitto-dev mosquitto-clients
)

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: dpkg-query not found; this script supports Debian 12 only" >&2
	exit 1
fi

# One dpkg-query for all packages.  Unknown packages make dpkg-query exit
# non-zero and print nothing for them, so compare against the full list.
declare -A installed=()
while read -r pkg status; do
	[ "$status" = "install ok installed" ] && installed[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)

missing=()
for p in "${PACKAGES[@]}"; do
	[ -n "${installed[$p]:-}" ] || missing+=("$p")
done
# node and npm run Prism, the OpenADR tests' validating proxy; a node that
# came from elsewhere (with its own npm) is used as it is
if ! command -v node >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing missing packages: ${missing[*]}"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "install-deps: not root and sudo is not available; as root, run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
