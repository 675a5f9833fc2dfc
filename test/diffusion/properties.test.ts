/**
 * Properties that tie the samplers together: DDIM(eta = 0) is first-order DPM-Solver on the same
 * timesteps, DDIM(eta = 1) is DDPM's posterior step, the step to sigma = 0 returns x0-hat, the
 * functional samplers equal the scheduler classes, DDIM inversion round-trips, a scheduler saved to
 * JSON and loaded steps identically, and the same seed gives the same samples.
 */
import { describe, expect, it } from "vitest";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { createScheduler, schedulerFromJSON } from "../../src/diffusion/registry.js";
import { sample } from "../../src/diffusion/sample.js";
import {
  sampleDpmSolverPP2M,
  sampleEuler,
  sampleEulerAncestral,
  sampleHeun,
  vpModelDenoiser,
} from "../../src/diffusion/samplers/k-samplers.js";
import type { Scheduler } from "../../src/diffusion/scheduler.js";
import { DDIMInverseScheduler, DDIMScheduler } from "../../src/diffusion/schedulers/ddim.js";
import { DDPMScheduler } from "../../src/diffusion/schedulers/ddpm.js";
import type { VeConfig, VeScheduler } from "../../src/diffusion/schedulers/ve-base.js";
import { toyModel } from "../../src/golden/kinds/sampler-trajectories.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";
import { abarAt, type Gaussian, optimal, optimalModel } from "./gaussian.js";

const DATA: Gaussian = { mu: 0.3, s: 0.5 };
const SHAPE = [2, 3, 4];

/** The sample after every step. */
async function trajectory(
  scheduler: Scheduler,
  model: (x: T.Tensor, t: number) => T.Tensor,
  n: number,
  seed = 1,
  stepOptions = {},
) {
  const steps: Float32Array[] = [];
  await sample(scheduler, model, {
    numInferenceSteps: n,
    shape: SHAPE,
    seed,
    stepOptions,
    onStep: ({ sample: x }) => steps.push(Float32Array.from(x.values())),
  });
  return steps;
}

describe("equivalences between samplers", () => {
  it("DDIM with eta = 0 equals first-order DPM-Solver++ on the same timesteps", async () => {
    const ddim = createScheduler("DDIMScheduler", { timestep_spacing: "trailing", clip_sample: false });
    const dpm = createScheduler("DPMSolverMultistepScheduler", {
      timestep_spacing: "trailing",
      solver_order: 1,
    });
    const a = await trajectory(ddim, optimalModel(ddim, DATA), 10);
    const b = await trajectory(dpm, optimalModel(dpm, DATA), 10);
    expect(Array.from(ddim.timesteps)).toEqual(Array.from(dpm.timesteps));
    for (const [i, x] of a.entries()) expectClose(x, b[i], 1e-4, 1e-5, `step ${i}`);
  });

  it("DDIM with eta = 1 takes DDPM's posterior step (fixed_small)", async () => {
    const ddim = createScheduler("DDIMScheduler", { clip_sample: false });
    const ddpm = createScheduler("DDPMScheduler", { clip_sample: false });
    const a = await trajectory(ddim, toyModel, 20, 7, { eta: 1 });
    const b = await trajectory(ddpm, toyModel, 20, 7);
    for (const [i, x] of a.entries()) expectClose(x, b[i], 1e-4, 1e-5, `step ${i}`);
  });

  it("DDPM learned_range with v = -1 is fixed_small and with v = +1 is fixed_large", async () => {
    for (const [v, fixed] of [
      [-1, "fixed_small"],
      [1, "fixed_large"],
    ] as const) {
      const learned = new DDPMScheduler({ variance_type: "learned_range", clip_sample: false });
      const model = (x: T.Tensor, t: number) => T.concat([toyModel(x, t), T.full(x.shape, v)], 1);
      const a = await trajectory(learned, model, 10);
      const b = await trajectory(
        new DDPMScheduler({ variance_type: fixed, clip_sample: false }),
        toyModel,
        10,
      );
      for (const [i, x] of a.entries()) expectClose(x, b[i], 1e-4, 1e-5, `${fixed} step ${i}`);
    }
  });
});

describe("the step to sigma = 0 returns x0-hat", () => {
  for (const [name, config] of [
    ["EulerDiscreteScheduler", {}],
    ["DDIMScheduler", { clip_sample: false, timestep_spacing: "trailing" }],
    ["DPMSolverMultistepScheduler", {}],
    ["UniPCMultistepScheduler", {}],
    ["HeunDiscreteScheduler", {}],
  ] as const) {
    it(name, async () => {
      const scheduler = createScheduler(name, config);
      let last: { x: T.Tensor; t: number } | null = null;
      let expected: T.Tensor | null = null;
      const model = (xIn: T.Tensor, t: number) => {
        last = { x: xIn, t };
        return optimal(xIn, abarAt(scheduler, t), DATA);
      };
      const x = await sample(scheduler, model, {
        numInferenceSteps: 8,
        shape: SHAPE,
        seed: 3,
        // x0-hat of the model's input at the last step (the exact model's E[x0 | x_t]).
        onStep: ({ index, total }) => {
          if (index === total - 1 && last)
            expected = optimal(last.x, abarAt(scheduler, last.t), DATA, "sample");
        },
      });
      expectClose(x.values(), (expected as unknown as T.Tensor).values(), 1e-5, 1e-6, name);
    });
  }
});

describe("functional samplers equal the scheduler classes", () => {
  const cases = [
    ["EulerDiscreteScheduler", sampleEuler],
    ["HeunDiscreteScheduler", sampleHeun],
    ["DPMSolverMultistepScheduler", sampleDpmSolverPP2M],
  ] as const;
  for (const [name, fn] of cases) {
    it(name, async () => {
      const scheduler = createScheduler(
        name,
        name === "DPMSolverMultistepScheduler" ? { timestep_spacing: "linspace" } : {},
      );
      const xT = rand(5, SHAPE);
      const want = await sample(scheduler, toyModel, { numInferenceSteps: 12, xT });
      const ve = scheduler as unknown as VeScheduler<VeConfig>;
      const sigmas = name === "HeunDiscreteScheduler" ? uniqueSigmas(ve.sigmas) : ve.sigmas;
      const denoise = vpModelDenoiser(toyModel, ve.alphasCumprod);
      const sigma0 = name === "DPMSolverMultistepScheduler" ? 1 : scheduler.initNoiseSigma;
      // The DPM scheduler starts from the VP x_T; the functional form works in the VE scale x = x_T / alpha.
      const start =
        name === "DPMSolverMultistepScheduler" ? T.mul(xT, Math.sqrt(1 + sigmas[0] ** 2)) : T.mul(xT, sigma0);
      const got = await fn(denoise, start, sigmas);
      expectClose(got.values(), want.values(), 1e-3, 1e-4, name);
    });
  }

  it("EulerAncestralDiscreteScheduler", async () => {
    const scheduler = createScheduler("EulerAncestralDiscreteScheduler");
    const xT = rand(6, SHAPE);
    const want = await sample(scheduler, toyModel, { numInferenceSteps: 12, xT, noise: gaussianNoise(9) });
    const ve = scheduler as unknown as VeScheduler<VeConfig>;
    const got = await sampleEulerAncestral(
      vpModelDenoiser(toyModel, ve.alphasCumprod),
      T.mul(xT, scheduler.initNoiseSigma),
      ve.sigmas,
      {
        noise: gaussianNoise(9),
      },
    );
    expectClose(got.values(), want.values(), 1e-3, 1e-4, "euler ancestral");
  });
});

/** Heun's repeated sigmas [s0, s1, s1, ..., 0] back to [s0, s1, ..., 0]. */
function uniqueSigmas(s: Float64Array): Float64Array {
  return Float64Array.from(s.filter((v, i) => i === 0 || v !== s[i - 1]));
}

describe("DDIM inversion", () => {
  /** Largest |x0 - sample(invert(x0))| over the elements, with n steps each way. */
  async function roundTripError(x0: T.Tensor, n: number): Promise<{ error: number; latent: T.Tensor }> {
    const inverse = new DDIMInverseScheduler({ clip_sample: false });
    const latent = await sample(inverse, optimalModel(inverse, DATA), { numInferenceSteps: n, xT: x0 });
    const forward = new DDIMScheduler({ clip_sample: false });
    const back = (
      await sample(forward, optimalModel(forward, DATA), { numInferenceSteps: n, xT: latent })
    ).values();
    const start = x0.values();
    return { error: Math.max(...Array.from(start, (v, i) => Math.abs(v - back[i]))), latent };
  }

  it("inverting data to noise and sampling back returns the start, with first-order error", async () => {
    const x0 = T.add(T.mul(rand(11, [2, 500]), DATA.s), DATA.mu);
    // Inversion evaluates eps at the far end of each step, so the round trip is exact only as
    // n -> infinity, with error O(1/n) (about 2.2 / n here): 1000 steps leave about 2e-3, and
    // quadrupling the steps divides the error by about 4.
    const fine = await roundTripError(x0, 1000);
    const coarse = await roundTripError(x0, 250);
    expect(fine.error).toBeLessThan(3e-3);
    expect(coarse.error / fine.error).toBeGreaterThan(3);
    // For this model the PF-ODE is affine: x_t = sqrt(a) mu + sqrt(a s^2 + 1 - a) (x0 - mu) / s, so the
    // latent at t = 999 is nearly the standardised data (a = abar_999 ~ 4e-5).
    const a = new DDIMScheduler().alphasCumprod[999];
    const latent = T.add(
      T.mul(T.sub(x0, DATA.mu), Math.sqrt(a * DATA.s ** 2 + 1 - a) / DATA.s),
      Math.sqrt(a) * DATA.mu,
    );
    expectClose(fine.latent.values(), latent.values(), 0, 1e-2, "latent");
  });
});

describe("scheduler_config.json round trip", () => {
  const configs: [string, Record<string, unknown>][] = [
    ["DDPMScheduler", { variance_type: "fixed_large", beta_schedule: "scaled_linear", clip_sample: false }],
    [
      "DDIMScheduler",
      { timestep_spacing: "trailing", prediction_type: "v_prediction", set_alpha_to_one: false },
    ],
    ["DDIMInverseScheduler", { steps_offset: 1 }],
    ["PNDMScheduler", { skip_prk_steps: true }],
    ["LMSDiscreteScheduler", { use_karras_sigmas: true }],
    ["EulerDiscreteScheduler", { use_karras_sigmas: true, timestep_spacing: "trailing" }],
    ["EulerAncestralDiscreteScheduler", { beta_schedule: "squaredcos_cap_v2" }],
    ["HeunDiscreteScheduler", { use_karras_sigmas: true }],
    ["DPMSolverMultistepScheduler", { solver_order: 3, lambda_min_clipped: -5.1 }],
    ["DPMSolverMultistepScheduler", { algorithm_type: "sde-dpmsolver++" }],
    ["DPMSolverSinglestepScheduler", { solver_order: 3 }],
    ["UniPCMultistepScheduler", { solver_type: "bh1", disable_corrector: [0] }],
    ["FlowMatchEulerDiscreteScheduler", { shift: 3 }],
    ["CMStochasticIterativeScheduler", { clip_denoised: false }],
  ];
  for (const [name, config] of configs) {
    it(`${name} ${JSON.stringify(config)}`, async () => {
      const a = createScheduler(name, config);
      const json = JSON.parse(JSON.stringify(a.toJSON()));
      expect(json._class_name).toBe(name);
      expect(json._diffusers_version).toBe("0.30.3");
      const b = schedulerFromJSON(json);
      expect(b.config).toEqual(a.config);
      const ta = await trajectory(a, toyModel, 4, 2);
      const tb = await trajectory(b, toyModel, 4, 2);
      expect(tb).toEqual(ta);
    });
  }
});

describe("randomness", () => {
  it("the same seed gives the same samples, another seed others", async () => {
    const run = (seed: number) =>
      sample(createScheduler("EulerAncestralDiscreteScheduler"), toyModel, {
        numInferenceSteps: 6,
        shape: SHAPE,
        seed,
      });
    const [a, b, c] = [await run(4), await run(4), await run(5)];
    expect(b.toArray()).toEqual(a.toArray());
    expect(c.toArray()).not.toEqual(a.toArray());
  });

  it("an explicit gaussianNoise(seed) source equals the seed option", async () => {
    const run = (options: object) =>
      sample(createScheduler("DDPMScheduler"), toyModel, { numInferenceSteps: 5, shape: SHAPE, ...options });
    expect((await run({ noise: gaussianNoise(8) })).toArray()).toEqual((await run({ seed: 8 })).toArray());
  });
});
