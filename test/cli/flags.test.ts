/** Flag tables of train and sample: the tutorial's schedules and the sampler settings parse. */
import { describe, expect, it } from "vitest";
import { parseFlags } from "../../src/cli/args.js";
import { SAMPLE_COMMAND } from "../../src/cli/sample.js";
import { TRAIN_COMMAND } from "../../src/cli/train.js";
import { BETA_SCHEDULES } from "../../src/diffusion/schedules.js";
import { checkTrainConfigFields } from "../../src/train/config.js";

describe("train --beta-schedule", () => {
  it("takes every schedule of diffusion/schedules.ts, the tutorial's included", () => {
    for (const name of ["tutorial_cosine", "tutorial_sigmoid", "sigmoid", ...BETA_SCHEDULES]) {
      const { values } = parseFlags(TRAIN_COMMAND, ["--beta-schedule", name]);
      expect(values.betaSchedule).toBe(name);
      expect(() => checkTrainConfigFields({ betaSchedule: name })).not.toThrow();
    }
  });
});

describe("sample flags", () => {
  it("parse --eta, --variance-type, --timestep-spacing, --snr", () => {
    const { values } = parseFlags(SAMPLE_COMMAND, [
      ...["--eta", "0.5", "--variance-type", "fixed_large", "--timestep-spacing", "trailing", "--snr", "0.2"],
    ]);
    expect(values).toMatchObject({
      eta: 0.5,
      varianceType: "fixed_large",
      timestepSpacing: "trailing",
      snr: 0.2,
    });
  });

  it("help lists every sampler", () => {
    const { help } = parseFlags(SAMPLE_COMMAND, ["--help"]);
    expect(help).toBe(true);
    expect(SAMPLE_COMMAND.epilog).toMatch(/reverse_sde[\s\S]*pc[\s\S]*pf_ode/);
  });
});
