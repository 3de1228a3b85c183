#!/bin/sh
# Builds the real of-watchdog and faas-cli into .tools/bin from their unmodified upstream releases
# (../shared/third_party, or $FAASPROV_THIRD_PARTY), offline (-mod=vendor), from a writable copy.
# Idempotent: a binary built from the same release is kept. Prints the bin directory.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
SRC="${FAASPROV_THIRD_PARTY:-}"
if [ -z "$SRC" ]; then
  for d in "$ROOT/../shared/third_party" "$ROOT/../../shared/third_party"; do
    if [ -d "$d/of-watchdog" ]; then SRC="$(cd "$d" && pwd)"; break; fi
  done
fi
need() { # NAME VERSION: 0 when .tools/bin/NAME was built from this release
  [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]
}
build() { # NAME VERSION LDFLAGS (upstream's own version stamps)
  name="$1"; version="$2"; ldflags="$3"
  if need "$name" "$version"; then return 0; fi
  if [ -z "$SRC" ] || [ ! -d "$SRC/$name" ]; then
    echo "ensure-openfaas: no source for $name $version (set FAASPROV_THIRD_PARTY to the folder holding $name/)" >&2
    exit 1
  fi
  command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null 2>&1 || { echo "ensure-openfaas: Go is needed to build $name (its go.mod names the version)" >&2; exit 1; }
  echo "ensure-openfaas: building $name $version from $SRC/$name (go build, offline)" >&2
  tmp="$(mktemp -d)"
  cp -r "$SRC/$name" "$tmp/src"
  mkdir -p "$BIN"
  (cd "$tmp/src" && GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -mod=vendor -ldflags "-s -w $ldflags" -o "$tmp/$name" .) >&2 || { rm -rf "$tmp"; exit 1; }
  mv "$tmp/$name" "$BIN/$name"
  echo "$version" > "$BIN/.$name.version"
  rm -rf "$tmp"
}
build of-watchdog 0.11.6 "-X main.Version=0.11.6 -X main.GitCommit=9bdadb1e8c68ae1016ac1a35906cd2acaa53169a"
build faas-cli 0.18.12 "-X github.com/openfaas/faas-cli/version.Version=0.18.12 -X github.com/openfaas/faas-cli/version.GitCommit=c8191b71e7edf10be3b660ddcaee52c11de79238"
echo "$BIN"
