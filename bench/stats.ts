// Order statistics the benchmarks report, in one place so they all read a distribution the same way.

/**
 * The value at quantile `q` (0-1) of ascending `sorted` by nearest rank: the least value with at least that share of
 * the values at or below it (the median of 1, 2, 3, 4 is 2; p99 of 1..100 is 99); 0 when empty.
 */
export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

/** The middle of `values` (any order), the mean of the two middle ones for an even count. */
export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
