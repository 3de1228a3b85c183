#!/usr/bin/env bash
# CI as a new machine runs it: a fresh clone of this repository (HEAD, or the commit given as $1)
# in a temporary folder, `bash .ci/run` (make test) there with every package cache pointed at an
# empty temporary folder (Go modules and builds, npm, pip, Maven's local repository). Prints the
# elapsed time and exits with CI's status. The folder is removed after a pass and kept after a
# failure (FRESH_KEEP=1 keeps it always). Run as root, on a quiet machine: it runs every test.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
REV="$(git -C "$SRC" rev-parse --verify "${1:-HEAD}^{commit}")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/faasprov-fresh.XXXXXX")"

# of-watchdog and faas-cli are built from the releases beside the checkout (scripts/ensure-openfaas.sh);
# a clone in a temporary folder has nothing beside it, so point it at the same ones.
if [ -z "${FAASPROV_THIRD_PARTY:-}" ]; then
  for d in "$SRC/../shared/third_party" "$SRC/../../shared/third_party"; do
    if [ -d "$d/of-watchdog" ]; then FAASPROV_THIRD_PARTY="$(cd "$d" && pwd)"; break; fi
  done
fi
[ -n "${FAASPROV_THIRD_PARTY:-}" ] && export FAASPROV_THIRD_PARTY

git clone --quiet "$SRC" "$WORK/faasprov"
git -C "$WORK/faasprov" checkout --quiet --detach "$REV"

CACHE="$WORK/cache"
mkdir -p "$CACHE/go-mod" "$CACHE/go-build" "$CACHE/npm" "$CACHE/pip" "$CACHE/m2"
export GOMODCACHE="$CACHE/go-mod" GOCACHE="$CACHE/go-build" npm_config_cache="$CACHE/npm" PIP_CACHE_DIR="$CACHE/pip"
export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }-Dmaven.repo.local=$CACHE/m2"

echo "fresh-check: $(git -C "$WORK/faasprov" log -1 --format='%h %s' | cut -c1-100)"
echo "fresh-check: clone $WORK/faasprov, empty caches under $CACHE (GOMODCACHE GOCACHE npm_config_cache PIP_CACHE_DIR maven.repo.local)"
start=$(date +%s)
set +e
(cd "$WORK/faasprov" && bash .ci/run)
status=$?
set -e
elapsed=$(($(date +%s) - start))
echo "fresh-check: bash .ci/run exited $status after $((elapsed / 60))m$((elapsed % 60))s"
if [ "$status" -eq 0 ] && [ "${FRESH_KEEP:-0}" != 1 ]; then
  rm -rf "$WORK"
else
  echo "fresh-check: kept $WORK"
fi
exit "$status"
