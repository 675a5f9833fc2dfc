/** Unknown keys in model configs: a saved config.json warns, a config the user typed fails. */
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/models/config-fields.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { parseMLPDenoiserConfig } from "../../src/models/mlp-denoiser.js";
import { parseUNet2DConfig } from "../../src/models/unet2d-config.js";
import { getPreset, modelSpecFor } from "../../src/train/presets.js";
import { setWarn } from "../../src/util/warn.js";

afterEach(() => setWarn(null));

const collect = () => {
  const got: string[] = [];
  setWarn((m) => got.push(m));
  return got;
};

const unet = {
  _class_name: "UNet2DModel",
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  down_block_types: ["DownBlock2D"],
  up_block_types: ["UpBlock2D"],
  block_out_channels: [32],
};

describe("model config keys", () => {
  it("a saved MLP config with hiden_size loads with a warning naming hidden_size", () => {
    const warnings = collect();
    const c = parseMLPDenoiserConfig({ _class_name: "MLPDenoiser", in_features: 2, hiden_size: 8 });
    expect(c.hidden_size).toBe(128);
    expect(warnings).toEqual([
      'MLPDenoiser config: unknown field "hiden_size" (did you mean "hidden_size"?) ignored',
    ]);
  });

  it("a saved UNet config warns too, through denoiserFromConfig", () => {
    const warnings = collect();
    denoiserFromConfig({ ...unet, layers_per_blok: 1 });
    expect(warnings.join("\n")).toMatch(
      /UNet2DModel config: unknown field "layers_per_blok" \(did you mean "layers_per_block"\?\)/,
    );
  });

  it("diffusers' own UNet fields at their defaults load silently; other values fail", () => {
    const warnings = collect();
    parseUNet2DConfig({
      ...unet,
      time_embedding_dim: null,
      mid_block_type: "UNetMidBlock2D",
      _diffusers_version: "0.30.3",
    });
    expect(warnings).toEqual([]);
    expect(() => parseUNet2DConfig({ ...unet, mid_block_type: null })).toThrow(/mid_block_type/);
  });

  it("error mode (configs the user typed) fails with the did-you-mean", () => {
    expect(() => parseMLPDenoiserConfig({ in_features: 2, hiden_size: 8 }, { unknown: "error" })).toThrow(
      ConfigError,
    );
    expect(() =>
      modelSpecFor(getPreset("mlp"), { kind: "vector", dim: 2 }, undefined, { hiden_size: 8 }),
    ).toThrow(
      /MLPDenoiser config: unknown field "hiden_size" \(did you mean "hidden_size"\?\); expected fields/,
    );
    expect(() =>
      modelSpecFor(getPreset("unet28"), { kind: "image", shape: [1, 28, 28] }, undefined, {
        layers_per_blok: 1,
      }),
    ).toThrow(/UNet2DModel config: unknown field "layers_per_blok" \(did you mean "layers_per_block"\?\)/);
    // Known keys pass.
    const spec = modelSpecFor(getPreset("mlp"), { kind: "vector", dim: 2 }, undefined, { hidden_size: 8 });
    expect(spec.config).toMatchObject({ hidden_size: 8 });
  });
});
