import { describe, expect, it } from "vitest";
import { ResnetBlock2D } from "../../src/nn/resnet.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

const path = "down_blocks.1.resnets.0";

describe("ResnetBlock2D", () => {
  it("has diffusers' parameter names (conv_shortcut only when channels change)", () => {
    const block = new ResnetBlock2D(path, { inChannels: 4, outChannels: 8, tembChannels: 16, groups: 2 });
    expect(Object.keys(block.parameters()).map((n) => n.slice(path.length + 1))).toEqual([
      "norm1.weight",
      "norm1.bias",
      "conv1.weight",
      "conv1.bias",
      "time_emb_proj.weight",
      "time_emb_proj.bias",
      "norm2.weight",
      "norm2.bias",
      "conv2.weight",
      "conv2.bias",
      "conv_shortcut.weight",
      "conv_shortcut.bias",
    ]);
    const same = new ResnetBlock2D("r", { inChannels: 4, tembChannels: null, groups: 2 });
    expect(Object.keys(same.parameters()).some((n) => n.includes("shortcut") || n.includes("time_emb"))).toBe(
      false,
    );
  });

  it("maps [B, in, H, W] to [B, out, H', W'] for default, scale_shift, up and down", () => {
    const x = rand(1, [2, 4, 4, 4]);
    const temb = rand(2, [2, 16]);
    for (const [extra, hw] of [
      [{}, 4],
      [{ timeEmbeddingNorm: "scale_shift" as const }, 4],
      [{ up: true }, 8],
      [{ down: true }, 2],
    ] as const) {
      const block = new ResnetBlock2D("r", {
        inChannels: 4,
        outChannels: 8,
        tembChannels: 16,
        groups: 2,
        ...extra,
      });
      expect(block.forward(block.parameters(), x, temb).shape).toEqual([2, 8, hw, hw]);
    }
  });

  it("computes (x + conv2(act(norm2(conv1(act(norm1 x)) + proj(act temb))))) / output_scale_factor", () => {
    const block = new ResnetBlock2D("r", { inChannels: 4, tembChannels: 3, groups: 2, outputScaleFactor: 2 });
    const p = block.parameters();
    const x = rand(3, [1, 4, 3, 3]);
    const temb = rand(4, [1, 3]);
    const gn = (v: T.Tensor, n: string) => {
      const g = T.reshape(v, [1, 2, -1]);
      const c = T.sub(g, T.mean(g, -1, true));
      const y = T.reshape(T.div(c, T.sqrt(T.add(T.mean(T.square(c), -1, true), 1e-6))), v.shape);
      return T.add(
        T.mul(y, T.reshape(p[`r.${n}.weight`]!, [1, 4, 1, 1])),
        T.reshape(p[`r.${n}.bias`]!, [1, 4, 1, 1]),
      );
    };
    const conv = (v: T.Tensor, n: string) =>
      T.conv2d(v, p[`r.${n}.weight`]!, p[`r.${n}.bias`], { padding: 1 });
    let h = conv(T.silu(gn(x, "norm1")), "conv1");
    h = T.add(
      h,
      T.reshape(
        T.linear(T.silu(temb), p["r.time_emb_proj.weight"]!, p["r.time_emb_proj.bias"]),
        [1, 4, 1, 1],
      ),
    );
    h = conv(T.silu(gn(h, "norm2")), "conv2");
    const want = T.div(T.add(x, h), 2);
    expectClose(block.forward(p, x, temb).toArray(), want.toArray(), 1e-5, 1e-6, "resnet");
  });

  it("names itself and both shapes on bad input or a bad time embedding", () => {
    const block = new ResnetBlock2D(path, { inChannels: 4, outChannels: 8, tembChannels: 16, groups: 2 });
    const p = block.parameters();
    expect(() => block.forward(p, T.zeros([2, 3, 4, 4]), T.zeros([2, 16]))).toThrow(
      `${path}: input has 3 channels [2, 3, 4, 4], expected 4`,
    );
    expect(() => block.forward(p, T.zeros([2, 4, 4, 4]), null)).toThrow(
      `${path}: needs a time embedding (temb) but got none`,
    );
    expect(() => block.forward(p, T.zeros([2, 4, 4, 4]), T.zeros([2, 12]))).toThrow(
      `${path}: temb has shape [2, 12], expected [2, 16] (batch, channels)`,
    );
    expect(() => new ResnetBlock2D("r", { inChannels: 4, tembChannels: null, groups: 3 })).toThrow(
      "r.norm1: numGroups 3 must divide numChannels 4",
    );
  });
});
