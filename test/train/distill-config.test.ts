/**
 * The few-step settings (the `distill` field) and the consistency student's step grid: bad values are
 * refused naming the field, the value and the bound; the step indices descend from the grid's top.
 */
import { describe, expect, it } from "vitest";
import { consistencyStepIndices } from "../../src/diffusion/consistency-grid.js";
import { checkConsistencySteps } from "../../src/pipelines/consistency-generate.js";
import { resolveTrainConfig } from "../../src/train/config.js";
import { defaultMaxTimestep, resolveDistillSettings } from "../../src/train/distill-config.js";
import { getPreset } from "../../src/train/presets.js";

describe("distill settings", () => {
  it("fills the defaults (top of the grid at 0.95 T, pairs under <out>/pairs)", () => {
    const s = resolveDistillSettings({ teacher: "t" }, 1000, "runs/x");
    expect(s.maxTimestep).toBe(defaultMaxTimestep(1000));
    expect(s.maxTimestep).toBe(950);
    expect(s.pairsDir).toBe("runs/x/pairs");
    expect(s.target).toBe("online");
  });

  it("refuses unknown fields and bad values, naming them", () => {
    expect(() => resolveDistillSettings({ scales: 4 }, 1000, "o")).toThrow(/unknown field "distill.scales"/);
    expect(() => resolveDistillSettings({ numScales: 1 }, 1000, "o")).toThrow(
      /field "distill.numScales" is 1; expected an integer >= 2/,
    );
    expect(() => resolveDistillSettings({ stage: 3 }, 1000, "o")).toThrow(
      /field "distill.stage" is 3; expected one of 1, 2/,
    );
    expect(() => resolveDistillSettings({ maxTimestep: 1000 }, 1000, "o")).toThrow(
      /field "distill.maxTimestep" is 1000 but "numTrainTimesteps" is 1000; expected maxTimestep <= 999/,
    );
    expect(() => resolveDistillSettings({ numScales: 30, maxTimestep: 20 }, 1000, "o")).toThrow(
      /field "distill.numScales" is 30 but "distill.maxTimestep" is 20; expected numScales <= 21/,
    );
  });

  it("is refused on the objectives that do not use it; consistency training defaults to x0 prediction", () => {
    const preset = () => getPreset("mlp");
    expect(() => resolveTrainConfig({ objective: "diffusion", distill: { numScales: 4 } }, preset)).toThrow(
      /field "distill" is \{"numScales":4\} but "objective" is "diffusion"/,
    );
    const { config } = resolveTrainConfig({ objective: "consistency" }, preset);
    expect(config.predictionType).toBe("sample");
    expect(config.weighting).toBe("none");
    expect(config.sampler).toBe("consistency");
  });
});

describe("consistency student steps", () => {
  it("descend from the top of the grid, evenly spaced", () => {
    expect(consistencyStepIndices(18, 1)).toEqual([17]);
    expect(consistencyStepIndices(18, 2)).toEqual([17, 9]);
    expect(consistencyStepIndices(18, 4)).toEqual([17, 13, 9, 4]);
    const all = consistencyStepIndices(18, 17);
    expect(all).toEqual(Array.from({ length: 17 }, (_, i) => 17 - i));
  });

  it("beyond the grid are refused, naming the folder's field", () => {
    const info = { numScales: 18, maxTimestep: 950, sigmaData: 0.5 };
    expect(() => checkConsistencySteps(17, info)).not.toThrow();
    expect(() => checkConsistencySteps(18, info)).toThrow(
      /steps: 18 but .* "_diffuse.consistency.numScales" = 18\); expected 1 to 17 steps/,
    );
  });
});
