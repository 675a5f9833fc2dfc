/**
 * Metrics from the feature net's class logits (float64): the accuracy of class-conditional samples
 * against the labels they were asked for, and an Inception-score analogue (Salimans et al. 2016):
 *
 *   IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x)
 *
 * computed, as in the paper's code, over `splits` disjoint chunks: mean and standard deviation of the
 * per-chunk scores. With K classes, 1 <= IS <= K; K means confident predictions spread evenly over
 * the classes. Browser-safe.
 */
import type { Matrix } from "./matrix.js";

/** Row-wise softmax of logits [N, K] (stable: shifted by each row's max). */
export function softmaxRows(logits: Matrix): Matrix {
  const { rows, cols } = logits;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = logits.data.subarray(i * cols, (i + 1) * cols);
    const m = Math.max(...row);
    let z = 0;
    for (let j = 0; j < cols; j++) z += out[i * cols + j] = Math.exp(row[j]! - m);
    for (let j = 0; j < cols; j++) out[i * cols + j]! /= z;
  }
  return { data: out, rows, cols };
}

/** Index of the largest logit of each row. */
export function argmaxRows(logits: Matrix): Int32Array {
  const out = new Int32Array(logits.rows);
  for (let i = 0; i < logits.rows; i++) {
    let best = 0;
    for (let j = 1; j < logits.cols; j++) {
      if (logits.data[i * logits.cols + j]! > logits.data[i * logits.cols + best]!) best = j;
    }
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: Matrix, labels: ArrayLike<number>): number {
  if (labels.length !== logits.rows) {
    throw new Error(`labels: got ${labels.length}, expected one per sample (${logits.rows})`);
  }
  const pred = argmaxRows(logits);
  let right = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) right++;
  return right / pred.length;
}

/** Per-class accuracy (NaN for a class with no samples) and the overall accuracy. */
export function classAccuracy(
  logits: Matrix,
  labels: ArrayLike<number>,
): { overall: number; perClass: number[] } {
  const overall = accuracy(logits, labels);
  const pred = argmaxRows(logits);
  const right = new Array<number>(logits.cols).fill(0);
  const total = new Array<number>(logits.cols).fill(0);
  for (let i = 0; i < pred.length; i++) {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < logits.cols)) {
      throw new Error(`labels: label ${y} at ${i} is not a class in [0, ${logits.cols})`);
    }
    total[y]!++;
    if (pred[i] === y) right[y]!++;
  }
  return { overall, perClass: total.map((t, y) => (t ? right[y]! / t : Number.NaN)) };
}

/** exp(mean KL(p(y|x) || p(y))) over rows [start, end) of class probabilities. */
function chunkScore(probs: Matrix, start: number, end: number): number {
  const k = probs.cols;
  const marginal = new Float64Array(k);
  for (let i = start; i < end; i++) for (let j = 0; j < k; j++) marginal[j]! += probs.data[i * k + j]!;
  for (let j = 0; j < k; j++) marginal[j]! /= end - start;
  let kl = 0;
  for (let i = start; i < end; i++) {
    for (let j = 0; j < k; j++) {
      const p = probs.data[i * k + j]!;
      if (p > 0) kl += p * (Math.log(p) - Math.log(marginal[j]!));
    }
  }
  return Math.exp(kl / (end - start));
}

export interface ScoreWithSpread {
  mean: number;
  /** Standard deviation over the splits (0 with one split). */
  std: number;
  splits: number;
}

/** The Inception-score analogue of logits [N, K] over `splits` equal chunks (default 10, at most N). */
export function inceptionScore(logits: Matrix, splits = 10): ScoreWithSpread {
  if (!Number.isInteger(splits) || splits < 1) {
    throw new Error(`splits: expected a positive integer, got ${splits}`);
  }
  if (logits.rows === 0) throw new Error("inception score: no samples");
  const s = Math.min(splits, logits.rows);
  const probs = softmaxRows(logits);
  const scores = Array.from({ length: s }, (_, i) =>
    chunkScore(probs, Math.floor((i * probs.rows) / s), Math.floor(((i + 1) * probs.rows) / s)),
  );
  const mean = scores.reduce((a, b) => a + b, 0) / s;
  const variance = scores.reduce((a, b) => a + (b - mean) ** 2, 0) / s;
  return { mean, std: Math.sqrt(variance), splits: s };
}
