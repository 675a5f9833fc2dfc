/**
 * Mean of per-image likelihood numbers with a normal-approximation 95% confidence interval,
 * mean +- 1.96 s / sqrt(n) (s the sample standard deviation, n - 1 in the denominator). Browser-safe.
 */
import { invalid } from "../diffusion/check.js";

export interface MeanCi {
  mean: number;
  /** Sample standard deviation (NaN for n = 1). */
  std: number;
  n: number;
  /** 1.96 std / sqrt(n): the interval is [mean - halfWidth, mean + halfWidth] (NaN for n = 1). */
  halfWidth: number;
  lo: number;
  hi: number;
}

/** z_{0.975} of the standard normal. */
export const Z95 = 1.959963984540054;

/** Mean, standard deviation and 95% confidence interval of `values` (at least one finite number each). */
export function meanCi(values: ArrayLike<number>, field = "values"): MeanCi {
  const n = values.length;
  if (n < 1) invalid(`${field}.length`, n, "at least 1");
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) invalid(`${field}[${i}]`, v, "a finite number");
    sum += v;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i]! - mean) ** 2;
  const std = n > 1 ? Math.sqrt(sq / (n - 1)) : Number.NaN;
  const halfWidth = (Z95 * std) / Math.sqrt(n);
  return { mean, std, n, halfWidth, lo: mean - halfWidth, hi: mean + halfWidth };
}
