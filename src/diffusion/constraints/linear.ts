/**
 * Linear equality constraints A x = b per sample (x the sample flattened to D values, A of m x D,
 * b of m values, the same for all samples or one row per sample). The Euclidean projection onto the
 * affine set {x : A x = b} is the least-squares correction (the minimum-norm solution of
 * A d = b - A x):
 *
 *   Pi(x) = x - A^T (A A^T)^{-1} (A x - b),
 *
 * computed in float64 with a Cholesky factor of A A^T made once. A must have full row rank: a row
 * that is a combination of the earlier ones is reported, as "infeasible" when b disagrees with the
 * same combination (no x satisfies A x = b), else as redundant (drop the row).
 * `fixedSum` / `fixedMean` (sum.ts) are the case A = 1^T.
 */
import * as T from "../../tensor/index.js";
import type { Projection } from "./project.js";
import { rowsOf } from "./project.js";

/** A, m rows of D values (row-major Float64Array or an array of rows). */
export type Matrix = readonly (readonly number[])[] | { rows: number; cols: number; data: ArrayLike<number> };

function toDense(a: Matrix): { m: number; d: number; data: Float64Array } {
  if ("data" in a) {
    if (a.data.length !== a.rows * a.cols) {
      throw new Error(`A: ${a.data.length} values do not fill ${a.rows} x ${a.cols}`);
    }
    return { m: a.rows, d: a.cols, data: Float64Array.from(a.data) };
  }
  const m = a.length;
  const d = a[0]?.length ?? 0;
  const bad = a.findIndex((r) => r.length !== d);
  if (bad >= 0) throw new Error(`A: row ${bad} has ${a[bad]!.length} entries, row 0 has ${d}`);
  return { m, d, data: Float64Array.from(a.flat()) };
}

/**
 * Lower Cholesky factor of the m x m Gram matrix G = A A^T, or the first row whose pivot vanishes
 * (relative to its norm): that row of A depends linearly on the rows before it.
 */
function cholesky(g: Float64Array, m: number): { l: Float64Array } | { dependent: number } {
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = g[i * m + j]!;
      for (let k = 0; k < j; k++) s -= l[i * m + k]! * l[j * m + k]!;
      if (i === j) {
        if (!(s > 1e-10 * Math.max(g[i * m + i]!, Number.MIN_VALUE))) return { dependent: i };
        l[i * m + i] = Math.sqrt(s);
      } else l[i * m + j] = s / l[j * m + j]!;
    }
  }
  return { l };
}

/** Solves L L^T y = r in place. */
function cholSolve(l: Float64Array, m: number, r: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = r[i]!;
    for (let k = 0; k < i; k++) s -= l[i * m + k]! * r[k]!;
    r[i] = s / l[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = r[i]!;
    for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * r[k]!;
    r[i] = s / l[i * m + i]!;
  }
}

/** Coefficients c with row_i = sum_{k<i} c_k row_k (least squares on the earlier rows). */
function combination(a: Float64Array, d: number, i: number): Float64Array {
  const g = new Float64Array(i * i);
  const r = new Float64Array(i);
  for (let p = 0; p < i; p++) {
    for (let q = 0; q < i; q++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[p * d + k]! * a[q * d + k]!;
      g[p * i + q] = s;
    }
    let s = 0;
    for (let k = 0; k < d; k++) s += a[p * d + k]! * a[i * d + k]!;
    r[p] = s;
  }
  const f = cholesky(g, i);
  if ("l" in f) cholSolve(f.l, i, r);
  return r;
}

/**
 * The projection onto {x : A x = b} per sample. `b`: m values for every sample, or N * m (one row per
 * sample, row-major). Throws for a rank-deficient A (naming the dependent row; "infeasible" if b is
 * inconsistent with it) and for a sample of another size than A's columns.
 */
export function linearEquality(aIn: Matrix, b: ArrayLike<number>): Projection {
  const { m, d, data: a } = toDense(aIn);
  if (m === 0) throw new Error("A: no rows (no constraint)");
  if (b.length % m !== 0)
    throw new Error(`b: ${b.length} values, expected ${m} (A has ${m} rows) or N * ${m}`);
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k]! * a[j * d + k]!;
      g[i * m + j] = s;
    }
  }
  const f = cholesky(g, m);
  if ("dependent" in f) {
    const i = f.dependent;
    const c = combination(a, d, i);
    const perSample = b.length / m;
    for (let n = 0; n < perSample; n++) {
      let want = 0;
      for (let k = 0; k < i; k++) want += c[k]! * b[n * m + k]!;
      const got = b[n * m + i]!;
      if (Math.abs(got - want) > 1e-8 * Math.max(1, Math.abs(want))) {
        throw new Error(
          `A x = b is infeasible: row ${i} of A is a combination of rows 0..${i - 1}, which gives b[${i}] = ${want.toPrecision(6)}${perSample > 1 ? ` for sample ${n}` : ""}, but b[${i}] = ${got}`,
        );
      }
    }
    throw new Error(
      `A: rank-deficient (row ${i} is a linear combination of rows 0..${i - 1}); remove the redundant row (b agrees with it)`,
    );
  }
  const l = f.l;
  return (x: T.Tensor) => {
    const { n, d: dx, rows } = rowsOf(x);
    if (dx !== d)
      throw new Error(
        `A x = b: samples have ${dx} values each (shape [${x.shape.join(", ")}]), A has ${d} columns`,
      );
    if (b.length !== m && b.length !== n * m) {
      throw new Error(`b: ${b.length} values for ${n} samples, expected ${m} or ${n * m}`);
    }
    const out = new Float32Array(rows.length);
    const r = new Float64Array(m);
    for (let s = 0; s < n; s++) {
      const off = s * d;
      const boff = b.length === m ? 0 : s * m;
      for (let i = 0; i < m; i++) {
        let v = -b[boff + i]!;
        for (let k = 0; k < d; k++) v += a[i * d + k]! * rows[off + k]!;
        r[i] = v;
      }
      cholSolve(l, m, r);
      for (let k = 0; k < d; k++) {
        let c = 0;
        for (let i = 0; i < m; i++) c += a[i * d + k]! * r[i]!;
        out[off + k] = rows[off + k]! - c;
      }
    }
    return T.tensor(out, [...x.shape]);
  };
}
