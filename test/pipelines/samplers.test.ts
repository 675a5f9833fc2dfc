/** Sampler names, specs and the samplers generate() reaches, on a tiny untrained MLP. */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createScheduler } from "../../src/diffusion/registry.js";
import { DDPMScheduler } from "../../src/diffusion/schedulers/ddpm.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { generate } from "../../src/pipelines/generate.js";
import { firstAlphaBar, warnTinyFirstAlphaBar } from "../../src/pipelines/safety.js";
import {
  canonicalSamplerName,
  checkSamplerSpec,
  createSchedulerByName,
  resolveSampler,
  SAMPLER_NAMES,
  SCHEDULER_SAMPLER_NAMES,
  samplerFamily,
} from "../../src/pipelines/samplers.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { TRAIN_DEFAULTS, type TrainConfig } from "../../src/train/config.js";
import { PRESETS } from "../../src/train/presets.js";
import { schedulerConfigFor } from "../../src/train/trainer.js";
import { setWarn } from "../../src/util/warn.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));
afterEach(() => setWarn(null));

const mlp = denoiserFromConfig(
  { _class_name: "MLPDenoiser", in_features: 2, hidden_size: 16, num_layers: 1 },
  makeKey(0),
);
const params = mlp.module.parameters();
/** What `diffuse train` saves for vector data. */
const vectorConfig = { ...new DDPMScheduler({ clip_sample: false }).toJSON() };

describe("sampler names", () => {
  it("CLI names, registry aliases and diffusers class names accept each other", () => {
    expect(canonicalSamplerName("DPMSolverMultistepScheduler")).toBe("dpmsolver++");
    expect(canonicalSamplerName("dpm_multistep")).toBe("dpmsolver++");
    expect(canonicalSamplerName("DDIMScheduler")).toBe("ddim");
    expect(canonicalSamplerName("EulerAncestralDiscreteScheduler")).toBe("euler_ancestral");
    expect(canonicalSamplerName("euler-ancestral")).toBe("euler_ancestral");
    expect(canonicalSamplerName("CMStochasticIterativeScheduler")).toBe("consistency");
    expect(canonicalSamplerName("FlowMatchEulerDiscreteScheduler")).toBe("flow_match_euler");
    expect(canonicalSamplerName("probability_flow")).toBe("pf_ode");
    for (const n of SAMPLER_NAMES) expect(canonicalSamplerName(n)).toBe(n);
    expect(() => canonicalSamplerName("dpmsolver+")).toThrow(/did you mean "dpmsolver\+\+"/);
  });

  it("every scheduler sampler builds from a saved DDPM config; the same class either way", () => {
    const { _class_name: _, ...unnamed } = vectorConfig;
    for (const n of SCHEDULER_SAMPLER_NAMES) {
      const warnings: string[] = [];
      // Flow matching and consistency refuse a DDPM model's config (next test); built from the bare fields here.
      const config = n === "flow_match_euler" || n === "consistency" ? unnamed : vectorConfig;
      const s = createSchedulerByName(n, config, { warn: (m) => warnings.push(m) });
      expect(createSchedulerByName(s.className, config, { warn: () => {} }).className).toBe(s.className);
      if (n !== "flow_match_euler" && n !== "consistency") expect(warnings, n).toEqual([]);
    }
    expect(() => createSchedulerByName("pf_ode", vectorConfig)).toThrow(/continuous-time sampler/);
  });

  it("a sampler of another family than the model's (flow matching, consistency on a DDPM model) is refused", () => {
    for (const n of ["flow_match_euler", "FlowMatchEulerDiscreteScheduler", "consistency"]) {
      expect(() => createSchedulerByName(n, vectorConfig)).toThrow(
        /this model was trained as a diffusion model/,
      );
    }
    const flow = { _class_name: "FlowMatchEulerDiscreteScheduler", num_train_timesteps: 1000 };
    expect(() => createSchedulerByName("ddim", flow)).toThrow(
      /sampler ddim: samples diffusion models, but this model was trained as a flow matching model.*use flow_match_euler/,
    );
    expect(createSchedulerByName("flow_match_euler", flow).className).toBe("FlowMatchEulerDiscreteScheduler");
  });

  it("every VP scheduler sampler runs on the model's noise schedule, not its class's default betas", () => {
    // Heun's own defaults are 0.00085..0.012 (diffusers'), the others' 0.0001..0.02: neither is this model's.
    const model = new DDPMScheduler({ clip_sample: false, beta_start: 0.0005, beta_end: 0.015 });
    const config = { ...model.toJSON() };
    for (const n of SCHEDULER_SAMPLER_NAMES) {
      if (n === "flow_match_euler" || n === "consistency") continue;
      const s = createSchedulerByName(n, config) as unknown as { alphasCumprod: Float64Array };
      expect(Array.from(s.alphasCumprod), n).toEqual(Array.from(model.alphasCumprod));
    }
  });

  it("settings belong to their sampler", () => {
    expect(() => checkSamplerSpec({ name: "dpmsolver++", eta: 1 })).toThrow(/eta applies only to ddim/);
    expect(() => checkSamplerSpec({ name: "ddim", varianceType: "fixed_large" })).toThrow(/only to ddpm/);
    expect(() => checkSamplerSpec({ name: "ddim", eta: -1 })).toThrow(/eta -1 is not a number >= 0/);
    expect(() => checkSamplerSpec({ name: "pc", snr: 0 })).toThrow(/snr 0 is not a number > 0/);
    const r = resolveSampler({ name: "ddpm", varianceType: "fixed_large" }, vectorConfig);
    expect(r.kind === "scheduler" && r.scheduler.config.variance_type).toBe("fixed_large");
    const d = resolveSampler({ name: "DDIMScheduler", eta: 0.5 }, vectorConfig);
    expect(d.kind === "scheduler" && d.stepOptions.eta).toBe(0.5);
  });
});

describe("generate with every sampler", () => {
  it("returns finite samples of the right shape and counts network evaluations", async () => {
    const nfes: Record<string, number> = {};
    for (const name of SAMPLER_NAMES) {
      if (samplerFamily(name) !== "diffusion") continue; // not for a DDPM model
      const r = await generate({
        denoiser: mlp,
        params,
        sampler: name,
        schedulerConfig: vectorConfig,
        steps: name === "pc" ? 25 : 4,
        numSamples: 3,
        seed: 1,
        warn: () => {},
      });
      expect(r.shape, name).toEqual([3, 2]);
      expect(r.samples.every(Number.isFinite), name).toBe(true);
      expect(r.sampler).toBe(name);
      nfes[name] = r.nfe;
    }
    expect(nfes.ddim).toBe(4);
    expect(nfes.heun).toBe(7); // 2n - 1
    expect(nfes.reverse_sde).toBe(4);
    expect(nfes.pc).toBe(50); // one corrector + one predictor evaluation per step
    expect(nfes.pf_ode).toBeGreaterThan(4); // adaptive: at least one RK45 step of 6 evaluations
  });

  it("pc with too few steps for its corrector says how many it needs", async () => {
    await expect(
      generate({
        denoiser: mlp,
        params,
        sampler: "pc",
        schedulerConfig: vectorConfig,
        steps: 4,
        numSamples: 1,
        seed: 0,
      }),
    ).rejects.toThrow(/steps 4 is not enough for the Langevin corrector.*use steps > 2\d/);
  });

  it("DDIM's eta changes the samples (eta 0 is deterministic DDIM)", async () => {
    const run = (eta: number) =>
      generate({
        denoiser: mlp,
        params,
        sampler: { name: "ddim", eta },
        schedulerConfig: vectorConfig,
        steps: 4,
        numSamples: 2,
        seed: 3,
      });
    const [a, b] = [await run(0), await run(1)];
    expect(Array.from(a.samples)).not.toEqual(Array.from(b.samples));
  });

  it("reports a model output whose shape does not match the sample", async () => {
    const bad = { ...mlp, forward: (_p: unknown, x: T.Tensor) => T.narrow(x, 1, 0, 1) };
    await expect(
      generate({
        denoiser: bad,
        params,
        sampler: "ddim",
        schedulerConfig: vectorConfig,
        steps: 2,
        numSamples: 2,
        seed: 0,
      }),
    ).rejects.toThrow(/model output shape \[2, 1\] does not match the sample's shape \[2, 2\]/);
  });
});

describe("safety warnings", () => {
  it("clip_sample on vector data warns", async () => {
    const warnings: string[] = [];
    await generate({
      denoiser: mlp,
      params,
      scheduler: createScheduler("ddim", {}), // diffusers' default clip_sample: true
      steps: 2,
      numSamples: 2,
      seed: 0,
      warn: (m) => warnings.push(m),
    });
    expect(warnings.join("\n")).toMatch(/clip_sample is on.*data are vectors.*"clip_sample": false/);
  });

  it("the MLP presets' saved scheduler configs sample with every sampler without a warning", async () => {
    for (const preset of PRESETS.filter((p) => p.model.kind === "mlp")) {
      const config = { ...TRAIN_DEFAULTS, ...preset.training } as TrainConfig;
      const saved = schedulerConfigFor(config, false); // what run-node saves for vector data
      expect(saved.clip_sample).toBe(false);
      for (const name of SAMPLER_NAMES.filter((n) => samplerFamily(n) === "diffusion")) {
        const warnings: string[] = [];
        const r = await generate({
          denoiser: mlp,
          params,
          sampler: name,
          schedulerConfig: saved,
          steps: name === "pc" ? 25 : config.samplerSteps,
          numSamples: 2,
          seed: 0,
          warn: (m) => warnings.push(m),
        });
        expect(warnings, `${preset.name} ${name}`).toEqual([]);
        expect(r.samples.every(Number.isFinite), `${preset.name} ${name}`).toBe(true);
      }
    }
  });

  it("the saved vector config does not warn with any scheduler sampler", async () => {
    for (const name of ["ddim", "dpmsolver++", "unipc", "pndm", "ddpm", "euler"]) {
      const warnings: string[] = [];
      await generate({
        denoiser: mlp,
        params,
        sampler: name,
        schedulerConfig: vectorConfig,
        steps: 20,
        numSamples: 1,
        seed: 0,
        warn: (m) => warnings.push(m),
      });
      expect(warnings, name).toEqual([]);
    }
  });

  it("DPM-Solver on a cosine schedule with linspace spacing warns and names the fix", () => {
    const s = createSchedulerByName("dpmsolver++", {
      beta_schedule: "squaredcos_cap_v2",
      timestep_spacing: "linspace",
    });
    s.setTimesteps(20);
    expect(firstAlphaBar(s)!).toBeLessThan(1e-6);
    const warnings: string[] = [];
    expect(warnTinyFirstAlphaBar(s, (m) => warnings.push(m))).toBe(true);
    expect(warnings[0]).toMatch(/first timestep 999 has alpha_bar = .*timestep_spacing "leading"/);
    // leading spacing starts at t = 950, alpha_bar ~ 6e-3: no warning.
    const ok = createSchedulerByName("dpmsolver++", { beta_schedule: "squaredcos_cap_v2" });
    ok.setTimesteps(20);
    expect(warnTinyFirstAlphaBar(ok, () => {})).toBe(false);
    // Every VP sampler amplifies the first step's error alike (Euler too); v_prediction does not warn.
    for (const name of ["euler", "ddim", "unipc"]) {
      const e = createSchedulerByName(name, {
        beta_schedule: "squaredcos_cap_v2",
        timestep_spacing: "linspace",
      });
      e.setTimesteps(20);
      expect(
        warnTinyFirstAlphaBar(e, () => {}),
        name,
      ).toBe(true);
    }
    const v = createSchedulerByName("ddim", {
      beta_schedule: "squaredcos_cap_v2",
      timestep_spacing: "linspace",
      prediction_type: "v_prediction",
    });
    v.setTimesteps(20);
    expect(warnTinyFirstAlphaBar(v, () => {})).toBe(false);
  });
});
