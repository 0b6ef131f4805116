#!/usr/bin/env bash
#
# tests/prism-install.sh
#	  Install the pinned Prism (@stoplight/prism-cli) into tests/.prism, the
#	  validating proxy the OpenADR tests put in front of the VTN.
#
# NOTES
#	  Idempotent: does nothing when the pinned version is there.  Needs node
#	  and npm (deploy/install-deps.sh installs them when missing) and the npm
#	  registry.  A failed install is not fatal here: the tests that need
#	  Prism then print a visible SKIP naming this script.
#
set -uo pipefail

PRISM_VERSION=5.14.2
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$ROOT/tests/.prism
BIN=$DIR/node_modules/.bin/prism

if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null)" = "$PRISM_VERSION" ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "tests/prism-install.sh: npm not found; OpenADR conformance tests will SKIP" >&2
	exit 0
fi
mkdir -p "$DIR"
echo "tests/prism-install.sh: installing @stoplight/prism-cli@$PRISM_VERSION into tests/.prism" >&2
if ! npm install --no-audit --no-fund --no-save --loglevel=error --prefix "$DIR" \
	"@stoplight/prism-cli@$PRISM_VERSION" >"$DIR/install.log" 2>&1; then
	tail -n 20 "$DIR/install.log" >&2
	echo "tests/prism-install.sh: install failed; OpenADR conformance tests will SKIP" >&2
fi
exit 0
