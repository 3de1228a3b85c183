#!/usr/bin/env bash
# make demo: capture a small shell pipeline with faasprov run and print its provenance graph.
set -euo pipefail
cd "$(dirname "$0")/.."
store="${FAASPROV_STORE:-$PWD/.faasprov/demo.db}"
mkdir -p "$(dirname "$store")"
echo "== faasprov run -- sh -c 'cat /etc/hostname /etc/os-release > /tmp/faasprov-demo.txt; wc -l /tmp/faasprov-demo.txt'" >&2
./cli/bin/faasprov run --store "$store" -- sh -c 'cat /etc/hostname /etc/os-release > /tmp/faasprov-demo.txt; wc -l /tmp/faasprov-demo.txt'
id="$(./cli/bin/faasprov run --store "$store" -q --format json --out /dev/stdout -- sh -c 'cat /etc/hostname > /tmp/faasprov-demo-2.txt' 2>/dev/null \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const g=JSON.parse(s);const f=g.nodes.find(n=>n.type==="File"&&n.path==="/tmp/faasprov-demo-2.txt");process.stdout.write(f?f.id:"")})')"
if [ -n "$id" ]; then
  echo "== faasprov trace $id --backward   (where did /tmp/faasprov-demo-2.txt come from?)" >&2
  ./cli/bin/faasprov trace "$id" --backward --store "$store"
fi
echo "store: $store (query it with: ./cli/bin/faasprov trace NODE_ID --backward --store $store)" >&2
