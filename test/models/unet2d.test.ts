import { describe, expect, it } from "vitest";
import { UNet2DModel } from "../../src/models/unet2d.js";
import { parseUNet2DConfig } from "../../src/models/unet2d-config.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

const TINY = {
  in_channels: 2,
  out_channels: 2,
  block_out_channels: [8, 16],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  attention_head_dim: 4,
};

const ints = (v: number[]) => T.tensor(v, [v.length], "int32");

describe("UNet2DModel on tiny configs", () => {
  it("maps [B, in, H, W] to [B, out, H, W] for a batch of timesteps or one", () => {
    const m = new UNet2DModel(TINY);
    const x = rand(1, [2, 2, 8, 8]);
    expect(m.forward(m.parameters(), x, ints([3, 500])).shape).toEqual([2, 2, 8, 8]);
    expect(m.forward(m.parameters(), x, T.scalar(7)).shape).toEqual([2, 2, 8, 8]);
  });

  it("builds the variants: class labels, learned time embedding, scale_shift, resnet resampling, 3 levels", () => {
    const variants: Record<string, unknown>[] = [
      { ...TINY, num_class_embeds: 3 },
      { ...TINY, class_embed_type: "timestep" },
      { ...TINY, time_embedding_type: "learned", num_train_timesteps: 1000 },
      { ...TINY, resnet_time_scale_shift: "scale_shift" },
      {
        ...TINY,
        down_block_types: ["AttnDownBlock2D", "DownBlock2D"],
        up_block_types: ["UpBlock2D", "AttnUpBlock2D"],
        downsample_type: "resnet",
        upsample_type: "resnet",
      },
      {
        ...TINY,
        block_out_channels: [4, 8, 8],
        down_block_types: ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
        up_block_types: ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
        layers_per_block: 2,
        center_input_sample: true,
        attention_head_dim: null,
      },
    ];
    for (const config of variants) {
      const m = new UNet2DModel(config);
      const labels = config.num_class_embeds ? ints([0, 2]) : config.class_embed_type ? ints([5, 9]) : null;
      expect(m.forward(m.parameters(), rand(2, [2, 2, 8, 8]), ints([1, 999]), labels).shape).toEqual([
        2, 2, 8, 8,
      ]);
    }
  });

  it("names parameters as diffusers does", () => {
    const names = Object.keys(new UNet2DModel({ ...TINY, num_class_embeds: 3 }).parameters());
    for (const n of [
      "conv_in.weight",
      "time_embedding.linear_1.weight",
      "class_embedding.weight",
      "down_blocks.0.resnets.0.conv1.weight",
      "down_blocks.0.downsamplers.0.conv.weight",
      "down_blocks.1.attentions.0.to_out.0.bias",
      "mid_block.attentions.0.group_norm.weight",
      "mid_block.resnets.1.time_emb_proj.weight",
      "up_blocks.0.resnets.1.conv_shortcut.weight",
      "up_blocks.0.upsamplers.0.conv.bias",
      "conv_norm_out.weight",
      "conv_out.bias",
    ]) {
      expect(names).toContain(n);
    }
    expect(names.some((n) => n.startsWith("down_blocks.1.downsamplers"))).toBe(false);
  });

  it("toConfig is a diffusers config that parses back to the same model", () => {
    const m = new UNet2DModel(TINY);
    const json = m.toConfig();
    expect(json._class_name).toBe("UNet2DModel");
    expect(json._diffusers_version).toBe("0.30.3");
    expect(json.norm_eps).toBe(1e-5);
    expect(parseUNet2DConfig(JSON.parse(JSON.stringify(json)))).toEqual(m.config);
  });

  it("refuses bad input, naming what is wrong", () => {
    const m = new UNet2DModel(TINY);
    const p = m.parameters();
    expect(() => m.forward(p, T.zeros([2, 3, 8, 8]), ints([1, 2]))).toThrow(
      "UNet2DModel: sample has 3 channels [2, 3, 8, 8], expected 2",
    );
    expect(() => m.forward(p, T.zeros([2, 2, 7, 8]), ints([1, 2]))).toThrow(
      "height and width must be multiples of 2",
    );
    expect(() => m.forward(p, T.zeros([2, 2, 8, 8]), ints([1, 2, 3]))).toThrow(
      "UNet2DModel: timesteps must be a scalar, [1] or [2] (the batch), got [3]",
    );
    expect(() => m.forward(p, T.zeros([2, 2, 8, 8]), ints([1, 2]), ints([0, 1]))).toThrow(
      "has no class embedding",
    );
    const cond = new UNet2DModel({ ...TINY, num_class_embeds: 3 });
    expect(() => cond.forward(cond.parameters(), T.zeros([2, 2, 8, 8]), ints([1, 2]))).toThrow(
      "class labels must be given",
    );
  });
});

describe("UNet2DModel config validation", () => {
  it("names an unknown block type, its value and the allowed ones", () => {
    expect(
      () => new UNet2DModel({ ...TINY, down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D"] }),
    ).toThrow(
      'UNet2DModel config: field "down_block_types[1]" is "CrossAttnDownBlock2D"; expected one of DownBlock2D, AttnDownBlock2D',
    );
    expect(() => new UNet2DModel({ ...TINY, up_block_types: ["AttnUpBlock2D", "SkipUpBlock2D"] })).toThrow(
      'field "up_block_types[1]" is "SkipUpBlock2D"; expected one of UpBlock2D, AttnUpBlock2D',
    );
  });

  it("names a missing required field", () => {
    const { block_out_channels: _, ...missing } = TINY;
    expect(() => new UNet2DModel(missing)).toThrow(
      'UNet2DModel config: missing required field "block_out_channels"',
    );
  });

  it("names bad values and inconsistent lengths", () => {
    expect(() => new UNet2DModel({ ...TINY, layers_per_block: 0 })).toThrow(
      'field "layers_per_block" is 0; expected a positive integer',
    );
    expect(() => new UNet2DModel({ ...TINY, block_out_channels: [8, 16, 16] })).toThrow(
      'field "down_block_types" is ["DownBlock2D","AttnDownBlock2D"]; expected one entry per block_out_channels (3)',
    );
    expect(() => new UNet2DModel({ ...TINY, norm_num_groups: 3 })).toThrow(
      'field "block_out_channels[0]" is 8; expected a multiple of norm_num_groups (3)',
    );
    expect(() => new UNet2DModel({ ...TINY, time_embedding_type: "fourier" })).toThrow(
      'field "time_embedding_type" is "fourier"; expected one of positional, learned',
    );
    expect(() => new UNet2DModel("config")).toThrow("UNet2DModel config: expected a JSON object");
  });
});

describe("UNet2DModel gradients", () => {
  const m = new UNet2DModel({ ...TINY, num_class_embeds: 3 });
  const x = rand(3, [2, 2, 4, 4]);
  const w = rand(4, [2, 2, 4, 4]);
  const t = ints([10, 700]);
  const labels = ints([2, 0]);
  const loss = (p: Params) => T.sum(T.mul(m.forward(p, x, t, labels), w));

  it("agree with central finite differences for a few parameters", () => {
    const p = m.parameters();
    const { grads } = T.valueAndGrad(loss)(p);
    const probes: [string, number][] = [
      ["conv_out.bias", 1],
      ["conv_in.weight", 5],
      ["time_embedding.linear_1.weight", 3],
      ["class_embedding.weight", 2 * 32 + 1],
      ["down_blocks.1.attentions.0.to_q.weight", 7],
      ["mid_block.resnets.0.norm1.weight", 2],
      ["up_blocks.0.resnets.1.conv_shortcut.weight", 4],
    ];
    const eps = 1e-2;
    for (const [name, i] of probes) {
      const bump = (d: number) => {
        const v = Float32Array.from(p[name]!.values());
        v[i]! += d;
        return loss({ ...p, [name]: T.tensor(v, p[name]!.shape) }).item();
      };
      const fd = (bump(eps) - bump(-eps)) / (2 * eps);
      const g = grads[name]!.values()[i]!;
      expect(Math.abs(g - fd), `${name}[${i}]: autodiff ${g}, finite difference ${fd}`).toBeLessThan(
        1e-4 + 0.02 * Math.abs(fd),
      );
    }
  });

  it("are the same compiled (one ONNX graph) as eager", async () => {
    T.setDefaultRuntime(nodeOrt);
    const p = m.parameters();
    const eager = T.valueAndGrad(loss)(p);
    const compiled = await T.compile((q: Params) => {
      const r = T.valueAndGrad(loss)(q);
      return { value: r.value, grads: r.grads };
    })(p);
    expectClose([compiled.value.item()], [eager.value.item()], 1e-4, 1e-5, "loss");
    for (const name of Object.keys(p)) {
      expectClose(compiled.grads[name]!.values(), eager.grads[name]!.values(), 1e-3, 1e-5, name);
    }
  });
});
