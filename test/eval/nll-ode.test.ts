/**
 * NLL from the probability-flow ODE on Gaussian data with the exact denoiser, where the density of
 * x_t is known at every t: x_t ~ N(sqrt(a) mu, R diag(a s_i^2 + 1 - a) R^T), a = abar(t).
 *
 * Tolerances. The ODE result is log p_1(x(1)) taken as the prior N(0, I) plus the integrated
 * divergence. (1) With the exact divergence the integral is deterministic: it must equal the analytic
 * change log q_eps(x) - log q_1(x(1)) up to the solver's global error, which RK45's error control keeps
 * near rtol x |log-density| per image: with rtol = atol = 1e-6 (11 steps here) it measured 9e-6 nats
 * (3e-5 at 1e-5), so 5e-4 is allowed.
 * The total also carries the prior mismatch q_1 != N(0, I) (abar(1) = 4e-5: up to ~0.01 nats per
 * image through the mean sqrt(abar(1)) mu), hence 0.05 nats there. (2) Hutchinson's estimate
 * v^T M v of tr M, M = int df/dx dt = R diag(C_i) R^T with C_i = 1/2 log(v_i(1) / v_i(eps)), has
 * variance 2 ||M||_F^2 (Gaussian v) or 2 sum_{i != j} M_ij^2 (Rademacher v): the mean error over n
 * images must lie within 4 of these standard errors, and the spread must match the prediction.
 * (3) The 8-bit check compares with the exact discrete NLL of quantized data; its noise (dequantization
 * and data) is ~4e-4 bits/dim, ten times smaller than the log2(128) - log2(127.5) = 0.0057 bits/dim
 * that a wrong level convention would add.
 */
import { describe, expect, it } from "vitest";
import { linearVpSde } from "../../src/diffusion/samplers/vp-sde.js";
import { standardNormalCdf } from "../../src/eval/nll-gaussian.js";
import { dequantize, eagerVjpField, hutchinsonProbe, LEVEL_SPACING, odeNll } from "../../src/eval/nll-ode.js";
import { meanCi } from "../../src/eval/nll-summary.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { optimal } from "../diffusion/gaussian.js";
import * as F from "./nll-fixtures.js";

const SDE = linearVpSde();
const T_END = 1e-5;
const A0 = SDE.alphaBar(T_END);
const A1 = SDE.alphaBar(1);
const D = 6;
const G: F.CorrelatedGaussian = { mu: 0.3, s: [0.3, 0.5, 0.8, 1.2, 1.5, 0.6], R: F.rotation(D) };
const FIELD = eagerVjpField(
  F.correlatedEps(G, (t) => SDE.alphaBar(t)),
  SDE,
);
const continuous = { sde: SDE, dequantization: "none", tEnd: T_END } as const;

/** Predicted standard deviations of the Hutchinson estimate of tr M. */
function hutchinsonStd(): { gaussian: number; rademacher: number } {
  const C = G.s.map((s) => 0.5 * Math.log((A1 * s * s + 1 - A1) / (A0 * s * s + 1 - A0)));
  let all = 0;
  let off = 0;
  for (let i = 0; i < D; i++)
    for (let j = 0; j < D; j++) {
      let m = 0;
      for (let k = 0; k < D; k++) m += G.R[i * D + k]! * C[k]! * G.R[j * D + k]!;
      all += m * m;
      if (i !== j) off += m * m;
    }
  return { gaussian: Math.sqrt(2 * all), rademacher: Math.sqrt(2 * off) };
}

describe("probability-flow NLL of correlated Gaussian data (continuous, no dequantization)", () => {
  const x0 = F.correlatedSamples(G, 32, 1);
  const want = F.correlatedLogDensity(G, x0, A0);

  it("exact divergence: the integral equals the analytic density change, the NLL the true one", async () => {
    const r = await odeNll(FIELD, x0, { ...continuous, divergence: "exact", rtol: 1e-6, atol: 1e-6 });
    const atOne = F.correlatedLogDensity(G, r.latent, A1);
    r.deltaLogp.forEach((delta, b) => {
      expect(Math.abs(delta - (want[b]! - atOne[b]!))).toBeLessThan(5e-4);
      expect(Math.abs(r.logp[b]! - want[b]!)).toBeLessThan(0.05);
      expect(r.bpd[b]).toBeCloseTo(-r.logp[b]! / (D * Math.LN2), 12);
    });
    expect(r.nfev).toBeGreaterThan(12);
  });

  it("Hutchinson (Rademacher and Gaussian probes): unbiased, with the predicted spread", async () => {
    const x = F.correlatedSamples(G, 128, 2);
    const exact = await odeNll(FIELD, x, { ...continuous, divergence: "exact" });
    const predicted = hutchinsonStd();
    for (const divergence of ["rademacher", "gaussian"] as const) {
      const r = await odeNll(FIELD, x, { ...continuous, divergence, key: makeKey(5) });
      const err = meanCi(Array.from(r.logp, (l, b) => l - exact.logp[b]!));
      const std = predicted[divergence];
      expect(Math.abs(err.mean)).toBeLessThan((4 * std) / Math.sqrt(128));
      expect(err.std / std).toBeGreaterThan(0.6);
      expect(err.std / std).toBeLessThan(1.5);
    }
  });

  it("Rademacher probes are exact for isotropic data (df/dx is a multiple of I)", async () => {
    const d = { mu: 0.3, s: 0.5 };
    const field = eagerVjpField((x, t) => optimal(x, SDE.alphaBar(t), d), SDE);
    const x = F.gaussianSamples(d, 8, 5, 3);
    const exact = await odeNll(field, x, { ...continuous, divergence: "exact" });
    const rad = await odeNll(field, x, { ...continuous, divergence: "rademacher" });
    rad.logp.forEach((l, b) => {
      expect(Math.abs(l - exact.logp[b]!)).toBeLessThan(1e-4);
    });
    const analytic = F.gaussianNll(x, Math.sqrt(A0) * d.mu, A0 * d.s ** 2 + 1 - A0);
    exact.logp.forEach((l, b) => {
      expect(Math.abs(-l - analytic[b]!)).toBeLessThan(0.05);
    });
  });
});

describe("probability-flow NLL of 8-bit data (uniform dequantization)", () => {
  it("equals the discrete NLL -log2 P(k) / D of quantized Gaussian data within its error", async () => {
    const d: F.Gaussian = { mu: 0.1, s: 0.25 };
    const n = 32;
    const q = F.quantize8bit(F.gaussianSamples(d, n, 32, 7));
    // the dequantized data have variance s^2 + w^2 / 12: the model's Gaussian
    const model = { mu: d.mu, s: Math.sqrt(d.s ** 2 + LEVEL_SPACING ** 2 / 12) };
    const field = eagerVjpField((x, t) => optimal(x, SDE.alphaBar(t), model), SDE);
    const r = await odeNll(field, q, { sde: SDE, divergence: "rademacher" });
    const want = F.discreteNllBits(q, d, standardNormalCdf);
    const diff = meanCi(Array.from(r.bpd, (b, i) => b - want[i]!));
    const se = diff.std / Math.sqrt(n);
    expect(se).toBeLessThan(1e-3);
    expect(Math.abs(diff.mean)).toBeLessThan(4 * se);
  });

  it("dequantize keeps each value in its level's cell; probes are +-1 or normal", () => {
    const x = F.quantize8bit(F.gaussianSamples({ mu: 0, s: 0.5 }, 4, 50, 1));
    const y = dequantize(x, makeKey(3));
    const xs = x.values();
    y.values().forEach((v, i) => {
      expect(Math.abs(v - xs[i]!)).toBeLessThanOrEqual(LEVEL_SPACING / 2 + 1e-7);
    });
    const r = hutchinsonProbe("rademacher", [100, 10], makeKey(4)).values();
    expect(r.every((v) => v === 1 || v === -1)).toBe(true);
    expect(Math.abs(Array.from(r).reduce((a, b) => a + b, 0))).toBeLessThan(4 * Math.sqrt(1000));
    const g = meanCi(hutchinsonProbe("gaussian", [100, 10], makeKey(4)).values());
    expect(Math.abs(g.std - 1)).toBeLessThan(0.1);
  });
});

describe("odeNll input checks", () => {
  const x = T.tensor([0.2, -0.4, 0.6, 0], [2, 2]);
  const run = (o: object, x0 = x) => odeNll(FIELD, x0, { sde: SDE, ...o });
  it("rejects bad options and data, naming the field", async () => {
    await expect(run({ tEnd: 0 })).rejects.toThrow(/tEnd 0 is not a time in \(0, 1\)/);
    await expect(run({ divergence: "skilling" })).rejects.toThrow(
      /divergence "skilling" is not one of rademacher/,
    );
    await expect(run({ dequantization: "variational" })).rejects.toThrow(
      /dequantization "variational" is not one of/,
    );
    await expect(run({}, T.tensor([0.2, 1.5], [1, 2]))).rejects.toThrow(/x0\[1\] 1.5 is not in \[-1, 1\]/);
    await expect(run({}, T.tensor([0.2], [1]))).rejects.toThrow(/x0.shape "\[1\]" is not a non-empty batch/);
    await expect(run({ rtol: 0 })).rejects.toThrow(/rtol 0 is not a number > 0/);
  });
});
