/**
 * The per-step hook and x0Transform of `sample()` on several schedulers: call order and info, noise
 * levels (the level after step i is the level the model sees at step i + 1, and the one the model is
 * trained at), replacement keeping known entries bit for bit, and x0-hat projection.
 */
import { describe, expect, it } from "vitest";
import type { HookInfo } from "../../../src/diffusion/constraints/hook.js";
import { levelBeforeStep } from "../../../src/diffusion/constraints/levels.js";
import { replacement } from "../../../src/diffusion/constraints/replace.js";
import { gaussianNoise } from "../../../src/diffusion/noise.js";
import { createScheduler } from "../../../src/diffusion/registry.js";
import { sample } from "../../../src/diffusion/sample.js";
import { sampleReverseSde } from "../../../src/diffusion/samplers/sde.js";
import { vpSdeFromAlphasCumprod } from "../../../src/diffusion/samplers/vp-sde.js";
import { alphasCumprod, betasFor } from "../../../src/diffusion/schedules.js";
import * as T from "../../../src/tensor/index.js";
import { rand } from "../../helpers.js";
import { abarAt, type Gaussian, optimalModel } from "../gaussian.js";

const DATA: Gaussian = { mu: 0.3, s: 0.5 };
const SHAPE = [2, 1, 4, 4];

const SCHEDULERS: [string, Record<string, unknown>, Record<string, unknown>?][] = [
  ["DDPMScheduler", { clip_sample: false }],
  ["DDIMScheduler", { clip_sample: false }],
  [
    "DDIMScheduler",
    { clip_sample: false, set_alpha_to_one: false, timestep_spacing: "trailing" },
    { eta: 1 },
  ],
  ["EulerDiscreteScheduler", {}],
  ["EulerDiscreteScheduler", { use_karras_sigmas: true }],
  ["EulerAncestralDiscreteScheduler", {}],
  ["HeunDiscreteScheduler", {}],
  ["LMSDiscreteScheduler", {}],
  ["DPMSolverMultistepScheduler", {}],
  ["DPMSolverMultistepScheduler", { algorithm_type: "sde-dpmsolver++" }],
  ["DPMSolverSinglestepScheduler", {}],
  ["UniPCMultistepScheduler", {}],
  ["PNDMScheduler", { skip_prk_steps: true }],
];

async function run(name: string, config: Record<string, unknown>, stepOptions = {}, steps = 8) {
  const s = createScheduler(name, config);
  const infos: HookInfo[] = [];
  const known = rand(5, SHAPE);
  const mask = T.tensor(
    Float32Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 1 : 0)),
    [1, 1, 4, 4],
  );
  const replace = replacement(known, mask);
  const out = await sample(s, optimalModel(s, DATA), {
    numInferenceSteps: steps,
    shape: SHAPE,
    seed: 3,
    stepOptions,
    hook: (x, info) => {
      infos.push(info);
      return replace(x, info);
    },
  });
  return { s, infos, out, known, mask };
}

describe("the step hook on every scheduler", () => {
  for (const [name, config, stepOptions] of SCHEDULERS) {
    it(`${name} ${JSON.stringify(config)}`, async () => {
      const { s, infos, out, known, mask } = await run(name, config, stepOptions);
      const ts = Array.from(s.timesteps);
      expect(infos.map((i) => i.index)).toEqual(ts.map((_, i) => i));
      expect(infos.map((i) => i.timestep)).toEqual(ts);
      expect(infos.map((i) => i.last)).toEqual(ts.map((_, i) => i === ts.length - 1));
      for (const info of infos) {
        const { alpha, sigma, scale } = info.level;
        expect(alpha * alpha + sigma * sigma).toBeCloseTo(1, 10);
        expect(scale).toBeGreaterThan(0);
      }
      // The level after step i is the level of the model input at step i + 1, which is the abar
      // the network sees at timestep t_{i+1} (independent derivation in gaussian.ts). PNDM's and
      // DDIM's grids are integer timesteps; Heun's second-order call shares its first's level.
      const fresh = createScheduler(name, config);
      fresh.setTimesteps(8);
      for (let i = 0; i + 1 < infos.length; i++) {
        const a = abarAt(fresh, ts[i + 1]!);
        expect(infos[i]!.level.alpha ** 2, `step ${i}`).toBeCloseTo(a, 5);
        expect(levelBeforeStep(fresh, i + 1, ts[i + 1]!).alpha ** 2).toBeCloseTo(a, 5);
      }
      // Known pixels come back bit for bit.
      const o = out.values();
      const k = known.values();
      const m = mask.values();
      let kept = 0;
      for (let i = 0; i < o.length; i++) {
        if (m[i % 16]) {
          expect(Object.is(o[i], k[i]), `entry ${i}`).toBe(true);
          kept++;
        }
      }
      expect(kept).toBe(16);
      // The generated entries are not the known values.
      let differ = 0;
      for (let i = 0; i < o.length; i++) if (!m[i % 16] && o[i] !== k[i]) differ++;
      expect(differ).toBe(16);
    });
  }

  it("the final level is clean for DDPM and alphas_cumprod[0] for DDIM with set_alpha_to_one = false", async () => {
    const ddpm = await run("DDPMScheduler", { clip_sample: false });
    expect(ddpm.infos.at(-1)!.level).toEqual({ alpha: 1, sigma: 0, scale: 1 });
    const ddim = await run("DDIMScheduler", { clip_sample: false, set_alpha_to_one: false });
    const abar0 = (ddim.s as unknown as { alphasCumprod: Float64Array }).alphasCumprod[0]!;
    expect(ddim.infos.at(-1)!.level.alpha ** 2).toBeCloseTo(abar0, 12);
    const euler = await run("EulerDiscreteScheduler", {});
    expect(euler.infos.at(-1)!.level).toEqual({ alpha: 1, sigma: 0, scale: 1 });
    // Euler keeps x = x0 + s eps: its scale is sqrt(1 + s^2) > 1 before the end.
    expect(euler.infos[0]!.level.scale).toBeGreaterThan(1);
  });

  it("a hook returning undefined leaves the samples as without a hook", async () => {
    const a = createScheduler("DDIMScheduler", { clip_sample: false });
    const b = createScheduler("DDIMScheduler", { clip_sample: false });
    let calls = 0;
    const x1 = await sample(a, optimalModel(a, DATA), { numInferenceSteps: 5, shape: SHAPE, seed: 1 });
    const x2 = await sample(b, optimalModel(b, DATA), {
      numInferenceSteps: 5,
      shape: SHAPE,
      seed: 1,
      hook: () => {
        calls++;
        return undefined;
      },
    });
    expect(calls).toBe(5);
    expect(Array.from(x2.values())).toEqual(Array.from(x1.values()));
  });

  it("predX0 is the scheduler's x0-hat where it gives one", async () => {
    const { infos } = await run("DDIMScheduler", { clip_sample: false });
    expect(infos.every((i) => i.predX0 !== undefined && i.predX0.shape.join() === SHAPE.join())).toBe(true);
  });
});

describe("schedulers without a known level", () => {
  it("DDIM inversion refuses a hook; consistency refuses an x0Transform", async () => {
    const inv = createScheduler("DDIMInverseScheduler", {});
    await expect(
      sample(inv, optimalModel(inv, DATA), { numInferenceSteps: 3, shape: SHAPE, hook: () => undefined }),
    ).rejects.toThrow(/noise level of DDIMInverseScheduler's samples is unknown/);
    const cm = createScheduler("CMStochasticIterativeScheduler", {});
    await expect(
      sample(cm, (x) => x, { numInferenceSteps: 2, shape: SHAPE, x0Transform: (x0) => x0 }),
    ).rejects.toThrow(/x0Transform is not supported with CMStochasticIterativeScheduler/);
  });
});

describe("x0Transform", () => {
  for (const [name, config] of [
    ["DDIMScheduler", { clip_sample: false }],
    ["DDIMScheduler", { clip_sample: false, prediction_type: "v_prediction" }],
    ["EulerDiscreteScheduler", {}],
    ["DPMSolverMultistepScheduler", { prediction_type: "sample" }],
  ] as const) {
    it(`clamping x0-hat to [0.25, 0.35] keeps the ${name} ${config.prediction_type ?? "epsilon"} samples there`, async () => {
      const s = createScheduler(name, config);
      const type = (config as { prediction_type?: "epsilon" }).prediction_type ?? "epsilon";
      const seen: number[] = [];
      const out = await sample(s, optimalModel(s, DATA, type), {
        numInferenceSteps: 10,
        shape: SHAPE,
        seed: 2,
        x0Transform: (x0, info) => {
          seen.push(info.index);
          return T.clip(x0, 0.25, 0.35);
        },
      });
      expect(seen).toEqual(Array.from(s.timesteps, (_, i) => i));
      for (const v of out.values()) {
        expect(v).toBeGreaterThanOrEqual(0.25 - 1e-4);
        expect(v).toBeLessThanOrEqual(0.35 + 1e-4);
      }
      // Without the transform the samples spread wider (s = 0.5).
      const free = await sample(createScheduler(name, config), optimalModel(s, DATA, type), {
        numInferenceSteps: 10,
        shape: SHAPE,
        seed: 2,
      });
      expect(Math.max(...free.values()) - Math.min(...free.values())).toBeGreaterThan(0.2);
    });
  }
});

describe("the reverse SDE's hook", () => {
  it("is called once per step with the time reached, and its replacement is kept", async () => {
    const abar = alphasCumprod(betasFor({ num_train_timesteps: 1000 } as never));
    const sde = vpSdeFromAlphasCumprod(abar);
    const times: number[] = [];
    const x = await sampleReverseSde((y) => T.mul(y, 0.5), sde, gaussianNoise(0)([1, 4]), {
      steps: 5,
      noise: gaussianNoise(1),
      hook: (y, i, t) => {
        times.push(t);
        return i === 4 ? T.full(y.shape, 7) : undefined;
      },
    });
    expect(times).toHaveLength(5);
    expect(times[4]).toBeCloseTo(1e-3, 12);
    expect(Array.from(x.values())).toEqual([7, 7, 7, 7]);
  });
});
