#!/usr/bin/env bash
# Makes sure wrk exists for the benchmark (`npm run bench` loads its targets with it: a C load
# generator on one thread leaves the servers measured most of a small machine; autocannon, in
# node, took as much CPU as they did). Debian package; idempotent.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  echo "wrk already installed: $(command -v wrk)"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "install-wrk: not root and no sudo; install the wrk package by hand" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
apt_install () { "${SUDO[@]}" apt-get install -y --no-install-recommends wrk; }
# A fresh image often has no package lists yet: update only when the first attempt fails.
if ! apt_install; then
  "${SUDO[@]}" apt-get update
  apt_install
fi

command -v wrk >/dev/null
echo "wrk installed: $(command -v wrk)"
