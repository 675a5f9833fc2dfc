/**
 * The class posterior from denoising errors (diffusion/class-posterior.ts): a distribution per sample
 * ([N, K], rows summing to 1) that prefers the right class on a case with a known answer (an exact
 * eps-predictor for K point masses), ignores the unknown entries, and the softmax / sampling helpers.
 */
import { describe, expect, it } from "vitest";
import {
  classPosterior,
  maskedDenoisingErrors,
  posteriorFromErrors,
  posteriorTimesteps,
  sampleClasses,
  topClasses,
} from "../../src/diffusion/class-posterior.js";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import * as T from "../../src/tensor/index.js";

const K = 4;
const D = 6;
const T_TRAIN = 100;
const abar = Float64Array.from(
  { length: T_TRAIN },
  (_, t) => Math.cos(((t + 1) / T_TRAIN) * Math.PI * 0.49) ** 2,
);
// Class k's data is the point mass at template c_k; the templates differ in the first 3 entries
// (the "known" ones) and, independently, in the last 3.
const template = (k: number) =>
  Float32Array.from({ length: D }, (_, i) => (i < 3 ? Math.sin(k * 1.7 + i) : Math.cos(k * 2.3 + i)) * 0.8);

/** The exact eps-predictor of class y's point mass: eps = (x_t - alpha c_y) / sigma. */
const exactModel = async (x: T.Tensor, t: number, y: T.Tensor) => {
  const a = Math.sqrt(abar[t]!);
  const s = Math.sqrt(1 - abar[t]!);
  const xs = x.values();
  const ys = y.values();
  const out = new Float32Array(xs.length);
  for (let r = 0; r < ys.length; r++) {
    const c = template(ys[r]!);
    for (let i = 0; i < D; i++) out[r * D + i] = (xs[r * D + i]! - a * c[i]!) / s;
  }
  return T.tensor(out, [...x.shape]);
};

const options = (seed: number) => ({
  numClasses: K,
  timesteps: posteriorTimesteps(T_TRAIN, 5),
  alphasCumprod: abar,
  predictionType: "epsilon" as const,
  noise: gaussianNoise(seed),
  draws: 2,
});

describe("classPosterior", () => {
  it("returns [N, K] rows that sum to 1 and prefers the class whose template the known part is", async () => {
    const truth = [2, 0, 3];
    const x0 = new Float32Array(truth.length * D);
    // The known entries (0..2) from the true template; the unknown ones (3..5) from another class.
    for (const [n, k] of truth.entries()) {
      const own = template(k);
      const other = template((k + 1) % K);
      for (let i = 0; i < D; i++) x0[n * D + i] = i < 3 ? own[i]! : other[i]!;
    }
    const mask = T.tensor(
      Float32Array.from({ length: truth.length * D }, (_, i) => (i % D < 3 ? 1 : 0)),
      [truth.length, D],
    );
    const p = await classPosterior(exactModel, T.tensor(x0, [truth.length, D]), mask, options(1));
    expect(p.probs.length).toBe(truth.length * K);
    expect(p.errors.length).toBe(truth.length * K);
    for (let n = 0; n < truth.length; n++) {
      const row = Array.from(p.probs.subarray(n * K, (n + 1) * K));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
      expect(p.argmax[n]).toBe(truth[n]);
      expect(row[truth[n]!]!).toBeGreaterThan(0.5);
      // The exact model of the true class has no error on the known entries.
      expect(p.errors[n * K + truth[n]!]!).toBeLessThan(1e-6);
    }
  });

  it("counts only the known entries: with none known, no evidence (zero errors, uniform)", async () => {
    // The classes explain this x0 very differently on every entry, but none is known.
    const x0 = T.tensor(template(1), [1, D]);
    const p = await classPosterior(exactModel, x0, T.zeros([1, D]), options(2));
    for (let k = 0; k < K; k++) {
      expect(p.errors[k]).toBe(0);
      expect(p.probs[k]).toBeCloseTo(1 / K, 12);
    }
  });

  it("checks its inputs", async () => {
    const x0 = T.tensor(template(0), [1, D]);
    const mask = T.ones([1, D]);
    await expect(
      classPosterior(exactModel, x0, mask, { ...options(3), timesteps: [T_TRAIN] }),
    ).rejects.toThrow(/class posterior timestep 100 is not an integer in \[0, 100\)/);
    await expect(classPosterior(exactModel, x0, T.ones([2, D]), options(3))).rejects.toThrow(
      /class posterior mask shape/,
    );
  });
});

describe("maskedDenoisingErrors", () => {
  it("scores each row with its own class; rows sharing noise give the class posterior's errors", async () => {
    // Two versions of each of 2 samples (rows r and r + 2 share noise), each with its own class.
    const x = [template(1), template(3), template(1), template(3)];
    const x0 = T.tensor(Float32Array.from(x.flatMap((v) => Array.from(v))), [4, D]);
    const mask = T.tensor(
      Float32Array.from({ length: 4 * D }, (_, i) => (i % D < 3 ? 1 : 0)),
      [4, D],
    );
    const labels = Int32Array.from([1, 3, 2, 0]);
    const { numClasses: _k, ...o } = options(5);
    const e = await maskedDenoisingErrors(exactModel, x0, mask, labels, { ...o, noiseRows: 2 });
    expect(e[0]).toBeLessThan(1e-6); // its own template, exactly explained
    expect(e[1]).toBeLessThan(1e-6);
    expect(e[2]).toBeGreaterThan(0.1);
    expect(e[3]).toBeGreaterThan(0.1);
    // classPosterior is this estimate over every class on shared noise: the same numbers.
    const p = await classPosterior(exactModel, T.narrow(x0, 0, 0, 2), T.narrow(mask, 0, 0, 2), options(5));
    expect(e[2]).toBe(p.errors[0 * K + 2]);
    expect(e[3]).toBe(p.errors[1 * K + 0]);
    await expect(maskedDenoisingErrors(exactModel, x0, mask, labels, { ...o, noiseRows: 3 })).rejects.toThrow(
      /noiseRows 3 is not a divisor of the rows of x0 \(4\)/,
    );
    await expect(maskedDenoisingErrors(exactModel, x0, mask, labels.subarray(0, 3), o)).rejects.toThrow(
      /labels 3 is not one per row of x0 \(4\)/,
    );
  });
});

describe("posteriorFromErrors and sampleClasses", () => {
  it("topClasses: the C most probable classes per row, best first, ties to the lower class", () => {
    const probs = [0.1, 0.5, 0.1, 0.3, 0.25, 0.25, 0.4, 0.1];
    expect(topClasses(probs, 4, 2).map((r) => Array.from(r))).toEqual([
      [1, 2],
      [3, 0],
    ]);
    expect(() => topClasses(probs, 4, 5)).toThrow(/class candidates 5 is not an integer in \[1, 4\]/);
  });
  it("softmax of -errors / tau, stable for large errors; argmax = least error", () => {
    const { probs, argmax } = posteriorFromErrors([1000, 1001, 1003, 5, 5, 5], 3, 1);
    expect(probs[0]).toBeCloseTo(1 / (1 + Math.exp(-1) + Math.exp(-3)), 12);
    expect(probs[3]).toBeCloseTo(1 / 3, 12);
    expect(Array.from(argmax)).toEqual([0, 0]);
    const soft = posteriorFromErrors([0, 1], 2, 100).probs;
    expect(soft[0]! - soft[1]!).toBeLessThan(0.01);
    expect(() => posteriorFromErrors([0, 1], 2, 0)).toThrow(/temperature 0/);
  });
  it("draws each class with its probability", () => {
    const probs = [0.2, 0.5, 0.3];
    expect(Array.from(sampleClasses(probs, 3, [0.1]))).toEqual([0]);
    expect(Array.from(sampleClasses(probs, 3, [0.69]))).toEqual([1]);
    expect(Array.from(sampleClasses(probs, 3, [0.71]))).toEqual([2]);
    expect(Array.from(sampleClasses(probs, 3, [0.999999]))).toEqual([2]);
  });
  it("spreads the timesteps over the schedule", () => {
    expect(posteriorTimesteps(1000, 5)).toEqual([100, 250, 400, 550, 700]);
    expect(posteriorTimesteps(1000, 3, 0, 1)).toEqual([0, 500, 999]);
    expect(posteriorTimesteps(1000, 1)).toEqual([400]);
  });
});
