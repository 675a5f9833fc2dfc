/**
 * Every sampler with the exact (optimal) model of Gaussian data N(mu, s^2) must reproduce the data's
 * mean and variance. Tolerances: the sample has N = 20000 elements, so the standard error of the
 * mean is s / sqrt(N) = 0.0035 and of the variance s^2 sqrt(2 / N) = 0.0025 (mu = 0.3, s = 0.5).
 * We allow 0.015 for both: over 4 standard errors, plus up to 0.005 of discretisation bias, for
 * which the step counts below are chosen (first-order solvers have a variance bias of about 1.3 / n
 * on this problem, hence n = 400; higher orders are well inside it at 25-100 steps).
 */
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../src/diffusion/registry.js";
import { sample } from "../../src/diffusion/sample.js";
import { CMStochasticIterativeScheduler } from "../../src/diffusion/schedulers/consistency.js";
import * as T from "../../src/tensor/index.js";
import { type Gaussian, moments, optimalFlow, optimalModel } from "./gaussian.js";

const DATA: Gaussian = { mu: 0.3, s: 0.5 };
const SHAPE = [2, 10000];
const TOL = 0.015;

type Case = [
  name: string,
  config: Record<string, unknown>,
  steps: number,
  stepOptions?: Record<string, unknown>,
];

const CASES: Case[] = [
  ["DDPMScheduler", { clip_sample: false }, 400],
  ["DDPMScheduler", { clip_sample: false, variance_type: "fixed_large" }, 400],
  ["DDIMScheduler", { clip_sample: false }, 400],
  // DDIM steps to t - T // n whatever the spacing: n must divide T so that this is the next timestep.
  [
    "DDIMScheduler",
    { clip_sample: false, prediction_type: "v_prediction", timestep_spacing: "trailing" },
    250,
  ],
  ["DDIMScheduler", { clip_sample: false, prediction_type: "sample" }, 400, { eta: 1 }],
  ["PNDMScheduler", {}, 50],
  ["PNDMScheduler", { skip_prk_steps: true }, 50],
  ["LMSDiscreteScheduler", {}, 50],
  ["LMSDiscreteScheduler", { use_karras_sigmas: true }, 50],
  ["LMSDiscreteScheduler", { timestep_spacing: "leading", steps_offset: 1 }, 50],
  ["LMSDiscreteScheduler", { timestep_spacing: "trailing" }, 50],
  ["EulerDiscreteScheduler", {}, 400],
  ["EulerDiscreteScheduler", { use_karras_sigmas: true, prediction_type: "v_prediction" }, 400],
  ["EulerDiscreteScheduler", { timestep_spacing: "trailing" }, 400],
  ["EulerAncestralDiscreteScheduler", {}, 400],
  ["EulerAncestralDiscreteScheduler", { timestep_spacing: "trailing" }, 400],
  // Heun on every spacing, on its own default betas (0.00085..0.012) and on the others' (0.0001..0.02).
  ["HeunDiscreteScheduler", {}, 50],
  ["HeunDiscreteScheduler", { use_karras_sigmas: true }, 50],
  ["HeunDiscreteScheduler", { timestep_spacing: "leading", steps_offset: 1 }, 50],
  ["HeunDiscreteScheduler", { timestep_spacing: "trailing", prediction_type: "v_prediction" }, 50],
  ["HeunDiscreteScheduler", { beta_start: 0.0001, beta_end: 0.02 }, 50],
  ["HeunDiscreteScheduler", { beta_start: 0.0001, beta_end: 0.02, timestep_spacing: "leading" }, 50],
  [
    "HeunDiscreteScheduler",
    { beta_start: 0.0001, beta_end: 0.02, timestep_spacing: "trailing", use_karras_sigmas: true },
    50,
  ],
  ["DPMSolverMultistepScheduler", { solver_order: 1 }, 400],
  ["DPMSolverMultistepScheduler", { solver_order: 2 }, 50],
  ["DPMSolverMultistepScheduler", { solver_order: 3 }, 50],
  ["DPMSolverMultistepScheduler", { solver_type: "heun", use_karras_sigmas: true }, 100],
  ["DPMSolverMultistepScheduler", { algorithm_type: "dpmsolver", final_sigmas_type: "sigma_min" }, 100],
  ["DPMSolverMultistepScheduler", { algorithm_type: "sde-dpmsolver++" }, 200],
  ["DPMSolverMultistepScheduler", { algorithm_type: "sde-dpmsolver", final_sigmas_type: "sigma_min" }, 200],
  ["DPMSolverSinglestepScheduler", { solver_order: 1 }, 400],
  ["DPMSolverSinglestepScheduler", { solver_order: 2 }, 100],
  ["DPMSolverSinglestepScheduler", { solver_order: 3 }, 50],
  ["UniPCMultistepScheduler", { solver_type: "bh2" }, 50],
  ["UniPCMultistepScheduler", { solver_type: "bh1", final_sigmas_type: "sigma_min" }, 50],
  ["UniPCMultistepScheduler", { solver_order: 3 }, 50],
];

function expectMoments(x: T.Tensor): void {
  const m = moments(x);
  expect(Math.abs(m.mean - DATA.mu)).toBeLessThan(TOL);
  expect(Math.abs(m.variance - DATA.s ** 2)).toBeLessThan(TOL);
}

describe("samplers with the exact model of Gaussian data reproduce its mean and variance", () => {
  for (const [name, config, steps, stepOptions] of CASES) {
    it(`${name} ${JSON.stringify(config)} ${steps} steps${stepOptions ? ` ${JSON.stringify(stepOptions)}` : ""}`, async () => {
      const scheduler = createScheduler(name, config);
      const type = (config.prediction_type as "epsilon" | "sample" | "v_prediction" | undefined) ?? "epsilon";
      const x = await sample(scheduler, optimalModel(scheduler, DATA, type), {
        numInferenceSteps: steps,
        shape: SHAPE,
        seed: 1,
        stepOptions,
      });
      expectMoments(x);
    });
  }

  for (const shift of [1, 3]) {
    it(`FlowMatchEulerDiscreteScheduler shift ${shift}, 400 steps`, async () => {
      const scheduler = createScheduler("FlowMatchEulerDiscreteScheduler", { shift });
      expectMoments(
        await sample(scheduler, optimalFlow(DATA), { numInferenceSteps: 400, shape: SHAPE, seed: 1 }),
      );
    });
  }

  it("CMStochasticIterativeScheduler with the exact consistency function, 4 steps", async () => {
    const scheduler = new CMStochasticIterativeScheduler({ clip_denoised: false });
    const { sigma_data: sd } = scheduler.config;
    // The exact consistency function of Gaussian data follows the PF-ODE to sigma = 0, which keeps
    // the standardised value: f(x, sigma) = mu + s (x - mu) / sqrt(s^2 + sigma^2). The model F is
    // what makes c_skip x + c_out F equal f; it sees x / sqrt(sigma^2 + sigma_data^2) and 250 log sigma.
    const model = (xIn: T.Tensor, t: number) => {
      const sigma = Math.exp(t / 250);
      const x = T.mul(xIn, Math.sqrt(sigma ** 2 + sd ** 2));
      const f = T.add(T.mul(T.sub(x, DATA.mu), DATA.s / Math.sqrt(DATA.s ** 2 + sigma ** 2)), DATA.mu);
      const { cSkip, cOut } = scheduler.scalings(sigma);
      return T.div(T.sub(f, T.mul(x, cSkip)), cOut);
    };
    expectMoments(await sample(scheduler, model, { numInferenceSteps: 4, shape: SHAPE, seed: 1 }));
  });
});
