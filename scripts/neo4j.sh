#!/usr/bin/env bash
# Starts, stops or checks a real Neo4j 5.26 LTS Community (Bolt on loopback) built from Maven
# Central jars: scripts/neo4j.sh start|stop|status [PORT]. Idempotent; jars and the compiled
# launcher are cached in .tools/neo4j. Environment: NEO4J_PASSWORD (default faasprov-dev-password),
# NEO4J_HOME_DIR (default .tools/neo4j/data-PORT), NEO4J_JAVA_OPTS (extra JVM options, e.g. a GC log).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:-start}"
port="${2:-${NEO4J_PORT:-7687}}"
tools="$root/.tools/neo4j"
lib="$tools/lib"
classes="$tools/classes"
home="${NEO4J_HOME_DIR:-$tools/data-$port}"
pidfile="$tools/neo4j-$port.pid"
password="${NEO4J_PASSWORD:-faasprov-dev-password}"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# Alive and not a zombie: a killed JVM stays a zombie until init reaps it (seconds on some
# machines), and kill -0 succeeds on a zombie.
running() {
  [ -f "$pidfile" ] || return 1
  local stat
  stat="$(cat "/proc/$(cat "$pidfile")/stat" 2>/dev/null)" || return 1
  stat="${stat#*) }"
  [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

prepare() {
  command -v mvn >/dev/null || { echo "neo4j.sh: Maven (mvn) is needed to fetch Neo4j from Maven Central" >&2; exit 1; }
  if [ ! -f "$lib/.complete" ]; then
    echo "neo4j.sh: fetching Neo4j 5.26 from Maven Central into $lib" >&2
    mvn -q -f "$root/scripts/neo4j/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" >&2
    touch "$lib/.complete"
  fi
  if [ ! -f "$classes/FaasprovNeo4j.class" ] || [ "$root/scripts/neo4j/FaasprovNeo4j.java" -nt "$classes/FaasprovNeo4j.class" ]; then
    mkdir -p "$classes"
    javac -d "$classes" -cp "$lib/*" "$root/scripts/neo4j/FaasprovNeo4j.java"
  fi
}

case "$cmd" in
  start)
    if running; then echo "bolt://127.0.0.1:$port"; exit 0; fi
    prepare
    mkdir -p "$home"
    log="$tools/neo4j-$port.log"
    # The JVM options of Neo4j's own neo4j.conf that bear on latency: a fixed heap (a growing and
    # shrinking one triggered GC cycles during traces), G1, and the opens that let the page cache
    # and Bolt use direct buffers (without them the page cache runs in a slower fallback mode).
    # A 20 ms pause goal keeps G1's young generation small enough that one collection does not
    # stall a trace for 80 ms (G1's default goal, 200 ms, let it grow to 600 MB).
    jvm=(-Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+UnlockExperimentalVMOptions -XX:+TrustFinalNonStaticFields -XX:+DisableExplicitGC
      -Dio.netty.tryReflectionSetAccessible=true --add-opens=java.base/java.nio=ALL-UNNAMED
      --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED)
    # shellcheck disable=SC2086 # NEO4J_JAVA_OPTS is a list of options
    nohup "$java_bin" "${jvm[@]}" ${NEO4J_JAVA_OPTS:-} -cp "$classes:$lib/*" FaasprovNeo4j "$home" "$port" "$password" >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 240); do
      if grep -q '^READY' "$log" 2>/dev/null; then echo "bolt://127.0.0.1:$port"; exit 0; fi
      if ! running; then echo "neo4j.sh: Neo4j exited; see $log" >&2; tail -20 "$log" >&2; exit 1; fi
      sleep 0.5
    done
    echo "neo4j.sh: Neo4j did not start within 120 s; see $log" >&2
    exit 1
    ;;
  stop)
    if running; then
      kill "$(cat "$pidfile")"
      for _ in $(seq 1 60); do running || break; sleep 0.5; done
      running && kill -9 "$(cat "$pidfile")"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if running; then echo "running bolt://127.0.0.1:$port (pid $(cat "$pidfile"))"; else echo "stopped"; exit 3; fi
    ;;
  *)
    echo "usage: scripts/neo4j.sh start|stop|status [PORT]" >&2
    exit 2
    ;;
esac
