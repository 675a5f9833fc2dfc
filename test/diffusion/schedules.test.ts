import { describe, expect, it } from "vitest";
import {
  alphaSigmaFromSigma,
  alphasCumprod,
  alphasCumprodFromSigmas,
  BETA_SCHEDULES,
  betasFor,
  exponentialSigmas,
  inferenceTimesteps,
  karrasSigmas,
  lambdaFromAlphaSigma,
  parseBetaSchedule,
  posteriorVariance,
  rescaleZeroTerminalSnr,
  sigmasFromAlphasCumprod,
  snr,
} from "../../src/diffusion/schedules.js";

const DTYPES = ["float32", "float64"] as const;

function isStrictlyDecreasing(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if (!(x[i] < x[i - 1])) return false;
  return true;
}

describe("betasFor / alphasCumprod", () => {
  for (const name of BETA_SCHEDULES) {
    for (const dtype of DTYPES) {
      it(`${name} (${dtype}): betas in (0, 1), alphas_cumprod strictly decreasing in (0, 1)`, () => {
        const betas = betasFor({ beta_schedule: name, num_train_timesteps: 1000 }, { dtype });
        expect(betas.length).toBe(1000);
        expect(betas.every((b) => b > 0 && b < 1)).toBe(true);
        const abar = alphasCumprod(betas, { dtype });
        expect(isStrictlyDecreasing(abar)).toBe(true);
        expect(abar[0]).toBeLessThan(1);
        expect(abar[999]).toBeGreaterThan(0);
      });
    }
  }

  it("float32 values are float32-representable and close to the float64 math", () => {
    for (const name of BETA_SCHEDULES) {
      const b32 = betasFor({ beta_schedule: name }, { dtype: "float32" });
      const b64 = betasFor({ beta_schedule: name }, { dtype: "float64" });
      const a32 = alphasCumprod(b32);
      expect(b32.every((b) => Math.fround(b) === b)).toBe(true);
      expect(a32.every((a) => Math.fround(a) === a)).toBe(true);
      // beta = 1 - abar_t / abar_{t-1} in float32 carries several float32 ulps of 1 (6e-8 each); the
      // tutorial cosine also rounds cos's argument to float32, which moves its betas by up to ~1e-3.
      const rtol = name === "tutorial_cosine" ? 2e-3 : 1e-5;
      for (let t = 0; t < 900; t++) expect(Math.abs(b32[t] - b64[t])).toBeLessThan(rtol * b64[t] + 1e-6);
    }
  });

  it("linear (float64) runs from beta_start to beta_end in equal steps", () => {
    const b = betasFor(
      { beta_schedule: "linear", beta_start: 0.001, beta_end: 0.03, num_train_timesteps: 30 },
      { dtype: "float64" },
    );
    expect(b[0]).toBe(0.001);
    expect(b[29]).toBe(0.03);
    for (let t = 1; t < 30; t++) expect(b[t] - b[t - 1]).toBeCloseTo(0.029 / 29, 14);
  });

  it("scaled_linear is the square of a linear ramp of square roots", () => {
    const b = betasFor(
      { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 11 },
      { dtype: "float64" },
    );
    const roots = Array.from(b, Math.sqrt);
    for (let t = 1; t < 11; t++)
      expect(roots[t] - roots[t - 1]).toBeCloseTo((Math.sqrt(0.012) - Math.sqrt(0.00085)) / 10, 12);
  });

  it("squaredcos_cap_v2 caps betas at 0.999; tutorial_cosine clamps to [1e-4, 0.9999]", () => {
    const cos = betasFor({ beta_schedule: "squaredcos_cap_v2" }, { dtype: "float64" });
    const tut = betasFor({ beta_schedule: "tutorial_cosine" }, { dtype: "float64" });
    expect(Math.max(...cos)).toBe(0.999);
    expect(Math.max(...tut)).toBe(0.9999);
    expect(Math.min(...tut)).toBe(1e-4);
  });

  it("trained_betas are used as given (rounded to float32 by default)", () => {
    const trained = [0.1, 0.2, 0.3];
    expect(
      Array.from(betasFor({ trained_betas: trained, beta_schedule: "ignored" }, { dtype: "float64" })),
    ).toEqual(trained);
    expect(Array.from(betasFor({ trained_betas: trained }))).toEqual(trained.map(Math.fround));
  });

  it("accepts a parsed BetaSchedule as well as config fields", () => {
    const config = { beta_schedule: "sigmoid", num_train_timesteps: 50 };
    expect(betasFor(parseBetaSchedule(config))).toEqual(betasFor(config));
  });
});

describe("rescaleZeroTerminalSnr", () => {
  for (const dtype of DTYPES) {
    it(`gives abar_T = 0 and keeps abar_0 (${dtype})`, () => {
      const betas = betasFor(
        { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 },
        { dtype },
      );
      const before = alphasCumprod(betas, { dtype });
      const rescaled = rescaleZeroTerminalSnr(betas, { dtype });
      const after = alphasCumprod(rescaled, { dtype });
      expect(after[999]).toBe(0);
      expect(rescaled[999]).toBe(1);
      expect(Math.abs(after[0] - before[0])).toBeLessThan(dtype === "float32" ? 2e-7 : 1e-15);
      expect(isStrictlyDecreasing(after)).toBe(true);
      expect(snr(after[999])).toBe(0);
    });
  }

  it("is what rescale_betas_zero_snr applies", () => {
    const config = { beta_schedule: "linear", num_train_timesteps: 100 };
    expect(betasFor({ ...config, rescale_betas_zero_snr: true })).toEqual(
      rescaleZeroTerminalSnr(betasFor(config)),
    );
  });
});

describe("posteriorVariance", () => {
  it("is 0 at t=0 and (1 - abar_{t-1}) / (1 - abar_t) beta_t after, below beta_t", () => {
    const betas = betasFor({ num_train_timesteps: 20 }, { dtype: "float64" });
    const abar = alphasCumprod(betas, { dtype: "float64" });
    const v = posteriorVariance(betas, abar);
    expect(v[0]).toBe(0);
    for (let t = 1; t < 20; t++) {
      expect(v[t]).toBeCloseTo(((1 - abar[t - 1]) / (1 - abar[t])) * betas[t], 15);
      expect(v[t]).toBeLessThan(betas[t]);
    }
  });
});

describe("sigma conversions", () => {
  const abar = alphasCumprod(betasFor({ beta_schedule: "scaled_linear" }));

  it("sigma = sqrt((1 - abar) / abar) and SNR = abar / (1 - abar) = 1 / sigma^2", () => {
    const sigma = sigmasFromAlphasCumprod(abar);
    const ratio = snr(abar);
    for (const t of [0, 1, 500, 999]) {
      expect(sigma[t]).toBeCloseTo(Math.sqrt((1 - abar[t]) / abar[t]), 12);
      expect(ratio[t] * sigma[t] ** 2).toBeCloseTo(1, 12);
    }
    expect(alphasCumprodFromSigmas(sigma)[500]).toBeCloseTo(abar[500], 15);
    expect(snr(0.5)).toBe(1);
    expect(snr(1)).toBe(Infinity);
  });

  it("VP alpha_t, sigma_t from sigma: alpha^2 + sigma_t^2 = 1, sigma_t / alpha = sigma, lambda = -log sigma", () => {
    const sigmas = Float64Array.of(0.01, 0.5, 1, 14.6);
    const { alpha, sigma } = alphaSigmaFromSigma(sigmas);
    const lambda = lambdaFromAlphaSigma(alpha, sigma);
    sigmas.forEach((s, i) => {
      expect(alpha[i] ** 2 + sigma[i] ** 2).toBeCloseTo(1, 14);
      expect(sigma[i] / alpha[i]).toBeCloseTo(s, 12);
      expect(lambda[i]).toBeCloseTo(-Math.log(s), 12);
    });
    expect(alphaSigmaFromSigma(1).alpha).toBeCloseTo(Math.SQRT1_2, 15);
    expect(lambdaFromAlphaSigma(0.6, 0.8)).toBeCloseTo(Math.log(0.75), 15);
  });
});

describe("karrasSigmas appendZero", () => {
  it("ends the grid with sigma 0 (n + 1 values), the rest unchanged", () => {
    const plain = karrasSigmas(0.002, 80, 5);
    const withZero = karrasSigmas(0.002, 80, 5, 7, { appendZero: true });
    expect(withZero.length).toBe(6);
    expect(Array.from(withZero.subarray(0, 5))).toEqual(Array.from(plain));
    expect(withZero[5]).toBe(0);
  });
});

describe("karrasSigmas / exponentialSigmas", () => {
  it("Karras grid runs from sigmaMax down to sigmaMin, strictly decreasing", () => {
    const s = karrasSigmas(0.0292, 14.6146, 25);
    expect(s.length).toBe(25);
    expect(s[0]).toBeCloseTo(14.6146, 12);
    expect(s[24]).toBeCloseTo(0.0292, 12);
    expect(isStrictlyDecreasing(s)).toBe(true);
  });

  it("Karras grid is uniform in sigma^(1/rho) (rho = 1: uniform in sigma)", () => {
    const s = karrasSigmas(1, 5, 5, 1);
    [5, 4, 3, 2, 1].forEach((v, i) => {
      expect(s[i]).toBeCloseTo(v, 12);
    });
    const roots = Array.from(karrasSigmas(0.1, 10, 6), (x) => x ** (1 / 7));
    for (let i = 2; i < 6; i++) expect(roots[i] - roots[i - 1]).toBeCloseTo(roots[1] - roots[0], 12);
  });

  it("exponential grid is uniform in log sigma between the endpoints", () => {
    const s = exponentialSigmas(0.01, 100, 5);
    [100, 10, 1, 0.1, 0.01].forEach((v, i) => {
      expect(s[i] / v).toBeCloseTo(1, 12);
    });
  });

  it("rejects bad ranges, naming the field", () => {
    expect(() => karrasSigmas(2, 1, 10)).toThrow(/sigmaMax 1 is not greater than sigmaMin \(2\)/);
    expect(() => karrasSigmas(0.1, 1, 0)).toThrow(/^n 0 is not an integer >= 1$/);
    expect(() => exponentialSigmas(0, 1, 10)).toThrow(/sigmaMin 0 is not a finite number > 0/);
  });
});

describe("inferenceTimesteps", () => {
  const T = 1000;
  const steps = (o: Partial<Parameters<typeof inferenceTimesteps>[0]>) =>
    Array.from(inferenceTimesteps({ numTrainTimesteps: T, numInferenceSteps: 10, ...o }));

  it("leading: ratio = T // n, (arange(n) * ratio)[::-1] + steps_offset", () => {
    // 1000 // 10 = 100 -> 900, 800, ..., 0, plus offset 1
    expect(steps({ spacing: "leading", stepsOffset: 1 })).toEqual([
      901, 801, 701, 601, 501, 401, 301, 201, 101, 1,
    ]);
    // 1000 // 3 = 333 -> 666, 333, 0
    expect(steps({ spacing: "leading", numInferenceSteps: 3 })).toEqual([666, 333, 0]);
  });

  it("trailing: round(arange(T, 0, -T / n)) - 1, with NumPy's half-to-even rounding", () => {
    expect(steps({ spacing: "trailing" })).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    // T / 16 = 62.5: 937.5 -> 938 and 812.5 -> 812 (half to even), minus 1
    expect(steps({ spacing: "trailing", numInferenceSteps: 16 })).toEqual([
      999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61,
    ]);
    // T / 61: NumPy's arange gives 62 points (the last rounds to timestep -1); we keep 61.
    const t61 = steps({ spacing: "trailing", numInferenceSteps: 61 });
    expect(t61.length).toBe(61);
    expect(t61.slice(-2)).toEqual([32, 15]);
  });

  it("linspace: round(linspace(0, T - 1, n))[::-1]; float variant unrounded (Euler)", () => {
    // linspace(0, 999, 5) = 0, 249.75, 499.5, 749.25, 999; 499.5 rounds to 500 (even)
    expect(steps({ spacing: "linspace", numInferenceSteps: 5 })).toEqual([999, 749, 500, 250, 0]);
    expect(steps({ spacing: "linspace", numInferenceSteps: 5, float: true })).toEqual([
      999, 749.25, 499.5, 249.75, 0,
    ]);
    expect(steps({ spacing: "linspace", numInferenceSteps: 1 })).toEqual([0]);
  });

  it("n = T visits every timestep", () => {
    for (const spacing of ["leading", "trailing", "linspace"] as const) {
      const t = steps({ spacing, numInferenceSteps: T });
      expect(t).toEqual(Array.from({ length: T }, (_, i) => T - 1 - i));
    }
  });
});

describe("errors name the field, the value and what was expected", () => {
  it("beta schedule fields", () => {
    expect(() => betasFor({ beta_schedule: "foo" })).toThrow(
      'beta_schedule "foo" is not one of linear, scaled_linear, squaredcos_cap_v2, sigmoid, tutorial_cosine, tutorial_sigmoid',
    );
    expect(() => betasFor({ num_train_timesteps: 0 })).toThrow(
      "num_train_timesteps 0 is not an integer in [1, 1000000]",
    );
    expect(() => betasFor({ num_train_timesteps: 2.5 })).toThrow(
      "num_train_timesteps 2.5 is not an integer in [1, 1000000]",
    );
    expect(() => betasFor({ beta_start: 0.02, beta_end: 0.01 })).toThrow(
      "beta_end 0.01 is not greater than beta_start (0.02)",
    );
    expect(() => betasFor({ beta_start: 0.02, beta_end: 0.02 })).toThrow(
      /^beta_end 0.02 is not greater than beta_start/,
    );
    expect(() => betasFor({ beta_end: 1.5 })).toThrow("beta_end 1.5 is not a number < 1");
    expect(() => betasFor({ beta_start: Number.NaN })).toThrow("beta_start NaN is not a finite number");
    expect(() => betasFor({ trained_betas: [0.1, 2] })).toThrow(
      "trained_betas[1] 2 is not a number in [0, 1]",
    );
    expect(() => betasFor({ trained_betas: [] })).toThrow(
      /^trained_betas \[array of 0\] is not a non-empty array/,
    );
    const notBoolean = { rescale_betas_zero_snr: "yes" } as unknown as { rescale_betas_zero_snr: boolean };
    expect(() => betasFor(notBoolean)).toThrow('rescale_betas_zero_snr "yes" is not a boolean');
    expect(() => betasFor({ num_train_timesteps: 1, rescale_betas_zero_snr: true })).toThrow(
      /num_train_timesteps 1 is not at least 2/,
    );
  });

  it("timestep fields", () => {
    const base = { numTrainTimesteps: 1000, numInferenceSteps: 10 };
    expect(() => inferenceTimesteps({ ...base, numInferenceSteps: 1001 })).toThrow(
      "numInferenceSteps 1001 is not an integer in [1, 1000]",
    );
    expect(() => inferenceTimesteps({ ...base, numInferenceSteps: 0 })).toThrow(
      "numInferenceSteps 0 is not an integer in [1, 1000]",
    );
    const spacing = "middle" as unknown as "leading";
    expect(() => inferenceTimesteps({ ...base, spacing })).toThrow(
      'spacing "middle" is not one of leading, trailing, linspace',
    );
    expect(() => inferenceTimesteps({ ...base, stepsOffset: -1 })).toThrow(
      "stepsOffset -1 is not an integer >= 0",
    );
  });
});
