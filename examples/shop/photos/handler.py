"""photos: a product photo's thumbnail, with a GPU step.

The resize runs on the CPU (the shop ships no compiled device code); the GPU step stages the
thumbnail in a device buffer and copies it back, as a pipeline that finishes images on the device
would, through NVIDIA's CUDA runtime (libcudart from the nvidia-cuda-runtime-cu12 wheel in
requirements.txt) called with ctypes. On a machine without a
GPU every CUDA call fails (cudaErrorInsufficientDriver, cudaErrorNoDevice); the calls are made
anyway, their return codes are in the response, and faasprov sees them all the same (uprobes on
libcudart see a call and its arguments whether or not a device answers).

It has a deliberate flaw, the one attack (d) uses: the instance keeps one device staging buffer
across invocations (allocated once, never cleared or freed), and the thumbnail is copied back
with the size the request asks for (`result_bytes`), not the size uploaded. A request with no
photo and a large `result_bytes` reads what an earlier invocation left on the device.
"""
import base64
import ctypes
import json
import os
import threading

import nvidia.cuda_runtime

CUDART = ctypes.CDLL(os.path.join(list(nvidia.cuda_runtime.__path__)[0], 'lib', 'libcudart.so.12'))
CUDART.cudaGetErrorName.restype = ctypes.c_char_p
H2D, D2H = 1, 2
STAGING_BYTES = 1 << 20

# The flaw: one staging buffer per instance, shared by every invocation it serves.
_staging = ctypes.c_void_p()
_allocated = False
_lock = threading.Lock()


def _rc(name, rc, codes):
    codes[name] = rc if rc == 0 else '%d %s' % (rc, CUDART.cudaGetErrorName(rc).decode())
    return rc


def gpu_stage(thumb, result_bytes):
    """Uploads the thumbnail into the staging buffer and copies result_bytes back; returns (bytes, codes)."""
    global _allocated
    codes = {}
    with _lock:
        if not _allocated:
            _rc('cudaMalloc', CUDART.cudaMalloc(ctypes.byref(_staging), ctypes.c_size_t(STAGING_BYTES)), codes)
            _allocated = True  # kept even when it failed: the step is best effort, the CPU does the work
        if thumb:
            host = ctypes.create_string_buffer(thumb, len(thumb))
            _rc('cudaMemcpy H2D', CUDART.cudaMemcpy(_staging, host, ctypes.c_size_t(len(thumb)), H2D), codes)
        out = ctypes.create_string_buffer(min(result_bytes, STAGING_BYTES))
        rc = _rc('cudaMemcpy D2H', CUDART.cudaMemcpy(out, _staging, ctypes.c_size_t(len(out)), D2H), codes)
    return (out.raw if rc == 0 else None), codes


def thumbnail(photo, size):
    """The CPU's resize: every k-th byte, at most size bytes."""
    if not photo:
        return b''
    step = max(1, len(photo) // max(1, size))
    return photo[::step][:size]


def handle(event, context):
    req = json.loads(event.body or b'{}')
    photo = base64.b64decode(req.get('photo', ''))
    size = int(req.get('size', 64))
    thumb = thumbnail(photo, size)
    from_device, codes = gpu_stage(thumb, int(req.get('result_bytes', len(thumb))))
    if from_device is not None:
        thumb = from_device
    body = {
        'product': req.get('product'), 'thumbnail': base64.b64encode(thumb).decode(), 'device': from_device is not None,
        # What the GPU step did, for the shop's operators (and attack (d)'s ground truth).
        'gpu': codes, 'staging': {'ptr': '0x%x' % (_staging.value or 0), 'size': STAGING_BYTES, 'pid': os.getpid()},
    }
    return {'statusCode': 200, 'body': json.dumps(body), 'headers': {'content-type': 'application/json'}}
