/** Random test data for the metrics: orthogonal matrices, covariances with a given spectrum, Gaussian samples. */
import type { Square } from "../../src/eval/linalg.js";
import { type Matrix, matrix } from "../../src/eval/matrix.js";
import { makeKey, normal } from "../../src/random/index.js";

/** A random orthogonal matrix: Gram-Schmidt on Gaussian columns. */
export function randomOrthogonal(n: number, seed: number): Square {
  const g = normal(makeKey(seed), n * n);
  const q = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const v = Float64Array.from({ length: n }, (_, r) => g[r * n + c]!);
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < n; r++) dot += v[r]! * q[r * n + p]!;
      for (let r = 0; r < n; r++) v[r]! -= dot * q[r * n + p]!;
    }
    const norm = Math.hypot(...v);
    for (let r = 0; r < n; r++) q[r * n + c] = v[r]! / norm;
  }
  return { data: q, n };
}

/** Q diag(d) Q^T. */
export function withSpectrum(q: Square, d: number[]): Square {
  const n = q.n;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q.data[i * n + k]! * d[k]! * q.data[j * n + k]!;
      out[i * n + j] = s;
    }
  return { data: out, n };
}

/** n draws of N(mean, L L^T): rows z L^T + mean with z standard normal. */
export function gaussianSample(n: number, mean: number[], l: Square, seed: number): Matrix {
  const d = mean.length;
  const z = normal(makeKey(seed), n * d);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      let s = mean[a]!;
      for (let b = 0; b < d; b++) s += l.data[a * d + b]! * z[i * d + b]!;
      out[i * d + a] = s;
    }
  return matrix(out, n, d);
}

/** The d x d identity as a Square (the factor L of N(mean, I)). */
export function identityL(d: number): Square {
  const data = new Float64Array(d * d);
  for (let i = 0; i < d; i++) data[i * d + i] = 1;
  return { data, n: d };
}
