#!/usr/bin/env bash
# Makes sure an nginx binary exists for the nginx tests and the benchmark (Debian package).
# Idempotent: does nothing when nginx is already installed. The tests start their own nginx
# instances on loopback with generated configs, so the system service is never left running: it
# would hold port 80 and serve the distribution's default site, which nobody here wants.
set -euo pipefail

have_nginx () {
  # /usr/sbin is not on every user's PATH, but that is where Debian puts the binary
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
}

if have_nginx; then
  echo "nginx already installed: $( (command -v nginx || echo /usr/sbin/nginx) | head -n 1)"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "install-nginx: not root and no sudo; install nginx-light (or nginx) by hand" >&2
    exit 1
  fi
fi

# Keep the package's maintainer scripts from starting the service at all (policy-rc.d exit 101
# = "action forbidden"); only a file we created is removed again.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  created_policy=1
fi
cleanup () { if [ "$created_policy" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt_install () {
  "${SUDO[@]}" apt-get install -y --no-install-recommends nginx-light \
    || "${SUDO[@]}" apt-get install -y --no-install-recommends nginx
}
# A fresh image often has no package lists yet: update only when the first attempt fails.
if ! apt_install; then
  "${SUDO[@]}" apt-get update
  apt_install
fi

# Belt and braces for systems where the service was started anyway (no policy-rc.d honoured).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
else
  "${SUDO[@]}" update-rc.d nginx disable >/dev/null 2>&1 || true
  if [ -s /run/nginx.pid ]; then
    "${SUDO[@]}" /usr/sbin/nginx -s quit >/dev/null 2>&1 || true
  fi
fi

have_nginx
echo "nginx installed: $(/usr/sbin/nginx -v 2>&1)"
