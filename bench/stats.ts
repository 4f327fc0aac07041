// Percentiles and small numeric helpers for the benchmarks. No dependencies, so the load-client
// child process can import it under plain `node` (type stripping).

/** Summary of a latency sample, in milliseconds. Percentiles are nearest-rank; null when empty. */
export interface LatencySummary {
  readonly n: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

/** Nearest-rank percentile of an ascending-sorted array (`q` in 0..100). */
export const percentileSorted = (sorted: readonly number[], q: number): number | null => {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? null;
};

/** Nearest-rank percentile of an unsorted sample. */
export const percentile = (values: readonly number[], q: number): number | null => percentileSorted([...values].sort((a, b) => a - b), q);

/** Rounds to `digits` decimals (null stays null). */
export const round = (value: number | null | undefined, digits = 1): number | null => {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** n, p50, p90, p99, max and mean of a sample, rounded to 0.1 ms. */
export const summarize = (values: readonly number[]): LatencySummary => {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((sum, value) => sum + value, 0) / sorted.length : null;
  return {
    n: sorted.length,
    p50: round(percentileSorted(sorted, 50)),
    p90: round(percentileSorted(sorted, 90)),
    p99: round(percentileSorted(sorted, 99)),
    max: round(sorted.at(-1) ?? null),
    mean: round(mean),
  };
};

/** Median of a sample (null when empty). */
export const median = (values: readonly number[]): number | null => percentile(values, 50);

/** Counts occurrences of each key. */
export const countBy = (keys: Iterable<string>): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
};

/** `after - before` for every key of two counter snapshots (keys missing before count from 0). */
export const diffCounts = (before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> => {
  const delta: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d !== 0) delta[key] = d;
  }
  return delta;
};

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
