/** Timestep and sigma grids of the solvers, and their small numerical helpers. */
import { describe, expect, it } from "vitest";
import { DPMSolverMultistepScheduler } from "../../src/diffusion/schedulers/dpm-solver-multistep.js";
import {
  DPMSolverSinglestepScheduler,
  singlestepOrderList,
} from "../../src/diffusion/schedulers/dpm-solver-singlestep.js";
import { solverTimesteps } from "../../src/diffusion/schedulers/solver-base.js";
import { solveLinear } from "../../src/diffusion/schedulers/unipc.js";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import {
  interp,
  logSigmas,
  sigmasAtTimesteps,
  sigmaToT,
  trainSigmas,
} from "../../src/diffusion/sigma-grid.js";
import { ancestralSigmas, lmsCoefficient } from "../../src/diffusion/ve-steps.js";

describe("solver timesteps", () => {
  it("linspace, leading and trailing spacings (n + 1 points, the last dropped)", () => {
    expect(Array.from(solverTimesteps("linspace", 1000, 1000, 4, 0))).toEqual([999, 749, 500, 250]);
    expect(Array.from(solverTimesteps("leading", 1000, 1000, 4, 1))).toEqual([801, 601, 401, 201]);
    expect(Array.from(solverTimesteps("trailing", 1000, 1000, 4, 0))).toEqual([999, 749, 499, 249]);
  });

  it("lambda_min_clipped drops the final timesteps whose half-log-SNR is below it", () => {
    const config = { beta_schedule: "squaredcos_cap_v2" };
    const clipped = new DPMSolverMultistepScheduler({ ...config, lambda_min_clipped: -5.1 });
    clipped.setTimesteps(10);
    const abar = clipped.alphasCumprod;
    const first = clipped.timesteps[0];
    expect(first).toBeLessThan(999);
    // the kept range ends where lambda = log(alpha / sigma) first drops below -5.1
    const lambda = (t: number) => 0.5 * Math.log(abar[t] / (1 - abar[t]));
    expect(lambda(first)).toBeGreaterThanOrEqual(-5.1);
    expect(lambda(first + 2)).toBeLessThan(-5.1);
  });
});

describe("singlestep order lists (diffusers get_order_list)", () => {
  it("groups orders and ends on lower orders", () => {
    expect(singlestepOrderList(10, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
    expect(singlestepOrderList(9, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 1]);
    expect(singlestepOrderList(8, 3, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
    expect(singlestepOrderList(8, 2, true)).toEqual([1, 2, 1, 2, 1, 2, 1, 1]);
    expect(singlestepOrderList(6, 3, false)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it("the scheduler ends on order 1 when the final sigma is 0", () => {
    const s = new DPMSolverSinglestepScheduler({ solver_order: 3 });
    s.setTimesteps(8);
    expect(s.orderList.at(-1)).toBe(1);
  });
});

describe("sigma grids", () => {
  const abar = alphasCumprod(betasFor({}));
  const sigmas = trainSigmas(abar);
  const logs = logSigmas(sigmas);

  it("sigmaToT inverts log-linear interpolation at fractional timesteps", () => {
    for (const t of [0, 0.5, 17.25, 500, 998.75, 999]) {
      const logSigma = interp(
        [t],
        Float64Array.from({ length: 1000 }, (_, i) => i),
        logs,
      )[0];
      expect(sigmaToT(Math.exp(logSigma), logs)).toBeCloseTo(t, 6);
    }
    // linear interpolation of sigma itself agrees at integer timesteps
    expect(sigmasAtTimesteps([250], sigmas)[0]).toBe(sigmas[250]);
  });

  it("ancestral steps split sigma_next^2 into sigma_down^2 + sigma_up^2", () => {
    const { sigmaUp, sigmaDown } = ancestralSigmas(3, 2);
    expect(sigmaUp ** 2 + sigmaDown ** 2).toBeCloseTo(4, 12);
    expect(sigmaUp).toBeCloseTo(Math.sqrt((4 * (9 - 4)) / 9), 12);
    expect(ancestralSigmas(3, 0)).toEqual({ sigmaUp: 0, sigmaDown: 0 });
  });

  it("LMS coefficients integrate the Lagrange basis: they sum to the step and reproduce a cubic", () => {
    const grid = [10, 6, 3, 1.5, 0.5];
    const i = 3;
    const order = 4;
    const coeffs = Array.from({ length: order }, (_, j) => lmsCoefficient(grid, i, order, j));
    expect(coeffs.reduce((a, b) => a + b, 0)).toBeCloseTo(grid[i + 1] - grid[i], 12);
    // integral of tau^3 over [grid[i], grid[i+1]] from the nodes' values
    const cubic = coeffs.reduce((acc, c, j) => acc + c * grid[i - j] ** 3, 0);
    expect(cubic).toBeCloseTo((grid[i + 1] ** 4 - grid[i] ** 4) / 4, 10);
  });

  it("solveLinear solves a small system", () => {
    const x = solveLinear(
      [
        [0, 2, 1],
        [1, 1, 1],
        [2, 1, 3],
      ],
      [7, 6, 13],
    );
    [1, 2, 3].forEach((v, k) => {
      expect(x[k]).toBeCloseTo(v, 12);
    });
  });
});
