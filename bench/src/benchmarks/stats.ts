/** The p-th percentile (0–100) of xs, nearest rank below: the same rule for every benchmark. */
export const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
