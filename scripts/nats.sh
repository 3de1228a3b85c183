#!/usr/bin/env bash
# Starts, stops or checks a NATS server with JetStream (Debian's nats-server) on loopback:
# scripts/nats.sh start|stop|status [PORT]. File storage in .tools/nats/PORT; idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:-start}"
port="${2:-${NATS_PORT:-4222}}"
dir="$root/.tools/nats/$port"
pidfile="$dir/nats.pid"

# Alive and nats-server: a killed server stays a zombie until init reaps it (seconds on some
# machines), and kill -0 succeeds on a zombie, so "start" right after a kill -9 would start nothing.
running() {
  [ -f "$pidfile" ] || return 1
  local pid stat
  pid="$(cat "$pidfile")"
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat#*) }"
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nats-server ]
}

case "$cmd" in
  start)
    if running; then echo "nats://127.0.0.1:$port"; exit 0; fi
    if ! command -v nats-server >/dev/null; then
      echo "nats.sh: installing nats-server (Debian package)" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
    fi
    mkdir -p "$dir/store"
    rm -f "$pidfile"
    nohup nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir/store" -P "$pidfile" >"$dir/nats.log" 2>&1 &
    server=$!
    # JetStream recovers its store before it is ready: allow for that on a loaded machine.
    for _ in $(seq 1 300); do
      if grep -q 'Server is ready' "$dir/nats.log" 2>/dev/null; then echo "nats://127.0.0.1:$port"; exit 0; fi
      kill -0 "$server" 2>/dev/null || break
      sleep 0.1
    done
    echo "nats.sh: nats-server did not start; see $dir/nats.log" >&2
    tail -20 "$dir/nats.log" >&2
    exit 1
    ;;
  stop)
    if running; then
      kill "$(cat "$pidfile")"
      for _ in $(seq 1 50); do running || break; sleep 0.1; done
      running && kill -9 "$(cat "$pidfile")"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if running; then echo "running nats://127.0.0.1:$port (pid $(cat "$pidfile"))"; else echo "stopped"; exit 3; fi
    ;;
  *)
    echo "usage: scripts/nats.sh start|stop|status [PORT]" >&2
    exit 2
    ;;
esac
