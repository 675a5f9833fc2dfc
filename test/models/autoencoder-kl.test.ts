import { describe, expect, it } from "vitest";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import { parseAutoencoderKLConfig } from "../../src/models/autoencoder-kl-config.js";
import { klToStandardNormal, samplePosterior } from "../../src/models/vae.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

const TINY = {
  in_channels: 3,
  out_channels: 3,
  down_block_types: ["DownEncoderBlock2D", "DownEncoderBlock2D"],
  up_block_types: ["UpDecoderBlock2D", "UpDecoderBlock2D"],
  block_out_channels: [4, 8],
  latent_channels: 2,
  norm_num_groups: 2,
};

describe("AutoencoderKL on tiny configs", () => {
  it("encodes [B, 3, H, W] to a posterior over [B, latent, H/2, W/2] and decodes back to [B, 3, H, W]", () => {
    const vae = new AutoencoderKL(TINY);
    const p = vae.parameters();
    const { mean, logvar } = vae.encode(p, rand(1, [2, 3, 8, 8]));
    expect(mean.shape).toEqual([2, 2, 4, 4]);
    expect(logvar.shape).toEqual([2, 2, 4, 4]);
    expect(vae.decode(p, mean).shape).toEqual([2, 3, 8, 8]);
    expect(vae.forward(p, rand(1, [2, 3, 8, 8]), rand(2, [2, 2, 4, 4])).shape).toEqual([2, 3, 8, 8]);
    expect(vae.scalingFactor).toBe(0.18215);
  });

  it("builds the variants: attention blocks, no quant convs, no mid attention", () => {
    const vae = new AutoencoderKL({
      ...TINY,
      down_block_types: ["AttnDownEncoderBlock2D", "DownEncoderBlock2D"],
      up_block_types: ["UpDecoderBlock2D", "AttnUpDecoderBlock2D"],
      use_quant_conv: false,
      use_post_quant_conv: false,
      mid_block_add_attention: false,
      layers_per_block: 2,
    });
    const names = Object.keys(vae.parameters());
    expect(names).toContain("encoder.down_blocks.0.attentions.1.to_q.weight");
    expect(names).toContain("decoder.up_blocks.1.attentions.2.to_out.0.bias");
    expect(names.some((n) => n.includes("quant_conv") || n.includes("mid_block.attentions"))).toBe(false);
    const p = vae.parameters();
    expect(vae.decode(p, vae.encode(p, rand(3, [1, 3, 4, 4])).mean).shape).toEqual([1, 3, 4, 4]);
  });

  it("clamps logvar to [-30, 20] as DiagonalGaussianDistribution does", () => {
    const vae = new AutoencoderKL(TINY);
    const p = vae.parameters();
    const bias = T.tensor([0, 0, 1e3, -1e3], [4]);
    const { logvar } = vae.encode({ ...p, "quant_conv.bias": bias }, rand(4, [1, 3, 4, 4]));
    const v = logvar.toArray();
    expect(v.slice(0, 4)).toEqual([20, 20, 20, 20]);
    expect(v.slice(-4)).toEqual([-30, -30, -30, -30]);
  });

  it("samples z = mean + exp(logvar/2) noise and gives the KL to N(0, I)", () => {
    const mean = T.tensor([1, -1], [1, 2, 1, 1]);
    const logvar = T.tensor([0, Math.log(4)], [1, 2, 1, 1]);
    expectClose(
      samplePosterior({ mean, logvar }, T.tensor([0.5, 0.5], [1, 2, 1, 1])).toArray(),
      [1.5, 0],
      1e-6,
      1e-6,
    );
    // 0.5 * ((1 + 1 - 1 - 0) + (1 + 4 - 1 - ln 4))
    expectClose(klToStandardNormal({ mean, logvar }).toArray(), [0.5 * (1 + 4 - Math.log(4))], 1e-6, 1e-6);
  });

  it("toConfig round-trips and names the class", () => {
    const vae = new AutoencoderKL(TINY);
    const json = vae.toConfig();
    expect(json._class_name).toBe("AutoencoderKL");
    expect(parseAutoencoderKLConfig(JSON.parse(JSON.stringify(json)))).toEqual(vae.config);
  });

  it("refuses bad configs and bad input, naming what is wrong", () => {
    expect(() => new AutoencoderKL({ ...TINY, up_block_types: ["UpDecoderBlock2D", "UpBlock2D"] })).toThrow(
      'AutoencoderKL config: field "up_block_types[1]" is "UpBlock2D"; expected one of UpDecoderBlock2D, AttnUpDecoderBlock2D',
    );
    const { down_block_types: _, ...missing } = TINY;
    expect(() => new AutoencoderKL(missing)).toThrow(
      'AutoencoderKL config: missing required field "down_block_types"',
    );
    const vae = new AutoencoderKL(TINY);
    const p = vae.parameters();
    expect(() => vae.encode(p, T.zeros([1, 4, 8, 8]))).toThrow(
      "AutoencoderKL: input has 4 channels [1, 4, 8, 8], expected 3",
    );
    expect(() => vae.decode(p, T.zeros([1, 3, 4, 4]))).toThrow(
      "AutoencoderKL: latent has 3 channels [1, 3, 4, 4], expected 2",
    );
  });
});
