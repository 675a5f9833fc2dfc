/** Bad input fails with a message naming the field, the value and what was expected. */
import { describe, expect, it } from "vitest";
import { addNoise } from "../../src/diffusion/forward.js";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { dynamicThreshold } from "../../src/diffusion/parametrization.js";
import { createScheduler, schedulerFromJSON } from "../../src/diffusion/registry.js";
import { sample } from "../../src/diffusion/sample.js";
import { sampleEuler } from "../../src/diffusion/samplers/k-samplers.js";
import { rk45 } from "../../src/diffusion/samplers/ode.js";
import { sampleReverseSde } from "../../src/diffusion/samplers/sde.js";
import { linearVpSde } from "../../src/diffusion/samplers/vp-sde.js";
import { CMStochasticIterativeScheduler } from "../../src/diffusion/schedulers/consistency.js";
import * as T from "../../src/tensor/index.js";

const x = T.zeros([1, 2, 2]);

describe("scheduler construction", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "DDIMScheduler",
      { prediction_type: "x0" },
      /^prediction_type "x0" is not one of epsilon, v_prediction, sample$/,
    ],
    [
      "DDIMScheduler",
      { beta_schedule: "cosine" },
      /^beta_schedule "cosine" is not one of linear, scaled_linear, squaredcos_cap_v2, sigmoid/,
    ],
    ["DDIMScheduler", { clip_sample: "yes" }, /^clip_sample "yes" is not a boolean/],
    [
      "DDIMScheduler",
      { timestep_spacing: "even" },
      /^timestep_spacing "even" is not one of leading, trailing, linspace$/,
    ],
    [
      "DDPMScheduler",
      { beta_start: 0.02, beta_end: 0.01 },
      /^beta_end 0.01 is not greater than beta_start \(0.02\)$/,
    ],
    [
      "DDPMScheduler",
      { variance_type: "fixed_large_log" },
      /^variance_type "fixed_large_log" is not usable for sampling/,
    ],
    [
      "DDPMScheduler",
      { num_train_timesteps: 0 },
      /^num_train_timesteps 0 is not an integer in \[1, 1000000\]$/,
    ],
    [
      "PNDMScheduler",
      { prediction_type: "sample" },
      /^prediction_type "sample" is not one of epsilon, v_prediction for PNDMScheduler$/,
    ],
    [
      "EulerAncestralDiscreteScheduler",
      { prediction_type: "sample" },
      /^prediction_type "sample" is not one of epsilon, v_prediction/,
    ],
    [
      "DPMSolverMultistepScheduler",
      { algorithm_type: "dpmsolver" },
      /^final_sigmas_type "zero" is not "sigma_min" for algorithm_type dpmsolver/,
    ],
    [
      "DPMSolverMultistepScheduler",
      { algorithm_type: "sde-dpmsolver++", solver_order: 3 },
      /^solver_order 3 is not 1 or 2 for algorithm_type sde-dpmsolver\+\+/,
    ],
    ["DPMSolverMultistepScheduler", { solver_order: 4 }, /^solver_order 4 is not an integer in \[1, 3\]$/],
    [
      "DPMSolverSinglestepScheduler",
      { algorithm_type: "sde-dpmsolver++" },
      /^algorithm_type "sde-dpmsolver\+\+" is not one of dpmsolver, dpmsolver\+\+$/,
    ],
    ["UniPCMultistepScheduler", { solver_type: "bh3" }, /^solver_type "bh3" is not one of bh1, bh2$/],
    [
      "DDIMInverseScheduler",
      { timestep_spacing: "linspace" },
      /^timestep_spacing "linspace" is not one of leading, trailing for DDIMInverseScheduler$/,
    ],
    [
      "FlowMatchEulerDiscreteScheduler",
      { use_dynamic_shifting: true },
      /^use_dynamic_shifting true is not false/,
    ],
    [
      "CMStochasticIterativeScheduler",
      { sigma_min: 90 },
      /^sigma_max 80 is not greater than sigma_min \(90\)$/,
    ],
  ];
  for (const [name, config, message] of cases) {
    it(`${name} ${JSON.stringify(config)}`, () => {
      expect(() => createScheduler(name, config)).toThrow(message);
    });
  }

  it("unknown scheduler names list the known ones", () => {
    expect(() => createScheduler("NoSuchScheduler")).toThrow(
      /^scheduler "NoSuchScheduler" is not one of DDPMScheduler, DDIMScheduler/,
    );
    expect(() => schedulerFromJSON({ beta_start: 0.1 })).toThrow(
      /^_class_name undefined is not a scheduler class name string$/,
    );
  });
});

describe("setTimesteps and step", () => {
  for (const n of [0, 1001, 2.5]) {
    it(`num_inference_steps ${n}`, () => {
      expect(() => createScheduler("EulerDiscreteScheduler").setTimesteps(n)).toThrow(
        `num_inference_steps ${n} is not an integer in [1, 1000] (num_train_timesteps = 1000)`,
      );
    });
  }

  it("step before setTimesteps", () => {
    expect(() => createScheduler("DDIMScheduler").step(x, 10, x)).toThrow(
      /^num_inference_steps null is not set: call setTimesteps/,
    );
  });

  it("a timestep outside the schedule", () => {
    const s = createScheduler("DDPMScheduler");
    s.setTimesteps(10);
    expect(() => s.step(x, 5, x)).toThrow(/^timestep 5 is not one of this scheduler's timesteps \[900, 800/);
  });

  it("a stochastic step without a noise source", () => {
    const s = createScheduler("DDPMScheduler");
    s.setTimesteps(10);
    expect(() => s.step(x, 900, x)).toThrow(
      /^noise undefined is not a NoiseSource .*DDPMScheduler.step draws noise/,
    );
  });

  it("epsilon prediction at zero terminal SNR (abar = 0) cannot give x0", () => {
    const s = createScheduler("DDIMScheduler", {
      rescale_betas_zero_snr: true,
      timestep_spacing: "trailing",
    });
    s.setTimesteps(10);
    expect(() => s.step(x, 999, x)).toThrow(/^prediction_type "epsilon" is not usable at alpha_t = 0/);
  });

  it("custom consistency-model timesteps must descend within the training range", () => {
    const s = new CMStochasticIterativeScheduler();
    expect(() => s.setTimesteps({ timesteps: [10, 20] })).toThrow(
      "timesteps[1] 20 is not below timesteps[0] (10): descending",
    );
    expect(() => s.setTimesteps({ timesteps: [40] })).toThrow("timesteps[0] 40 is not an integer in [0, 39]");
  });

  it("sample() without steps or shape", async () => {
    await expect(sample(createScheduler("DDIMScheduler"), (y) => y)).rejects.toThrow(
      /^numInferenceSteps undefined is not given/,
    );
    await expect(
      sample(createScheduler("DDIMScheduler"), (y) => y, { numInferenceSteps: 2 }),
    ).rejects.toThrow(/^shape undefined is not an array of dimensions/);
  });
});

describe("functions", () => {
  it("addNoise: timesteps per batch element and in range", () => {
    const abar = [0.9, 0.5];
    expect(() => addNoise(x, x, [0, 1], abar)).toThrow(
      "timesteps has 2 entries, expected one per batch element (1)",
    );
    expect(() => addNoise(x, x, [2], abar)).toThrow("timesteps 2 is not an integer timestep in [0, 1]");
    expect(() => addNoise(x, T.zeros([1, 4]), [0], abar)).toThrow(
      `noise.shape "[1, 4]" is not equal to x0.shape [1, 2, 2]`,
    );
  });

  it("dynamic thresholding needs a batch axis and a valid ratio", () => {
    expect(() => dynamicThreshold(T.zeros([4]), 0.9, 1)).toThrow(
      /^sample.shape "\[4\]" is not a batch of at least 2 axes/,
    );
    expect(() => dynamicThreshold(x, 1.5, 1)).toThrow(
      "dynamic_thresholding_ratio 1.5 is not a number in (0, 1]",
    );
  });

  it("functional samplers need descending sigmas", async () => {
    await expect(sampleEuler((y) => y, x, [1, 2, 0])).rejects.toThrow(
      "sigmas[1] 2 is not below sigmas[0] (1)",
    );
  });

  it("continuous-time samplers check steps, end time and tolerances", async () => {
    const sde = linearVpSde();
    const eps = (y: T.Tensor) => y;
    await expect(sampleReverseSde(eps, sde, x, { steps: 0, noise: gaussianNoise(0) })).rejects.toThrow(
      "steps 0 is not an integer >= 1",
    );
    await expect(
      sampleReverseSde(eps, sde, x, { steps: 2, noise: gaussianNoise(0), tEnd: 1 }),
    ).rejects.toThrow("tEnd 1 is not a time in (0, 1)");
    await expect(rk45((_t, y) => y, x, 0, 1, { rtol: 0 })).rejects.toThrow("rtol 0 is not a number > 0");
    expect(() => linearVpSde(1, 0.5)).toThrow("betaMax 0.5 is not greater than betaMin (1) > 0");
  });
});

describe("the sampling loop", () => {
  it("reports a model output whose shape differs from the sample's", async () => {
    const s = createScheduler("DDIMScheduler");
    const wrong = (x: T.Tensor) => T.concat([x, x], 0); // [2, 2, 2] for a [1, 2, 2] sample
    await expect(sample(s, wrong, { numInferenceSteps: 2, shape: [1, 2, 2] })).rejects.toThrow(
      /model output shape \[2, 2, 2\] does not match the sample's shape \[1, 2, 2\] at timestep \d+/,
    );
  });

  it("accepts twice the channels (a learned variance)", async () => {
    const s = createScheduler("DDPMScheduler", { variance_type: "learned_range" });
    const twice = (x: T.Tensor) => T.concat([T.zerosLike(x), T.zerosLike(x)], 1);
    const out = await sample(s, twice, { numInferenceSteps: 2, shape: [1, 2, 2] });
    expect(out.shape).toEqual([1, 2, 2]);
  });
});
