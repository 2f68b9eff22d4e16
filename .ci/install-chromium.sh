#!/usr/bin/env bash
# Makes sure Debian's chromium exists for the console's browser test (test/console), which
# drives it headless through playwright-core. Idempotent: does nothing when it is installed.
# Debian's package, not a browser downloaded by playwright: it comes from the same apt sources
# as everything else here and needs no network at test time.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "install-chromium: not root and no sudo; install the chromium package by hand" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_install () {
  # fonts-liberation: text in the screenshots renders with a real font, not boxes
  "${SUDO[@]}" apt-get install -y --no-install-recommends chromium fonts-liberation
}
# A fresh image often has no package lists yet: update only when the first attempt fails.
if ! apt_install; then
  "${SUDO[@]}" apt-get update
  apt_install
fi

test -x /usr/bin/chromium
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"
