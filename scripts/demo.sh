#!/usr/bin/env bash
# make demo: the example shop (examples/shop) under faasprov on the embedded store, benign traffic
# and attack (a), then the alert, the attack's story and the dashboard's address with a key.
# Keeps everything up until Ctrl-C; --once exits after printing (DEMO_ARGS=--once, as CI uses it).
# --install only builds the shop and installs its functions' dependencies (make demo's install step).
set -euo pipefail
cd "$(dirname "$0")/.."
once=0
install=0
for a in "$@"; do [ "$a" = --once ] && once=1; [ "$a" = --install ] && install=1; done
say() { printf '[demo] %s\n' "$*" >&2; }
started=$(date +%s)

FP=$PWD/cli/bin/faasprov
SHOP=$PWD/examples/shop
build_shop() { # faas-cli build --shrinkwrap and the functions' dependencies; JSON (CUDA libraries) on stdout
  mkdir -p "$SHOP/template" && cp -r openfaas-templates/template/. "$SHOP/template/"
  "$FP" functions down -f "$SHOP/stack.yaml" --grace 2 >/dev/null 2>&1 || true
  "$FP" functions build -f "$SHOP/stack.yaml" 2> >(sed -u 's/^/[demo]   /' >&2)
}
if [ "$install" = 1 ]; then
  say "installing the shop: faasprov functions build -f examples/shop/stack.yaml (its functions' npm and pip dependencies; minutes the first time)"
  build_shop >/dev/null
  exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "make demo needs root (bpftrace and network namespaces): sudo make demo" >&2; exit 1; fi
work=$PWD/.faasprov/demo
rm -rf "$work" && mkdir -p "$work"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=${FAASPROV_DEMO_PORT:-$(free_port)}
otlp=$(free_port)
metrics=$(free_port)
key=$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
token=$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
printf '[{"name":"demo","role":"investigator","tenants":"*","key":"%s"}]\n' "$key" > "$work/keys.json"
chmod 600 "$work/keys.json"

pids=()
cleanup() {
  trap - EXIT INT TERM
  say "stopping the shop, the agent and the collector"
  "$FP" functions down -f "$SHOP/stack.yaml" --grace 2 >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
# Ctrl-C or a TERM sent to this script alone: exit, and the EXIT trap stops everything.
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # what, seconds, command...
  local what=$1 t=$2; shift 2
  for _ in $(seq 1 $((t * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  say "$what did not come up; logs in $work"; exit 1
}

say "starting the collector (embedded SQLite store $work/store.db, dashboard on port $port)"
"$FP" up --store "$work/store.db" --port "$port" --api-keys "$work/keys.json" --agent-token "demo-node=$token" > "$work/collector.log" 2>&1 &
pids+=($!)
wait_for "the collector" 30 curl -sf "http://127.0.0.1:$port/healthz"

say "building the shop: faasprov functions build -f examples/shop/stack.yaml (its dependencies were installed by make demo)"
build_shop > "$work/build.json"
# photos calls NVIDIA's CUDA runtime from its dependencies: the agent probes it from the start.
gpu_libs=()
while IFS= read -r lib; do [ -n "$lib" ] && gpu_libs+=(--gpu-lib "$lib"); done < <(node -e 'for (const f of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).functions) for (const l of f.gpuLibraries) console.log(l)' "$work/build.json")

say "starting the node agent (bpftrace; the shop's catalog folder is an F3 durable volume; uprobes on photos' CUDA runtime)"
mkdir -p "$SHOP/data/catalog"
"$FP" agent --collector "http://127.0.0.1:$port" --node demo-node --token "$token" --spool "$work/spool" \
  --metrics "127.0.0.1:$metrics" --otlp "127.0.0.1:$otlp" --volume "$SHOP/data/catalog=catalog:durable" "${gpu_libs[@]}" > "$work/agent.log" 2>&1 &
pids+=($!)
wait_for "the agent" 90 sh -c "curl -sf http://127.0.0.1:$metrics/metrics | grep -q 'kind=\"ready\"'"

python3 "$SHOP/seed.py"
say "deploying the shop: faasprov functions up -f examples/shop/stack.yaml --no-build"
"$FP" functions up -f "$SHOP/stack.yaml" --no-build --gateway 127.0.0.1:0 --otlp "127.0.0.1:$otlp" > "$work/functions.out" 2> >(sed -u 's/^/[demo]   /' >&2) &
pids+=($!)
wait_for "the shop" 600 grep -q '^{' "$work/functions.out"

say "driving benign traffic and attack (a): faasprov demo --attack a"
"$FP" demo --attack a -f "$SHOP/stack.yaml" --server "http://127.0.0.1:$port" --key "$key" --truth "$work/truth-a.json" 2> >(sed -u 's/^/[demo] /' >&2)

echo
echo "Dashboard: http://127.0.0.1:$port/  (sign in with the key $key)"
echo "Replay the attack against the running shop: sudo $FP demo --attack a --server http://127.0.0.1:$port --key $key"
echo "Or attack (d), a GPU buffer one invocation left and another read: sudo $FP demo --attack d --server http://127.0.0.1:$port --key $key"
say "the shop, the attack and its story took $(( $(date +%s) - started )) s (after the install step)"
if [ "$once" = 1 ]; then exit 0; fi
say "everything stays up until Ctrl-C"
while true; do sleep 1; done  # short: bash runs a trap only once its foreground child returns
