#!/usr/bin/env bash
# The differential tests' oracles, from Debian's packages: python3-phonenumbers (how Synapse and
# identity servers read phone numbers) and python3-twisted (how Synapse reads arguments). The
# tests run them with /usr/bin/python3, Debian's own interpreter. Idempotent.
set -euo pipefail
if /usr/bin/python3 -c 'import phonenumbers, twisted.web.http' 2>/dev/null; then
  echo "oracles present: $(/usr/bin/python3 -c 'import phonenumbers, twisted; print("phonenumbers", phonenumbers.__version__, "twisted", twisted.__version__)')"
  exit 0
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -n); fi
export DEBIAN_FRONTEND=noninteractive
pkgs=(python3 python3-phonenumbers python3-twisted)
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"; then
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"
fi
/usr/bin/python3 -c 'import phonenumbers, twisted; print("oracles installed: phonenumbers", phonenumbers.__version__, "twisted", twisted.__version__)'
