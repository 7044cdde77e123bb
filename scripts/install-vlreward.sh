#!/usr/bin/env bash
# Puts the `vlreward` command on PATH: a small launcher, DIR/vlreward (default
# /usr/local/bin, on root's PATH in every Debian shell), that runs this checkout's
# built CLI (packages/cli/dist/main.js) with the node found on PATH. A launcher rather
# than `pnpm link --global` (needs PNPM_HOME on PATH, i.e. a shell rc edit) or
# `npm link` (runs npm install inside a pnpm workspace package). scripts/setup.sh
# calls it; run it again after moving the checkout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/usr/local/bin}
main="$repo/packages/cli/dist/main.js"
if ! mkdir -p "$dir" 2>/dev/null || [ ! -w "$dir" ]; then
  echo "install-vlreward: cannot write $dir; run as root, or pass a directory on your PATH: bash scripts/install-vlreward.sh ~/.local/bin" >&2
  exit 1
fi
tmp=$(mktemp "$dir/.vlreward.XXXXXX")
cat >"$tmp" <<LAUNCHER
#!/bin/sh
# vlreward launcher for the checkout $repo (written by scripts/install-vlreward.sh).
main='$main'
if [ ! -f "\$main" ]; then
  echo "vlreward: \$main is missing: build the checkout (bash scripts/setup.sh, or pnpm build in $repo)" >&2
  exit 127
fi
exec node "\$main" "\$@"
LAUNCHER
chmod 755 "$tmp"
mv -f "$tmp" "$dir/vlreward"
echo "vlreward → $dir/vlreward (runs $main)"
