/** Per-column standardization of [N, D] data (zero mean, unit standard deviation) and its inverse. */
import type { Normalization } from "./types.js";

/** The identity normalization for `dim` columns. */
export function identityNormalization(dim: number): Normalization {
  return { mean: new Array<number>(dim).fill(0), std: new Array<number>(dim).fill(1) };
}

/**
 * Standardizes `data` ([N, D]) in place per column with float64 statistics (population std).
 * A constant column gets std 1 so it maps to zeros instead of NaN. Returns the statistics used.
 */
export function standardize(data: Float32Array, dim: number): Normalization {
  const n = data.length / dim;
  const mean = new Array<number>(dim).fill(0);
  const std = new Array<number>(dim).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += data[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j] = n > 0 ? mean[j]! / n : 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) std[j]! += (data[i * dim + j]! - mean[j]!) ** 2;
  for (let j = 0; j < dim; j++) {
    const s = n > 0 ? Math.sqrt(std[j]! / n) : 0;
    std[j] = s > 0 ? s : 1;
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) data[i * dim + j] = (data[i * dim + j]! - mean[j]!) / std[j]!;
  }
  return { mean, std };
}

/** Maps normalized [N, D] values back to original units: value * std + mean (new array). */
export function unnormalize(data: Float32Array, norm: Normalization): Float32Array {
  const dim = norm.mean.length;
  if (norm.std.length !== dim || data.length % dim !== 0) {
    throw new Error(
      `normalization: expected mean and std of equal length dividing data.length ${data.length}, got ${dim} and ${norm.std.length}`,
    );
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * norm.std[i % dim]! + norm.mean[i % dim]!;
  return out;
}
