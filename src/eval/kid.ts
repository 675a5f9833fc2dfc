/**
 * Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs", section 4): the squared
 * maximum mean discrepancy between two feature sets under the cubic polynomial kernel
 *
 *   k(x, y) = (x . y / d + 1)^3,
 *
 * with the unbiased estimator (Gretton et al. 2012, eq. 3) on subsets of m points from each set:
 *
 *   MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
 *             - 2/m^2 sum_{i, j} k(x_i, y_j).
 *
 * It is averaged over `subsets` random subsets (torch-fidelity's defaults: 100 subsets of 1000),
 * reported as mean, standard deviation over the subsets (what torch-fidelity and clean-fid report as
 * "kid_std") and a standard error of the mean. The subsets overlap, so std / sqrt(subsets) would
 * overstate the precision (the data sets themselves are one draw): the standard error here is
 * std / sqrt(k) with k = the number of DISJOINT subsets the pools hold, floor(min(pool sizes) / m)
 * (at least 1, at most `subsets`), an upper bound (the overlapping average varies less than the
 * disjoint one). Unlike FID, the estimate is unbiased: its expectation over equal distributions is 0
 * (and it can be negative).
 *
 * The kernel matrices over a pool of at most `maxPool` points per set are computed once (float64) and
 * the subsets index into them; when a set is larger, its pool is a random subset of it. Each subset is
 * then still a uniformly random subset of the whole set, so the estimator stays unbiased. Browser-safe.
 */
import { foldIn, type Key, makeKey, permutation } from "../random/index.js";
import { expectRows, expectSameCols, type Matrix, rowDot, selectRows } from "./matrix.js";

export interface KidOptions {
  /** Number of subsets (default 100). */
  subsets?: number;
  /** Points per subset from each set (default 1000; at most the smaller set). */
  subsetSize?: number;
  /** Largest number of points per set whose kernel matrix is kept (default max(2000, subsetSize)). */
  maxPool?: number;
  /** Seed of the subset draws (default 0). */
  seed?: number;
}

export interface KidResult {
  mean: number;
  std: number;
  stderr: number;
  subsets: number;
  subsetSize: number;
  /** Disjoint subsets the pools hold: the count behind `stderr`. */
  independentSubsets: number;
}

/** The cubic polynomial kernel matrix k(a_i, b_j) [a.rows, b.rows] (symmetric fill when a === b). */
export function polynomialKernel(a: Matrix, b: Matrix): Float64Array {
  const d = a.cols;
  const out = new Float64Array(a.rows * b.rows);
  const same = a === b;
  for (let i = 0; i < a.rows; i++) {
    for (let j = same ? i : 0; j < b.rows; j++) {
      const k = (rowDot(a, i, b, j) / d + 1) ** 3;
      out[i * b.rows + j] = k;
      if (same) out[j * b.rows + i] = k;
    }
  }
  return out;
}

/** sum over i, j in idx (i != j if `offDiagonal`) of K[idx_i][jdx_j], K with `cols` columns. */
function blockSum(k: Float64Array, cols: number, idx: Int32Array, jdx: Int32Array, offDiagonal: boolean) {
  let s = 0;
  for (let a = 0; a < idx.length; a++) {
    const row = idx[a]! * cols;
    for (let b = 0; b < jdx.length; b++) s += k[row + jdx[b]!]!;
    if (offDiagonal) s -= k[row + idx[a]!]!;
  }
  return s;
}

function checkPositiveInt(field: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`kid: ${field} is ${v}, expected a positive integer`);
}

/** A random pool of at most `cap` rows of `x` (all of them, in order, when it is small enough). */
function pool(x: Matrix, cap: number, seed: number): Matrix {
  if (x.rows <= cap) return x;
  return selectRows(x, permutation(makeKey(seed), x.rows).subarray(0, cap));
}

/** The first `m` entries of a random permutation of 0..n-1, sorted (for cache-friendly row access). */
function subset(key: Key, n: number, m: number): Int32Array {
  return permutation(key, n).subarray(0, m).sort();
}

/** KID between feature sets x [n1, d] (e.g. samples) and y [n2, d] (e.g. real data). */
export function kid(x: Matrix, y: Matrix, options: KidOptions = {}): KidResult {
  expectSameCols(x, y, "kid");
  expectRows(x, 2, "kid: first set");
  expectRows(y, 2, "kid: second set");
  const subsets = options.subsets ?? 100;
  const seed = options.seed ?? 0;
  checkPositiveInt("subsets", subsets);
  checkPositiveInt("subsetSize", options.subsetSize ?? 1000);
  const m = Math.min(options.subsetSize ?? 1000, x.rows, y.rows);
  if (m < 2) throw new Error(`kid: subsetSize is ${m}, expected at least 2`);
  const cap = Math.max(options.maxPool ?? 2000, m);
  const px = pool(x, cap, seed * 2 + 1);
  const py = pool(y, cap, seed * 2 + 2);
  const kxx = polynomialKernel(px, px);
  const kyy = polynomialKernel(py, py);
  const kxy = polynomialKernel(px, py);
  const values: number[] = [];
  const key = makeKey(seed);
  for (let s = 0; s < subsets; s++) {
    const ix = subset(foldIn(key, 2 * s), px.rows, m);
    const iy = subset(foldIn(key, 2 * s + 1), py.rows, m);
    const xx = blockSum(kxx, px.rows, ix, ix, true);
    const yy = blockSum(kyy, py.rows, iy, iy, true);
    const xy = blockSum(kxy, py.rows, ix, iy, false);
    values.push((xx + yy) / (m * (m - 1)) - (2 * xy) / (m * m));
  }
  const mean = values.reduce((a, b) => a + b, 0) / subsets;
  const std = subsets > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (subsets - 1)) : 0;
  const independentSubsets = Math.max(1, Math.min(subsets, Math.floor(Math.min(px.rows, py.rows) / m)));
  return {
    mean,
    std,
    stderr: std / Math.sqrt(independentSubsets),
    subsets,
    subsetSize: m,
    independentSubsets,
  };
}
