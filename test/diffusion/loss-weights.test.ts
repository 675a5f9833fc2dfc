import { describe, expect, it } from "vitest";
import { minSnrWeights, vlbWeights } from "../../src/diffusion/loss-weights.js";
import { alphasCumprod, betasFor, posteriorVariance, snr } from "../../src/diffusion/schedules.js";

describe("minSnrWeights", () => {
  const gamma = 5;
  const ratios = Float64Array.of(100, 5, 1, 0.01);

  it("sample: min(SNR, gamma); epsilon: min(SNR, gamma) / SNR; v: min(SNR, gamma) / (SNR + 1)", () => {
    expect(Array.from(minSnrWeights(ratios, gamma, "sample"))).toEqual([5, 5, 1, 0.01]);
    expect(Array.from(minSnrWeights(ratios, gamma, "epsilon"))).toEqual([0.05, 1, 1, 1]);
    const v = minSnrWeights(ratios, gamma, "v_prediction");
    [5 / 101, 5 / 6, 1 / 2, 0.01 / 1.01].forEach((w, i) => {
      expect(v[i]).toBeCloseTo(w, 15);
    });
  });

  it("the three weights agree on the x0 loss: w_eps = w_x0 / SNR and w_v = w_x0 / (SNR + 1)", () => {
    const ratio = snr(alphasCumprod(betasFor({ beta_schedule: "squaredcos_cap_v2" })));
    const x0 = minSnrWeights(ratio, gamma, "sample");
    const eps = minSnrWeights(ratio, gamma, "epsilon");
    const v = minSnrWeights(ratio, gamma, "v_prediction");
    ratio.forEach((s, t) => {
      expect(eps[t] * s).toBeCloseTo(x0[t], 10);
      expect(v[t] * (s + 1)).toBeCloseTo(x0[t], 10);
    });
  });

  it("handles SNR = 0 (zero terminal SNR) and SNR = Infinity", () => {
    const edge = Float64Array.of(0, Infinity);
    expect(Array.from(minSnrWeights(edge, gamma, "epsilon"))).toEqual([1, 0]);
    expect(Array.from(minSnrWeights(edge, gamma, "v_prediction"))).toEqual([0, 0]);
    expect(Array.from(minSnrWeights(edge, gamma, "sample"))).toEqual([0, 5]);
  });

  it("rejects bad input, naming the field", () => {
    expect(() => minSnrWeights(ratios, 0, "epsilon")).toThrow("gamma 0 is not a finite number > 0");
    const x0 = "x0" as unknown as "sample";
    expect(() => minSnrWeights(ratios, gamma, x0)).toThrow(
      'prediction "x0" is not one of epsilon, v_prediction, sample',
    );
    expect(() => minSnrWeights([1, -1], gamma, "sample")).toThrow("snr[1] -1 is not a number >= 0");
  });
});

describe("vlbWeights", () => {
  const betas = betasFor({ num_train_timesteps: 1000 }, { dtype: "float64" });
  const abar = alphasCumprod(betas, { dtype: "float64" });

  it("posterior variance: lambda_t = beta_t / (2 alpha_t (1 - abar_{t-1})) for t >= 1 (DDPM eq. 12 simplified)", () => {
    const w = vlbWeights(betas, abar);
    for (const t of [1, 2, 10, 500, 999]) {
      expect(w[t] / (betas[t] / (2 * (1 - betas[t]) * (1 - abar[t - 1])))).toBeCloseTo(1, 12);
    }
  });

  it("posterior variance at t = 0 uses beta-tilde_1 (the clipped posterior variance)", () => {
    const w = vlbWeights(betas, abar);
    const tilde1 = posteriorVariance(betas, abar)[1];
    expect(w[0]).toBeCloseTo(betas[0] ** 2 / (2 * tilde1 * (1 - betas[0]) * (1 - abar[0])), 10);
    expect(Number.isFinite(w[0])).toBe(true);
  });

  it("sigma_t^2 = beta_t: lambda_t = beta_t / (2 alpha_t (1 - abar_t)), lambda_0 = 1 / (2 alpha_0)", () => {
    const w = vlbWeights(betas, abar, "beta");
    expect(w[0]).toBeCloseTo(1 / (2 * (1 - betas[0])), 12);
    expect(w[700]).toBeCloseTo(betas[700] / (2 * (1 - betas[700]) * (1 - abar[700])), 14);
  });

  it("weights are positive and finite, except Infinity where alpha_t = 0 (zero terminal SNR)", () => {
    expect(vlbWeights(betas, abar).every((w) => w > 0 && Number.isFinite(w))).toBe(true);
    const zsnr = betasFor({ rescale_betas_zero_snr: true }, { dtype: "float64" });
    const w = vlbWeights(zsnr, alphasCumprod(zsnr, { dtype: "float64" }));
    expect(w[999]).toBe(Infinity);
    expect(Number.isFinite(w[998])).toBe(true);
  });

  it("rejects mismatched lengths, naming the field", () => {
    expect(() => vlbWeights(betas, abar.subarray(1))).toThrow(
      "alphas_cumprod.length 999 is not equal to betas.length (1000)",
    );
  });
});
