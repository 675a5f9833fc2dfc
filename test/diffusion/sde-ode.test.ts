/**
 * Continuous-time samplers beyond diffusers: reverse-SDE Euler-Maruyama, predictor-corrector with the
 * Langevin corrector, and the probability-flow ODE with adaptive RK45, on Gaussian data N(mu, s^2)
 * with the exact eps model. Moment tolerances as in exact-gaussian.test.ts: N = 20000 elements give
 * standard errors 0.0035 (mean) and 0.0025 (variance); 0.015 allows 4 standard errors plus a small
 * discretisation bias (Euler-Maruyama is first order: 1000 steps).
 */
import { describe, expect, it } from "vitest";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { encodeProbabilityFlow, rk45, sampleProbabilityFlow } from "../../src/diffusion/samplers/ode.js";
import {
  langevinStepSizes,
  samplePredictorCorrector,
  sampleReverseSde,
} from "../../src/diffusion/samplers/sde.js";
import { linearVpSde, type VpSde, vpSdeFromAlphasCumprod } from "../../src/diffusion/samplers/vp-sde.js";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import * as T from "../../src/tensor/index.js";
import { expectClose } from "../helpers.js";
import { type Gaussian, moments, optimal } from "./gaussian.js";

const DATA: Gaussian = { mu: 0.3, s: 0.5 };
const SHAPE = [2, 10000];
const TOL = 0.015;

const exactEps = (sde: VpSde) => (x: T.Tensor, t: number) => optimal(x, sde.alphaBar(t), DATA);

function expectMoments(x: T.Tensor, mu: number, variance: number): void {
  const m = moments(x);
  expect(Math.abs(m.mean - mu)).toBeLessThan(TOL);
  expect(Math.abs(m.variance - variance)).toBeLessThan(TOL);
}

describe("VP SDEs", () => {
  it("linearVpSde's abar is exp(-int beta) (checked by the trapezoid rule)", () => {
    const sde = linearVpSde();
    const n = 1000;
    let integral = 0;
    for (let i = 0; i < n; i++) integral += (sde.beta(i / n) + sde.beta((i + 1) / n)) / 2 / n;
    expect(sde.alphaBar(1)).toBeCloseTo(Math.exp(-integral), 10);
  });

  it("vpSdeFromAlphasCumprod passes through the schedule's abar at t = (i + 1) / T", () => {
    const abar = alphasCumprod(betasFor({ beta_schedule: "linear" }));
    const sde = vpSdeFromAlphasCumprod(abar);
    for (const i of [0, 1, 499, 999]) expect(sde.alphaBar((i + 1) / 1000)).toBeCloseTo(abar[i], 12);
    expect(sde.alphaBar(0)).toBe(1);
    // beta is -d log abar / dt: T log(abar_{i-1} / abar_i) on interval i
    expect(sde.beta(0.5005)).toBeCloseTo(1000 * Math.log(abar[499] / abar[500]), 9);
  });
});

describe("reverse-SDE and predictor-corrector sampling reproduce the data moments", () => {
  for (const [label, sde] of [
    ["linear VP SDE", linearVpSde()],
    ["VP SDE of the diffusers linear schedule", vpSdeFromAlphasCumprod(alphasCumprod(betasFor({})))],
  ] as const) {
    it(`Euler-Maruyama, ${label}`, async () => {
      const noise = gaussianNoise(21);
      const x = await sampleReverseSde(exactEps(sde), sde, noise(SHAPE), { steps: 1000, noise });
      expectMoments(x, DATA.mu, DATA.s ** 2);
    });
  }

  it("predictor-corrector with the Langevin corrector (snr 0.16)", async () => {
    const sde = linearVpSde();
    const noise = gaussianNoise(22);
    const x = await samplePredictorCorrector(exactEps(sde), sde, noise(SHAPE), {
      steps: 500,
      noise,
      snr: 0.16,
    });
    expectMoments(x, DATA.mu, DATA.s ** 2);
  });

  it("the Langevin step size is 2 alpha (snr ||z|| / ||score||)^2 per batch element", () => {
    const score = T.tensor([3, 4, 0, 1], [2, 2]);
    const z = T.tensor([1, 0, 0, 2], [2, 2]);
    const sizes = langevinStepSizes(score, z, 0.5, 0.9);
    expect(sizes[0]).toBeCloseTo(2 * 0.9 * ((0.5 * 1) / 5) ** 2, 12);
    expect(sizes[1]).toBeCloseTo(2 * 0.9 * ((0.5 * 2) / 1) ** 2, 12);
  });
});

describe("adaptive Dormand-Prince RK45", () => {
  it("solves dy/dt = -y forwards and backwards within its tolerance", async () => {
    const y0 = T.tensor([1, 2], [2]);
    const f = (_t: number, y: T.Tensor) => T.neg(y);
    const fwd = await rk45(f, y0, 0, 2, { rtol: 1e-8, atol: 1e-10 });
    expectClose(fwd.y.values(), [Math.exp(-2), 2 * Math.exp(-2)], 1e-6, 1e-7, "forward");
    const back = await rk45(f, fwd.y, 2, 0, { rtol: 1e-8, atol: 1e-10 });
    expectClose(back.y.values(), [1, 2], 1e-6, 1e-6, "backward");
    // a loose tolerance takes fewer steps than a tight one
    const loose = await rk45(f, y0, 0, 2, { rtol: 1e-3, atol: 1e-6 });
    expect(loose.steps).toBeLessThan(fwd.steps);
  });
});

describe("the probability-flow ODE", () => {
  it("maps Gaussian data to N(0, I) and back", async () => {
    const sde = linearVpSde();
    const model = exactEps(sde);
    const tEnd = 1e-3;
    const aEnd = sde.alphaBar(tEnd);
    // Data at tEnd: x ~ N(sqrt(a) mu, a s^2 + 1 - a), a draw of the noised data distribution.
    const x0 = T.add(
      T.mul(gaussianNoise(31)(SHAPE), Math.sqrt(aEnd * DATA.s ** 2 + 1 - aEnd)),
      Math.sqrt(aEnd) * DATA.mu,
    );
    const options = { rtol: 1e-5, atol: 1e-5, tEnd };
    const encoded = await encodeProbabilityFlow(model, sde, x0, options);
    const a1 = sde.alphaBar(1);
    expectMoments(encoded.y, Math.sqrt(a1) * DATA.mu, a1 * DATA.s ** 2 + 1 - a1);
    const decoded = await sampleProbabilityFlow(model, sde, encoded.y, options);
    expectClose(decoded.y.values(), x0.values(), 1e-3, 1e-3, "round trip");
  });

  it("samples N(mu, s^2) from N(0, I)", async () => {
    const sde = linearVpSde();
    const result = await sampleProbabilityFlow(exactEps(sde), sde, gaussianNoise(32)(SHAPE), {
      rtol: 1e-4,
      atol: 1e-4,
    });
    expectMoments(result.y, DATA.mu, DATA.s ** 2);
    expect(result.nfev).toBeGreaterThan(6);
  });
});
