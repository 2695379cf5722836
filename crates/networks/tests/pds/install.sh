#!/usr/bin/env bash
# Installs what the real-PDS tests in crates/networks/tests/it/bluesky.rs need: Node 22 (from the
# npm registry, as the package node-linux-<arch>) and the packages pinned in package-lock.json
# (@atproto/pds, @did-plc/server; and @atproto/dev-env, whose AppView serves the notifications
# that crates/herald/tests/it/bluesky_pds_inbox.rs reads), into $HERALD_PDS_DIR (default: this
# folder, so node_modules lands beside the lock file). Running it again when everything is in
# place does nothing.
#
#   HERALD_PDS_DIR           where to install, an absolute path (node/ and node_modules/ go there);
#                            the tests read the same variable
#   HERALD_PDS_NODE_VERSION  the Node release to install (default below; must be 22.x)
#
# @atproto/pds 0.5 needs Node 22 (undici 8 fails on Node 20). better-sqlite3 is compiled from
# source against that Node's headers, which takes about two minutes on two cores. sharp (an
# AppView dependency) is not built: its prebuilt binary comes from the npm registry as
# @img/sharp-linux-<arch>, and the test resizes no images.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${HERALD_PDS_DIR:-$here}"
node_version="${HERALD_PDS_NODE_VERSION:-22.23.5}"

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install.sh: no Node package for $(uname -m)" >&2; exit 1 ;;
esac

mkdir -p "$dir/node"
dir="$(cd "$dir" && pwd)"
node_home="$dir/node/node_modules/node-linux-$arch"

if ! "$node_home/bin/node" --version 2>/dev/null | grep -q '^v22\.'; then
  echo "install.sh: installing Node $node_version into $dir/node"
  npm install --prefix "$dir/node" --no-audit --no-fund --no-package-lock \
    "node-linux-$arch@$node_version"
fi
export PATH="$node_home/bin:$PATH"
# Native modules (better-sqlite3) build against this Node's headers, not the system's.
export npm_config_nodedir="$node_home"

if [ "$dir" != "$here" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
fi

stamp="$dir/node_modules/.herald-installed"
if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json" \
  && (cd "$dir" && node -e "require('better-sqlite3'); import('@atproto/pds'); import('@atproto/dev-env')" 2>/dev/null); then
  echo "install.sh: the PDS packages are already in $dir/node_modules"
  exit 0
fi

echo "install.sh: installing the PDS packages into $dir/node_modules"
(cd "$dir" && npm ci --no-audit --no-fund)
(cd "$dir" && node -e "new (require('better-sqlite3'))(':memory:').close()")
cp "$dir/package-lock.json" "$stamp"
echo "install.sh: done; node is $node_home/bin/node ($(node --version))"
