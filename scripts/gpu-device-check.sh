#!/usr/bin/env bash
# The GPU check of issue #7, for a machine with an NVIDIA GPU and driver (not a CI dependency):
# runs a real CUDA kernel (test/fixtures/cuda_kernel.py, driver API) under `faasprov run` with the
# driver library probed, then checks the same nodes and edges the CPU-only tests check:
# a GpuBuffer with its size and rc 0, the host→device copy as a write by invocation 1, the launch
# as a GpuKernel with rc 0, the device→host copy as a read by invocation 2.
# Needs: a built tree (make build), bpftrace, root. Writes the graph to ${OUT:-/tmp}/gpu-graph.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp}"
libcuda="${LIBCUDA:-$(ldconfig -p | awk '/libcuda\.so\.1 /{print $NF; exit}')}"
[ -n "$libcuda" ] || { echo "no libcuda.so.1 (NVIDIA driver) here" >&2; exit 2; }
nvidia-smi -L || true
store="$(mktemp -d)/gpu.db"
./cli/bin/faasprov run --store "$store" --format json --out "$out/gpu-graph.json" --gpu-lib "$libcuda" \
  -- python3 test/fixtures/cuda_kernel.py "$libcuda"
python3 - "$out/gpu-graph.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
nodes = {n['id']: n for n in g['nodes']}
units = {n['callId']: n for n in g['nodes'] if n['type'] == 'Unit'}
bufs = [n for n in g['nodes'] if n['type'] == 'GpuBuffer' and n.get('api') == 'cuMemAlloc_v2']
kernels = [n for n in g['nodes'] if n['type'] == 'GpuKernel']
assert len(bufs) == 1 and bufs[0]['size'] == 1024 and bufs[0]['rc'] == 0, bufs
b = bufs[0]['id']
e = lambda t, f, to: [x for x in g['edges'] if x['type'] == t and x['from'] == f and x['to'] == to]
assert e('WAS_GENERATED_BY', b, units['gpu-real-1']['id']), 'host-to-device copy not a write by invocation 1'
assert e('USED', units['gpu-real-2']['id'], b), 'device-to-host copy not a read by invocation 2'
assert kernels and kernels[0]['rc'] == 0 and kernels[0]['api'] == 'cuLaunchKernel', kernels
assert e('USED', kernels[0]['id'], b), 'the kernel does not use the live buffer'
print('gpu device check: ok (%d nodes, %d edges)' % (len(g['nodes']), len(g['edges'])))
PY
