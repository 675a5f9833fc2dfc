/**
 * Resource estimates from a config alone: the parameter count equals the built model's (random
 * configs of every model class), and configs far beyond a memory limit are refused fast with the
 * estimate in the message, before anything is allocated.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import {
  checkMemory,
  estimateModel,
  MAX_LAYERS,
  memoryNeeded,
  ResourceError,
} from "../../src/models/estimate.js";
import { MLPDenoiser } from "../../src/models/mlp-denoiser.js";
import { TutorialUNet } from "../../src/models/tutorial-unet.js";
import { UNet2DModel } from "../../src/models/unet2d.js";

const groups = fc.constantFrom(1, 2, 4);

const unetConfig = fc
  .record({
    g: groups,
    mult: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    attn: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    upAttn: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    layers: fc.integer({ min: 1, max: 2 }),
    head: fc.constantFrom(null, 2, 4, 8, 64),
    down: fc.constantFrom("conv", "resnet"),
    up: fc.constantFrom("conv", "resnet"),
    shift: fc.constantFrom("default", "scale_shift"),
    addAttention: fc.boolean(),
    attnGroups: fc.constantFrom(null, 1),
    classEmbed: fc.constantFrom(null, "timestep", "identity"),
    numClasses: fc.constantFrom(null, 3),
    learned: fc.boolean(),
    inCh: fc.integer({ min: 1, max: 4 }),
    outCh: fc.integer({ min: 1, max: 4 }),
  })
  .map((r) => {
    const ch = r.mult.map((m) => m * 4 * r.g);
    return {
      _class_name: "UNet2DModel",
      sample_size: 8,
      in_channels: r.inCh,
      out_channels: r.outCh,
      block_out_channels: ch,
      down_block_types: ch.map((_, i) => (r.attn[i] ? "AttnDownBlock2D" : "DownBlock2D")),
      up_block_types: ch.map((_, i) => (r.upAttn[i] ? "AttnUpBlock2D" : "UpBlock2D")),
      layers_per_block: r.layers,
      norm_num_groups: r.g,
      attention_head_dim: r.head,
      downsample_type: r.down,
      upsample_type: r.up,
      resnet_time_scale_shift: r.shift,
      add_attention: r.addAttention,
      attn_norm_num_groups: r.attnGroups,
      class_embed_type: r.classEmbed,
      num_class_embeds: r.numClasses,
      time_embedding_type: r.learned ? "learned" : "positional",
      num_train_timesteps: r.learned ? 50 : null,
    };
  });

const vaeConfig = fc
  .record({
    g: groups,
    mult: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    attn: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    upAttn: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    layers: fc.integer({ min: 1, max: 2 }),
    latent: fc.integer({ min: 1, max: 4 }),
    mid: fc.boolean(),
    quant: fc.boolean(),
    postQuant: fc.boolean(),
  })
  .map((r) => {
    const ch = r.mult.map((m) => m * 4 * r.g);
    return {
      _class_name: "AutoencoderKL",
      block_out_channels: ch,
      down_block_types: ch.map((_, i) => (r.attn[i] ? "AttnDownEncoderBlock2D" : "DownEncoderBlock2D")),
      up_block_types: ch.map((_, i) => (r.upAttn[i] ? "AttnUpDecoderBlock2D" : "UpDecoderBlock2D")),
      layers_per_block: r.layers,
      norm_num_groups: r.g,
      latent_channels: r.latent,
      sample_size: 8,
      mid_block_add_attention: r.mid,
      use_quant_conv: r.quant,
      use_post_quant_conv: r.postQuant,
    };
  });

const mlpConfig = fc.record({
  _class_name: fc.constant("MLPDenoiser"),
  in_features: fc.integer({ min: 1, max: 9 }),
  hidden_size: fc.integer({ min: 2, max: 40 }),
  num_layers: fc.integer({ min: 1, max: 5 }),
  num_class_embeds: fc.constantFrom(null, 1, 7),
});

const tutorialConfig = fc
  .record({
    g: groups,
    heads: fc.constantFrom(1, 2, 4),
    mult: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    attn: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    blocks: fc.integer({ min: 1, max: 2 }),
    image: fc.integer({ min: 1, max: 3 }),
  })
  .map((r) => ({
    _class_name: "TutorialUNet",
    image_channels: r.image,
    base_channels: 4 * r.g * r.heads,
    channel_multipliers: r.mult,
    num_res_blocks: r.blocks,
    use_attention: r.mult.map((_, i) => r.attn[i]!),
    norm_num_groups: r.g,
    num_heads: r.heads,
    dropout: 0,
    sample_size: 8,
  }));

describe("parameter count from the config equals the built model's", () => {
  it("TutorialUNet", () => {
    fc.assert(
      fc.property(tutorialConfig, (config) => {
        expect(estimateModel(config).parameters).toBe(new TutorialUNet(config).parameterCount());
      }),
      { numRuns: 60, seed: 17 },
    );
  });
  it("UNet2DModel", () => {
    fc.assert(
      fc.property(unetConfig, (config) => {
        expect(estimateModel(config).parameters).toBe(new UNet2DModel(config).parameterCount());
      }),
      { numRuns: 150, seed: 17 },
    );
  });
  it("AutoencoderKL", () => {
    fc.assert(
      fc.property(vaeConfig, (config) => {
        expect(estimateModel(config).parameters).toBe(new AutoencoderKL(config).parameterCount());
      }),
      { numRuns: 100, seed: 17 },
    );
  });
  it("MLPDenoiser", () => {
    fc.assert(
      fc.property(mlpConfig, (config) => {
        expect(estimateModel(config).parameters).toBe(new MLPDenoiser(config).parameterCount());
      }),
      { numRuns: 100, seed: 17 },
    );
  });
});

const small = {
  _class_name: "UNet2DModel",
  sample_size: 28,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [32, 64, 64],
  down_block_types: ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  attention_head_dim: 32,
};

describe("activation estimates", () => {
  it("grow with the batch and with the image area; training needs more than inference", () => {
    const e = estimateModel(small);
    const big = estimateModel({ ...small, sample_size: 56 });
    expect(big.inferenceActivations).toBeGreaterThan(3 * e.inferenceActivations);
    expect(memoryNeeded(e, 10, "inference")).toBeGreaterThan(memoryNeeded(e, 1, "inference"));
    expect(memoryNeeded(e, 8, "training")).toBeGreaterThan(memoryNeeded(e, 8, "inference"));
    // The MNIST preset samples 1000 images within a few GB (it does on a 2-core, 23 GB machine).
    expect(memoryNeeded(e, 2000, "inference")).toBeLessThan(8e9);
  });
});

describe("configs beyond the limits are refused fast, with the estimate", () => {
  const limit = { limitBytes: 8e9, source: "m/config.json", hint: "raise it with --max-memory" };
  const refused = (config: Record<string, unknown>, batch = 1) => {
    const t0 = performance.now();
    let error: unknown;
    try {
      checkMemory(estimateModel(config), { ...limit, batch, workload: "inference" });
    } catch (e) {
      error = e;
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(error).toBeInstanceOf(ResourceError);
    return (error as Error).message;
  };

  it("layers_per_block: 1000000 (V8 ran out of heap after 100 s before)", () => {
    expect(refused({ ...small, layers_per_block: 1_000_000 })).toMatch(
      new RegExp(`UNet2DModel config describes about .* layers; the limit is ${MAX_LAYERS}`),
    );
  });

  it("sample_size: 1e9", () => {
    expect(refused({ ...small, sample_size: 1e9 })).toMatch(
      /m\/config\.json: inference of this UNet2DModel needs about .* bytes .*above the memory limit of 8\.00 GB; raise it with --max-memory/,
    );
  });

  it("block_out_channels of 1e5", () => {
    const message = refused({ ...small, block_out_channels: [100000, 100000, 100000], norm_num_groups: 32 });
    expect(message).toMatch(/\d\.\d+e\+1\d parameters: .* TB/);
  });

  it("a batch of 1e8 samples", () => {
    expect(refused(small, 1e8)).toMatch(/activations for a batch of 1\.00e\+8: .* TB/);
  });

  it("an MLP with 1e7 layers, and one with huge hidden size", () => {
    expect(refused({ _class_name: "MLPDenoiser", in_features: 2, num_layers: 1e7 })).toMatch(/layers/);
    expect(refused({ _class_name: "MLPDenoiser", in_features: 2, hidden_size: 1e6 })).toMatch(/parameters/);
  });

  it("model constructors refuse a structure beyond MAX_LAYERS before building anything", () => {
    const t0 = performance.now();
    expect(() => new UNet2DModel({ ...small, layers_per_block: 1_000_000 })).toThrow(ResourceError);
    expect(() => new MLPDenoiser({ in_features: 2, num_layers: 1e9 })).toThrow(ResourceError);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
