/**
 * A fixed sum (or mean) per sample, e.g. the total ink of an image or a budget over table columns:
 * the projection onto {x : sum_k x_k = s} adds the same correction (s - sum x) / D to every entry
 * (the case A = 1^T of linear.ts, in closed form).
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import type { Projection } from "./project.js";
import { rowsOf } from "./project.js";

/** sum of each sample = `s` (a number, or one per sample). */
export function fixedSum(s: number | ArrayLike<number>): Projection {
  const target = typeof s === "number" ? [s] : s;
  for (let i = 0; i < target.length; i++) {
    if (!Number.isFinite(target[i])) invalid(`sum[${i}]`, target[i], "a finite number");
  }
  return (x) => {
    const { n, d, rows } = rowsOf(x);
    if (target.length !== 1 && target.length !== n) {
      throw new Error(`fixed sum: ${target.length} targets for ${n} samples (give 1 or ${n})`);
    }
    const out = new Float32Array(rows.length);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < d; k++) sum += rows[i * d + k]!;
      const c = ((target.length === 1 ? target[0]! : target[i]!) - sum) / d;
      for (let k = 0; k < d; k++) out[i * d + k] = rows[i * d + k]! + c;
    }
    return T.tensor(out, [...x.shape]);
  };
}

/** mean of each sample = `m` (a number, or one per sample); the sum scaled by the sample size. */
export function fixedMean(m: number | ArrayLike<number>): Projection {
  return (x) => {
    const d = x.size / (x.shape[0] ?? 1);
    const sums = typeof m === "number" ? m * d : Array.from(m, (v) => v * d);
    return fixedSum(sums)(x);
  };
}
