#!/usr/bin/env bash
# Sets up the real Synapse 1.67 rig the e2e tests (test/e2e/) run regguard in front of: the
# rig's own setup.sh (../shared/synapse beside this repository; it apt-get installs Synapse's
# Debian packages and npm-installs matrix-js-sdk) into a fixed folder. Idempotent: setup.sh
# copies only what is missing or out of date. Nothing is started here; the tests start it.
#   REGGUARD_SYNAPSE_SRC  the rig's source folder (default: ../shared/synapse beside the repo)
#   REGGUARD_SYNAPSE_DIR  where it is set up (default /opt/regguard-synapse; the tests read it too)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${REGGUARD_SYNAPSE_SRC:-$HERE/../../shared/synapse}
DEST=${REGGUARD_SYNAPSE_DIR:-/opt/regguard-synapse}
if [ ! -f "$SRC/setup.sh" ]; then
  echo "install-synapse: no rig at $SRC (setup.sh missing); set REGGUARD_SYNAPSE_SRC" >&2
  exit 1
fi
started=$(date +%s)
bash "$SRC/setup.sh" "$DEST"
echo "install-synapse: $DEST ready in $(( $(date +%s) - started )) s"
