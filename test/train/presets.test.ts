import { describe, expect, it } from "vitest";
import { makeKey } from "../../src/random/index.js";
import { resolveTrainConfig, TRAIN_CONFIG_KEYS } from "../../src/train/config.js";
import {
  denoiserFromSpec,
  getPreset,
  modelSpecFor,
  PRESETS,
  presetForData,
} from "../../src/train/presets.js";

const DATA = {
  image: (shape: number[]) => ({ kind: "image" as const, shape }),
  vector: (dim: number) => ({ kind: "vector" as const, dim }),
};

describe("presets", () => {
  it("each builds its model for its data shape, with one extra class row when conditional", () => {
    for (const p of PRESETS) {
      const data = p.data.kind === "image" ? DATA.image(p.data.shape) : DATA.vector(2);
      const d = denoiserFromSpec(modelSpecFor(p, data, 10), makeKey(0));
      const example = p.data.kind === "image" ? p.data.shape : [2];
      expect(d.exampleShape, p.name).toEqual(example);
      expect(d.numClassEmbeds, p.name).toBe(p.classConditional ? 11 : null);
      expect(d.module.parameterCount(), p.name).toBeGreaterThan(1000);
    }
  });

  it("tutorial: the TutorialUNet, unconditional, channels and size from the data, overrides on top", () => {
    const p = getPreset("tutorial");
    const d = denoiserFromSpec(
      modelSpecFor(p, DATA.image([3, 32, 32]), undefined, { dropout: 0 }),
      makeKey(0),
    );
    expect(d.className).toBe("TutorialUNet");
    expect(d.exampleShape).toEqual([3, 32, 32]);
    expect(d.toConfig()).toMatchObject({ image_channels: 3, sample_size: 32, dropout: 0, base_channels: 32 });
    expect(() => getPreset("tutorial-cond")).toThrow(/unknown name "tutorial-cond"/);
  });

  it("picks a preset from the data shape", () => {
    expect(presetForData({ kind: "image", shape: [1, 28, 28] }, false).name).toBe("unet28");
    expect(presetForData({ kind: "image", shape: [3, 32, 32] }, true).name).toBe("unet32-cond");
    expect(presetForData({ kind: "image", shape: [4, 64, 64] }, false).name).toBe("unet64");
    expect(presetForData({ kind: "vector" }, true).name).toBe("mlp-cond");
  });

  it("takes channels, size and in_features from the data, and overrides from the caller", () => {
    const spec = modelSpecFor(getPreset("unet64"), DATA.image([4, 64, 64]), undefined, {
      layers_per_block: 1,
    });
    expect(spec.config).toMatchObject({
      in_channels: 4,
      out_channels: 4,
      sample_size: 64,
      layers_per_block: 1,
    });
    const mlp = modelSpecFor(getPreset("mlp"), DATA.vector(5), undefined);
    expect(mlp.config).toMatchObject({ in_features: 5 });
  });

  it("rejects mismatched data and unlabelled data for conditional presets", () => {
    expect(() => modelSpecFor(getPreset("unet28"), DATA.vector(2), undefined)).toThrow(/images/);
    expect(() => modelSpecFor(getPreset("unet28-cond"), DATA.image([1, 28, 28]), undefined)).toThrow(
      /labels/,
    );
    expect(() => getPreset("unet99")).toThrow(/unet28/);
  });
});

describe("resolveTrainConfig", () => {
  const fallback = () => getPreset("unet28");

  it("layers defaults, preset training values and the given fields", () => {
    const { config, preset } = resolveTrainConfig({ steps: 7, lr: 0.01 }, fallback);
    expect(preset.name).toBe("unet28");
    expect(config).toMatchObject({
      steps: 7,
      lr: 0.01,
      batchSize: preset.training.batchSize,
      preset: "unet28",
    });
    expect(config.warmupSteps).toBeLessThanOrEqual(7);
    expect(Object.keys(config).sort()).toEqual([...TRAIN_CONFIG_KEYS].sort());
  });

  it("switches to the class-conditional variant when asked", () => {
    expect(resolveTrainConfig({ preset: "unet28", classConditional: true }, fallback).preset.name).toBe(
      "unet28-cond",
    );
    expect(resolveTrainConfig({ preset: "mlp-cond", classConditional: false }, fallback).preset.name).toBe(
      "mlp",
    );
  });

  it("names the field, the value and what was expected", () => {
    expect(() => resolveTrainConfig({ steps: 0 }, fallback)).toThrow(
      /"steps" is 0; expected a positive integer/,
    );
    expect(() => resolveTrainConfig({ loss: "l3" } as never, fallback)).toThrow(
      /"loss" is "l3"; expected one of/,
    );
    expect(() => resolveTrainConfig({ stepz: 1 } as never, fallback)).toThrow(/unknown field "stepz"/);
  });
});
