/**
 * Exact k-nearest-neighbour distances by brute force in float64 (squared Euclidean distances computed
 * from differences, so identical points are at exactly 0). Used by the k-NN manifold metrics and the
 * memorisation check. Browser-safe.
 */
import { type Matrix, rowSqDist } from "./matrix.js";

/** Inserts `v` into the ascending list `top` (length k) if it is smaller than its last entry. */
function insert(top: Float64Array, idx: Int32Array | null, v: number, j: number): void {
  let p = top.length - 1;
  if (!(v < top[p]!)) return;
  while (p > 0 && top[p - 1]! > v) {
    top[p] = top[p - 1]!;
    if (idx) idx[p] = idx[p - 1]!;
    p--;
  }
  top[p] = v;
  if (idx) idx[p] = j;
}

/**
 * For each row of `x`, the squared distance to its k-th nearest OTHER row of `x` (the radius of the
 * k-NN ball of Kynkaanniemi et al. 2019; rows equal to it count as neighbours at distance 0).
 * Each pair is computed once.
 */
export function kthNeighbourSqRadii(x: Matrix, k: number): Float64Array {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k: expected a positive integer, got ${k}`);
  if (x.rows <= k) throw new Error(`k-NN radii: ${x.rows} points, expected more than k = ${k}`);
  const tops = Array.from({ length: x.rows }, () => new Float64Array(k).fill(Number.POSITIVE_INFINITY));
  for (let i = 0; i < x.rows; i++) {
    for (let j = i + 1; j < x.rows; j++) {
      const d = rowSqDist(x, i, x, j);
      insert(tops[i]!, null, d, j);
      insert(tops[j]!, null, d, i);
    }
  }
  return Float64Array.from(tops, (t) => t[k - 1]!);
}

/** The two nearest rows of `refs` for each row of `queries`: squared distances and indices. */
export interface NearestTwo {
  /** [q, 2] row-major: nearest, second nearest. */
  sqDist: Float64Array;
  index: Int32Array;
}

export function nearestTwo(queries: Matrix, refs: Matrix): NearestTwo {
  if (refs.rows < 2)
    throw new Error(`nearest neighbours: ${refs.rows} reference points, expected at least 2`);
  const sqDist = new Float64Array(queries.rows * 2).fill(Number.POSITIVE_INFINITY);
  const index = new Int32Array(queries.rows * 2).fill(-1);
  for (let i = 0; i < queries.rows; i++) {
    const top = sqDist.subarray(2 * i, 2 * i + 2);
    const idx = index.subarray(2 * i, 2 * i + 2);
    for (let j = 0; j < refs.rows; j++) insert(top, idx, rowSqDist(queries, i, refs, j), j);
  }
  return { sqDist, index };
}
