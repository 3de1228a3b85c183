#!/bin/sh
# Prints the path of a bpftrace >= 0.23: the system's when it is new enough, else the project's
# own in .tools/bpftrace, provisioned here from Debian 13 (trixie) packages. The packages are
# fetched with `apt-get download` under a private apt configuration (own sources list, state and
# cache under .tools/bpftrace-apt) and unpacked, never installed: the system's apt sources and
# libraries are untouched. bin/bpftrace runs the binary through the unpacked loader with the
# unpacked libraries, so it needs nothing newer from the system. Idempotent; safe to run in parallel.
set -eu
MIN_VERSION="0.23.0"
SUITE="${FAASPROV_BPFTRACE_SUITE:-trixie}"
MIRROR="${FAASPROV_BPFTRACE_MIRROR:-http://deb.debian.org/debian}"
KEYRING="${FAASPROV_BPFTRACE_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
DEST="$TOOLS/bpftrace"
WRAPPER="$DEST/bin/bpftrace"

# "bpftrace v0.23.2" -> 0.23.2; nothing when the binary does not run.
version_of() { "$1" --version 2>/dev/null | sed -n 's/^bpftrace v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n1; }
new_enough() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$1" | sort -V | head -n1)" = "$MIN_VERSION" ]; }

usable() {
  [ -x "$WRAPPER" ] && [ -f "$DEST/.complete" ] && new_enough "$(version_of "$WRAPPER")"
}

if usable; then echo "$WRAPPER"; exit 0; fi
if command -v bpftrace >/dev/null 2>&1 && new_enough "$(version_of "$(command -v bpftrace)")"; then
  command -v bpftrace; exit 0
fi

for tool in apt-get apt-cache dpkg-deb flock; do
  command -v "$tool" >/dev/null 2>&1 || { echo "ensure-bpftrace: $tool is needed to fetch Debian's bpftrace packages" >&2; exit 1; }
done
[ -r "$KEYRING" ] || { echo "ensure-bpftrace: $KEYRING is missing (install debian-archive-keyring)" >&2; exit 1; }

mkdir -p "$TOOLS"
exec 9>"$TOOLS/.bpftrace.lock"
flock 9
# Another run may have finished while this one waited for the lock.
if usable; then echo "$WRAPPER"; exit 0; fi

echo "ensure-bpftrace: system bpftrace is missing or older than $MIN_VERSION; fetching Debian $SUITE's packages into $DEST" >&2
APT="$TOOLS/bpftrace-apt"
rm -rf "$APT"
mkdir -p "$APT/etc/sources.list.d" "$APT/etc/preferences.d" "$APT/etc/apt.conf.d" "$APT/etc/trusted.gpg.d" \
  "$APT/state/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
: >"$APT/state/status"
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" >"$APT/etc/sources.list"
# Every path apt reads or writes points into $APT; an empty status file makes apt resolve the
# whole dependency closure, as on an empty system.
cat >"$APT/apt.conf" <<EOF
Dir::Etc "$APT/etc";
Dir::Etc::SourceList "$APT/etc/sources.list";
Dir::Etc::SourceParts "$APT/etc/sources.list.d";
Dir::Etc::Parts "$APT/etc/apt.conf.d";
Dir::Etc::Preferences "$APT/etc/preferences";
Dir::Etc::PreferencesParts "$APT/etc/preferences.d";
Dir::Etc::TrustedParts "$APT/etc/trusted.gpg.d";
Dir::State "$APT/state";
Dir::State::status "$APT/state/status";
Dir::Cache "$APT/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
APT::Sandbox::User "root";
EOF
export APT_CONFIG="$APT/apt.conf"
apt-get -qq update >&2
# bpftrace and what it needs at run time (Depends and Pre-Depends, recursively).
pkgs="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances bpftrace \
  | grep -v '^ ' | grep -v '^<' | sort -u)"
[ -n "$pkgs" ] || { echo "ensure-bpftrace: apt found no bpftrace in $SUITE" >&2; exit 1; }
# shellcheck disable=SC2086
(cd "$APT/debs" && apt-get -qq download $pkgs >&2)

NEW="$TOOLS/bpftrace.new"
rm -rf "$NEW"
mkdir -p "$NEW/bin" "$NEW/loader"
for deb in "$APT"/debs/*.deb; do dpkg-deb -x "$deb" "$NEW/root"; done
rm -rf "$NEW/root/usr/share/doc" "$NEW/root/usr/share/man" "$NEW/root/usr/share/locale"
lib="$NEW/root/usr/lib/x86_64-linux-gnu"
[ -x "$NEW/root/usr/bin/bpftrace" ] && [ -e "$lib/ld-linux-x86-64.so.2" ] || { echo "ensure-bpftrace: the packages hold no bpftrace or no loader" >&2; exit 1; }
# The loader under the name bpftrace: the kernel names a process after the file it executes, so
# ps, /proc/PID/comm and the agent's own exclusion see "bpftrace", not "ld-linux-x86-64".
ln -s ../root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$NEW/loader/bpftrace"
cat >"$NEW/bin/bpftrace" <<'EOF'
#!/bin/sh
# bpftrace from Debian's packages, run through their own loader and libraries (scripts/ensure-bpftrace.sh).
d="$(dirname "$(readlink -f "$0")")/.."
lib="$d/root/usr/lib/x86_64-linux-gnu"
exec "$d/loader/bpftrace" --argv0 bpftrace --library-path "$lib:$d/root/lib/x86_64-linux-gnu" "$d/root/usr/bin/bpftrace" "$@"
EOF
chmod +x "$NEW/bin/bpftrace"
v="$(version_of "$NEW/bin/bpftrace")"
new_enough "$v" || { echo "ensure-bpftrace: the unpacked bpftrace does not run or is older than $MIN_VERSION (${v:-no version})" >&2; exit 1; }
touch "$NEW/.complete"
rm -rf "$DEST"
mv "$NEW" "$DEST"
rm -rf "$APT/debs" "$APT/cache" "$APT/state/lists"
echo "ensure-bpftrace: bpftrace $v in $DEST" >&2
echo "$WRAPPER"
