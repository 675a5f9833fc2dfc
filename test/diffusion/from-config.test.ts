/** schedulerFromConfig behaves like diffusers' from_config: foreign fields dropped, unknown ones warned. */
import { afterEach, describe, expect, it } from "vitest";
import {
  compatibleSchedulers,
  KARRAS_COMPATIBLE,
  schedulerConfigKeys,
  schedulerFromConfig,
} from "../../src/diffusion/from-config.js";
import { createScheduler } from "../../src/diffusion/registry.js";
import { DDPMScheduler } from "../../src/diffusion/schedulers/ddpm.js";
import { TRAIN_DEFAULTS, type TrainConfig } from "../../src/train/config.js";
import { schedulerConfigFor } from "../../src/train/trainer.js";
import { setWarn } from "../../src/util/warn.js";

const ALL = [
  ...KARRAS_COMPATIBLE,
  "DDIMInverseScheduler",
  "FlowMatchEulerDiscreteScheduler",
  "CMStochasticIterativeScheduler",
];

/** A saved DDPMScheduler config as `diffuse train` writes it (variance_type "fixed_small"). */
const savedDDPM = new DDPMScheduler({ beta_schedule: "squaredcos_cap_v2", clip_sample: false }).toJSON();

afterEach(() => setWarn(null));

function collect(): string[] {
  const got: string[] = [];
  setWarn((m) => got.push(m));
  return got;
}

describe("schedulerFromConfig", () => {
  it("builds DPMSolverMultistepScheduler from a saved DDPM config (variance_type fixed_small)", () => {
    const warnings = collect();
    const s = schedulerFromConfig("DPMSolverMultistepScheduler", savedDDPM);
    expect(s.className).toBe("DPMSolverMultistepScheduler");
    expect(s.config.beta_schedule).toBe("squaredcos_cap_v2");
    expect(warnings).toEqual([]);
    // And createScheduler accepts it too (diffusers takes any variance_type for DPM-Solver).
    expect(() =>
      createScheduler("DPMSolverMultistepScheduler", { variance_type: "fixed_small" }),
    ).not.toThrow();
  });

  it("every compatible class loads every other compatible class's saved config without a warning", () => {
    for (const from of ALL) {
      const json = createScheduler(from).toJSON();
      for (const to of compatibleSchedulers(from)) {
        const warnings = collect();
        const s = schedulerFromConfig(to, json);
        expect(s.className).toBe(to);
        expect(warnings, `${from} -> ${to}`).toEqual([]);
      }
    }
  });

  it("keeps the fields the target knows and drops the rest", () => {
    collect();
    const s = schedulerFromConfig("EulerDiscreteScheduler", { ...savedDDPM, num_train_timesteps: 500 });
    expect(s.config.num_train_timesteps).toBe(500);
    expect(Object.hasOwn(s.config, "variance_type")).toBe(false);
    expect(Object.hasOwn(s.config, "clip_sample")).toBe(false);
  });

  it("warns once about unexpected fields, with diffusers' wording and a did-you-mean", () => {
    const warnings = collect();
    schedulerFromConfig("DDIMScheduler", { clip_smaple: false, foo: 1 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /The config attributes .*clip_smaple.* were passed to DDIMScheduler, but are not expected and will be ignored/,
    );
    expect(warnings[0]).toMatch(/clip_smaple: did you mean "clip_sample"/);
  });

  it("warns where diffusers warns: a Karras field passed to a flow-matching scheduler", () => {
    const warnings = collect();
    schedulerFromConfig("FlowMatchEulerDiscreteScheduler", { clip_sample: true });
    expect(warnings.join("\n")).toMatch(/clip_sample/);
  });

  it("takes an injected warn function and overrides (diffusers' kwargs)", () => {
    const mine: string[] = [];
    const s = schedulerFromConfig("DDIMScheduler", savedDDPM, {
      overrides: { timestep_spacing: "trailing", bogus: 1 },
      warn: (m) => mine.push(m),
    });
    expect(s.config.timestep_spacing).toBe("trailing");
    expect(mine.join("\n")).toMatch(/bogus/);
  });

  it("drops fields listed in _use_default_values", () => {
    collect();
    const s = schedulerFromConfig("DDIMScheduler", { beta_end: 0.05, _use_default_values: ["beta_end"] });
    expect(s.config.beta_end).toBe(0.02);
  });

  it("the CLI's dpmsolver++ is a registry name too", () => {
    expect(createScheduler("dpmsolver++").className).toBe("DPMSolverMultistepScheduler");
    expect(schedulerFromConfig("dpmsolver++", savedDDPM, { warn: () => {} }).config.algorithm_type).toBe(
      "dpmsolver++",
    );
  });

  it("names the closest scheduler for a misspelled class", () => {
    expect(() => schedulerFromConfig("DDIMSchedular", {})).toThrow(/did you mean "DDIMScheduler"/);
  });

  it("the train command's saved config loads into every Karras class silently", () => {
    const warnings = collect();
    const cfg = schedulerConfigFor(
      { ...TRAIN_DEFAULTS, numTrainTimesteps: 1000, betaSchedule: "squaredcos_cap_v2" } as TrainConfig,
      false,
    );
    for (const to of KARRAS_COMPATIBLE) schedulerFromConfig(to, cfg);
    expect(warnings).toEqual([]);
    expect(schedulerConfigKeys("DDPMScheduler").has("variance_type")).toBe(true);
  });
});

describe("scheduler constructors warn about unknown fields", () => {
  it("clip_smaple warns naming clip_sample; _private fields are silent", () => {
    const warnings = collect();
    createScheduler("DDPMScheduler", { clip_smaple: false, _diffusers_version: "0.30.3" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"clip_smaple" is not expected and is ignored; did you mean "clip_sample"/);
  });
});
