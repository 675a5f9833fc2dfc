/**
 * The variational bound on Gaussian data N(mu, s^2 I) with the exact denoiser, DDPM's linear schedule,
 * T = 1000 (float64 abar).
 *
 * What is checked, and why: for every x0 the bound's expectation over the forward process is
 * -log p(x0) + KL(q(x_{1:T} | x0) || p(x_{1:T} | x0)) >= -log p(x0). For Gaussian data every term has a
 * closed-form expectation (nll-fixtures.ts `expectedVlbNats`), so the Monte Carlo bound (one x_t draw
 * per timestep and image) must match (closed-form bound) - (analytic NLL) within its standard error.
 * The bound is NOT tight for the exact mean with fixed variances: q(x_{t-1} | x_t) has variance
 * beta_tilde + x0Coef^2 Var(x0 | x_t), which fixed_small underestimates (gap 0.82 bits/dim at
 * s = 0.5) and fixed_large overestimates (gap 0.17 bits/dim). With that true variance (passed through
 * the learned-range head) every reverse kernel is exact and the bound is tight up to the prior
 * mismatch (~3e-6 bits/dim): that is the "close to the true NLL" check. The estimate is noisy (about
 * 2 bits per coordinate from the single x_t draw per timestep, as in improved-diffusion), so each
 * check allows 4 standard errors of the per-image differences: a failure means an error in a term
 * larger than that (e.g. the wrong variance at t = 0 moves the fixed_large bound by 0.16 bits/dim).
 */
import { describe, expect, it } from "vitest";
import { posterior } from "../../src/diffusion/forward.js";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import { standardNormalCdf } from "../../src/eval/nll-gaussian.js";
import { meanCi } from "../../src/eval/nll-summary.js";
import { vlbBitsPerDim } from "../../src/eval/nll-vlb.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import * as F from "./nll-fixtures.js";

const ABAR = alphasCumprod(betasFor({ beta_schedule: "linear", num_train_timesteps: 1000 }), {
  dtype: "float64",
});
const DATA: F.Gaussian = { mu: 0.3, s: 0.5 };
const D = 128;
const N = 32;

const small = (t: number) => posterior(ABAR[Math.max(t, 1)]!, ABAR[Math.max(t, 1) - 1]!).varianceSmall;
const SIGMA2 = {
  fixed_small: small,
  fixed_large: (t: number) => (t === 0 ? small(0) : posterior(ABAR[t]!, ABAR[t - 1]!).varianceLarge),
  learned_range: (t: number) => F.optimalReverseVariance(ABAR, t, DATA),
};

/** Mean and standard error of (bound - analytic NLL) in bits/dim, and the closed-form expected gap. */
async function gap(variance: keyof typeof SIGMA2, seed: number) {
  const x0 = F.gaussianSamples(DATA, N, D, seed);
  const model = F.vlbGaussianModel(ABAR, DATA, variance === "learned_range");
  const r = await vlbBitsPerDim(model, x0, {
    alphasCumprod: ABAR,
    variance,
    decoder: "continuous",
    timestepBatch: 100,
    key: makeKey(seed),
  });
  const nll = F.gaussianNll(x0, DATA.mu, DATA.s ** 2);
  const diff = meanCi(Array.from(r.bpd, (b, i) => b - nll[i]! / (D * Math.LN2)));
  const entropy = 0.5 * Math.log(2 * Math.PI * Math.E * DATA.s ** 2);
  const closed = (F.expectedVlbNats(ABAR, DATA, SIGMA2[variance]) - entropy) / Math.LN2;
  return { mean: diff.mean, se: diff.std / Math.sqrt(N), closed, result: r };
}

describe("the variational bound of Gaussian data under the exact denoiser (T = 1000)", () => {
  it("fixed_small: matches its closed form, a loose bound 0.82 bits/dim above the true NLL", async () => {
    const g = await gap("fixed_small", 1);
    expect(g.closed).toBeGreaterThan(0.8);
    expect(Math.abs(g.mean - g.closed)).toBeLessThan(4 * g.se);
    expect(g.mean - 4 * g.se).toBeGreaterThan(0);
  });

  it("fixed_large: matches its closed form (gap 0.17 bits/dim)", async () => {
    const g = await gap("fixed_large", 2);
    expect(g.closed).toBeGreaterThan(0.15);
    expect(g.closed).toBeLessThan(0.2);
    expect(Math.abs(g.mean - g.closed)).toBeLessThan(4 * g.se);
  });

  it("learned_range at the true reverse variance: tight, equal to the true NLL", async () => {
    const g = await gap("learned_range", 3);
    expect(g.closed).toBeGreaterThanOrEqual(0);
    expect(g.closed).toBeLessThan(1e-4);
    expect(Math.abs(g.mean)).toBeLessThan(4 * g.se);
    expect(g.se).toBeLessThan(0.03);
    // the terms add up: prior + per-timestep means = mean bound
    const r = g.result;
    const sum = r.terms.reduce((a, b) => a + b, 0) + meanCi(r.prior).mean;
    expect(sum).toBeCloseTo(meanCi(r.bpd).mean, 10);
    expect(r.terms[0]).toBeCloseTo(meanCi(r.decoder).mean, 10);
  });

  it("discretized decoder on 8-bit data: within its error of the discrete NLL -log2 P(k) / D", async () => {
    const d: F.Gaussian = { mu: 0.1, s: 0.25 };
    const q = F.quantize8bit(F.gaussianSamples(d, N, D, 4));
    // the quantized data have variance s^2 + w^2 / 12 (w = 2/255): the model's Gaussian
    const model = { mu: d.mu, s: Math.sqrt(d.s ** 2 + (2 / 255) ** 2 / 12) };
    const r = await vlbBitsPerDim(F.vlbGaussianModel(ABAR, model, true), q, {
      alphasCumprod: ABAR,
      variance: "learned_range",
      timestepBatch: 100,
    });
    const diff = meanCi(Array.from(F.discreteNllBits(q, d, standardNormalCdf), (nll, i) => r.bpd[i]! - nll));
    expect(Math.abs(diff.mean)).toBeLessThan((4 * diff.std) / Math.sqrt(N));
    expect(diff.std / Math.sqrt(N)).toBeLessThan(0.04);
  });
});

describe("vlbBitsPerDim mechanics", () => {
  const small = { mu: 0.3, s: 0.5 };
  const abar = alphasCumprod(betasFor({ num_train_timesteps: 20, beta_end: 0.2 }), { dtype: "float64" });
  const x0 = F.quantize8bit(F.gaussianSamples(small, 3, 4, 9));

  it("does not depend on how timesteps are batched, and reports progress up to T", async () => {
    const model = F.vlbGaussianModel(abar, small);
    const seen: number[] = [];
    const one = await vlbBitsPerDim(model, x0, {
      alphasCumprod: abar,
      onProgress: (d, t) => seen.push(d / t),
    });
    const seven = await vlbBitsPerDim(model, x0, { alphasCumprod: abar, timestepBatch: 7 });
    expect(Array.from(seven.bpd)).toEqual(Array.from(one.bpd));
    expect(seen.length).toBe(20);
    expect(seen.at(-1)).toBe(1);
  });

  it("v- and x0-prediction models give the eps model's bound", async () => {
    const eps = F.vlbGaussianModel(abar, small);
    const want = await vlbBitsPerDim(eps, x0, { alphasCumprod: abar });
    const asX0 = (x: T.Tensor, t: T.Tensor) => {
      const a = abar[t.values()[0]!]!; // one timestep per call (timestepBatch 1)
      return T.div(T.sub(x, T.mul(eps(x, t), Math.sqrt(1 - a))), Math.sqrt(a));
    };
    const asV = (x: T.Tensor, t: T.Tensor) => {
      const a = abar[t.values()[0]!]!;
      return T.sub(T.mul(eps(x, t), Math.sqrt(a)), T.mul(asX0(x, t), Math.sqrt(1 - a)));
    };
    for (const [prediction, model] of [
      ["sample", asX0],
      ["v_prediction", asV],
    ] as const) {
      const got = await vlbBitsPerDim(model, x0, { alphasCumprod: abar, prediction });
      got.bpd.forEach((b, i) => {
        expect(b).toBeCloseTo(want.bpd[i]!, 3);
      });
    }
  });

  it("the decoder's tanh CDF changes the bound slightly (its 2e-4 CDF error, on a narrow decoder)", async () => {
    const model = F.vlbGaussianModel(abar, small);
    const exact = await vlbBitsPerDim(model, x0, { alphasCumprod: abar });
    const tanh = await vlbBitsPerDim(model, x0, { alphasCumprod: abar, cdf: "tanh" });
    exact.bpd.forEach((b, i) => {
      expect(Math.abs(b - tanh.bpd[i]!)).toBeGreaterThan(0);
      expect(Math.abs(b - tanh.bpd[i]!)).toBeLessThan(1e-2);
    });
  });

  it("rejects bad input, naming the field", async () => {
    const model = F.vlbGaussianModel(abar, small);
    const run = (o: object, x = x0, m = model) => vlbBitsPerDim(m, x, { alphasCumprod: abar, ...o });
    await expect(run({ alphasCumprod: [0.9, 0.95] })).rejects.toThrow(
      /alphasCumprod\[1\] 0.95 is not in \[0, 0.9\)/,
    );
    await expect(run({ alphasCumprod: [0.5] })).rejects.toThrow(/alphasCumprod.length 1 is not at least 2/);
    await expect(run({ variance: "learned" })).rejects.toThrow(/variance "learned" is not one of/);
    await expect(run({ decoder: "bernoulli" })).rejects.toThrow(/decoder "bernoulli" is not one of/);
    await expect(run({ cdf: "erf" })).rejects.toThrow(/cdf "erf" is not one of exact, tanh/);
    await expect(run({ prediction: "score" })).rejects.toThrow(/prediction "score" is not one of/);
    await expect(run({ timestepBatch: 0 })).rejects.toThrow(/timestepBatch 0 is not an integer >= 1/);
    await expect(run({}, T.tensor([1.5, 0], [1, 2]))).rejects.toThrow(/x0\[0\] 1.5 is not in \[-1, 1\]/);
    await expect(run({}, T.tensor([0.5, 0], [2]))).rejects.toThrow(
      /x0.shape "\[2\]" is not a non-empty batch/,
    );
    await expect(run({ variance: "learned_range" })).rejects.toThrow(
      /model output shape "\[3, 4\]" is not \[3, 8\]/,
    );
    const wrongBatch = (x: T.Tensor) => T.narrow(x, 0, 0, 1);
    await expect(run({}, x0, wrongBatch)).rejects.toThrow(/model output shape\[0\] 1 is not the batch size/);
  });
});
