/**
 * Kernel event times (bpf_ktime_get_ns) and process.hrtime are both CLOCK_MONOTONIC: this offset
 * turns either into Unix epoch nanoseconds.
 */
export function clockOffsetNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}
