import { describe, expect, it } from "vitest";
import { getActivation, SiLU } from "../../src/nn/activation.js";
import { Conv2d } from "../../src/nn/conv.js";
import { Dropout } from "../../src/nn/dropout.js";
import { Embedding, Linear } from "../../src/nn/linear.js";
import { GroupNorm, LayerNorm } from "../../src/nn/norm.js";
import { Downsample2D, Upsample2D } from "../../src/nn/sampling.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

describe("Linear", () => {
  const lin = new Linear("time_embedding.linear_1", { inFeatures: 3, outFeatures: 2 });
  const p = lin.parameters();

  it("computes x W^T + b over the last axis of any-rank input", () => {
    const x = rand(1, [2, 4, 3]);
    const y = lin.forward(p, x);
    expect(y.shape).toEqual([2, 4, 2]);
    const [w, b, xv] = [
      p["time_embedding.linear_1.weight"]!.toArray(),
      p["time_embedding.linear_1.bias"]!.toArray(),
      x.toArray(),
    ];
    const want = Array.from({ length: 16 }, (_, i) => {
      const [row, o] = [Math.floor(i / 2), i % 2];
      return b[o]! + [0, 1, 2].reduce((s, k) => s + xv[row * 3 + k]! * w[o * 3 + k]!, 0);
    });
    expectClose(y.toArray(), want, 1e-6, 1e-6, "linear");
  });

  it("names itself and both shapes on bad input", () => {
    expect(() => lin.forward(p, T.zeros([2, 4]))).toThrow(
      "time_embedding.linear_1: input has 4 features [2, 4], expected 3",
    );
    expect(() => lin.forward(p, T.zeros([2, 3], "int32"))).toThrow(
      "time_embedding.linear_1: input must be float32",
    );
    expect(() => new Linear("l", { inFeatures: 0, outFeatures: 2 })).toThrow(
      "l: option inFeatures must be a positive integer",
    );
  });
});

describe("Conv2d", () => {
  it("gives PyTorch's output shapes for stride, padding and groups", () => {
    const conv = new Conv2d("c", {
      inChannels: 4,
      outChannels: 6,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      groups: 2,
    });
    expect(conv.parameterSpecs().map((s) => s.shape)).toEqual([[6, 2, 3, 3], [6]]);
    expect(conv.forward(conv.parameters(), rand(2, [2, 4, 7, 7])).shape).toEqual([2, 6, 4, 4]);
  });

  it("a 1x1 conv without bias is a per-pixel matrix product", () => {
    const conv = new Conv2d("", { inChannels: 2, outChannels: 1, kernelSize: 1, bias: false });
    const p = { weight: T.tensor([2, -1], [1, 2, 1, 1]) };
    const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    expect(conv.forward(p, x).toArray()).toEqual([2 - 5, 4 - 6, 6 - 7, 8 - 8]);
  });

  it("names itself and both shapes on bad input", () => {
    const conv = new Conv2d("down_blocks.0.resnets.0.conv1", {
      inChannels: 3,
      outChannels: 8,
      kernelSize: 3,
      padding: 1,
    });
    const p = conv.parameters();
    expect(() => conv.forward(p, T.zeros([2, 4, 16, 16]))).toThrow(
      "down_blocks.0.resnets.0.conv1: input has 4 channels [2, 4, 16, 16], expected 3",
    );
    expect(() => conv.forward(p, T.zeros([3, 16, 16]))).toThrow(
      "down_blocks.0.resnets.0.conv1: input must be 4-D NCHW, got 3-D [3, 16, 16]",
    );
    expect(() => new Conv2d("c", { inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 })).toThrow(
      "c: groups 2 must divide inChannels 3",
    );
  });
});

describe("GroupNorm", () => {
  it("standardises each group over its channels and positions, then applies weight and bias", () => {
    const gn = new GroupNorm("g", { numGroups: 2, numChannels: 4, eps: 0 });
    const x = rand(3, [2, 4, 3, 3], -2, 5);
    const y = gn.forward(gn.parameters(), x).toArray();
    for (let n = 0; n < 2; n++) {
      for (let g = 0; g < 2; g++) {
        const block = y.slice(n * 36 + g * 18, n * 36 + g * 18 + 18);
        const mean = block.reduce((a, b) => a + b, 0) / 18;
        const variance = block.reduce((a, b) => a + (b - mean) ** 2, 0) / 18;
        expect(Math.abs(mean)).toBeLessThan(1e-5);
        expect(Math.abs(variance - 1)).toBeLessThan(1e-4);
      }
    }
    const shifted = gn.forward({ "g.weight": T.full([4], 2), "g.bias": T.full([4], 1) }, x).toArray();
    expectClose(
      shifted,
      y.map((v) => 2 * v + 1),
      1e-6,
      1e-6,
      "affine",
    );
  });

  it("refuses bad input and bad options, naming itself", () => {
    const gn = new GroupNorm("mid_block.resnets.0.norm1", { numGroups: 2, numChannels: 4 });
    expect(() => gn.forward(gn.parameters(), T.zeros([1, 6, 2, 2]))).toThrow(
      "mid_block.resnets.0.norm1: input has 6 channels [1, 6, 2, 2], expected 4",
    );
    expect(() => new GroupNorm("n", { numGroups: 3, numChannels: 4 })).toThrow(
      "n: numGroups 3 must divide numChannels 4",
    );
  });
});

describe("LayerNorm", () => {
  it("standardises over the trailing axes", () => {
    const ln = new LayerNorm("ln", { normalizedShape: 4, eps: 0 });
    const y = ln.forward(ln.parameters(), T.tensor([1, 2, 3, 4, 0, 0, 0, 8], [2, 4])).toArray();
    const s = Math.sqrt(1.25);
    expectClose(
      y,
      [
        -1.5 / s,
        -0.5 / s,
        0.5 / s,
        1.5 / s,
        -1 / Math.sqrt(3),
        -1 / Math.sqrt(3),
        -1 / Math.sqrt(3),
        Math.sqrt(3),
      ],
      1e-5,
      1e-6,
    );
  });

  it("names itself and both shapes on bad input", () => {
    const ln = new LayerNorm("ln", { normalizedShape: [2, 4] });
    expect(() => ln.forward(ln.parameters(), T.zeros([3, 4, 2]))).toThrow(
      "ln: input [3, 4, 2] does not end with the normalized shape [2, 4]",
    );
  });
});

describe("activations", () => {
  it("SiLU is x sigmoid(x); get_activation knows diffusers' names", () => {
    const x = T.tensor([-2, 0, 3], [3]);
    expectClose(
      new SiLU().forward({}, x).toArray(),
      [-2 / (1 + Math.exp(2)), 0, 3 / (1 + Math.exp(-3))],
      1e-6,
      1e-7,
    );
    expect(getActivation("relu")(x).toArray()).toEqual([0, 0, 3]);
    expect(() => getActivation("gelu_fast")).toThrow(
      'act_fn: unknown activation "gelu_fast"; expected one of silu, swish, relu',
    );
  });
});

describe("Embedding", () => {
  const emb = new Embedding("class_embedding", { numEmbeddings: 3, embeddingDim: 2 });
  const p = { "class_embedding.weight": T.tensor([0, 1, 10, 11, 20, 21], [3, 2]) };

  it("looks up rows for int32 indices of any shape", () => {
    const y = emb.forward(p, T.tensor([2, 0, 1, 2], [2, 2], "int32"));
    expect(y.shape).toEqual([2, 2, 2]);
    expect(y.toArray()).toEqual([20, 21, 0, 1, 10, 11, 20, 21]);
  });

  it("refuses float indices and indices out of range", () => {
    expect(() => emb.forward(p, T.tensor([1], [1]))).toThrow(
      "class_embedding: indices must be int32, got float32 [1]",
    );
    expect(() => emb.forward(p, T.tensor([0, 3], [2], "int32"))).toThrow(
      "class_embedding: index 3 at position 1 is outside [0, 3)",
    );
  });
});

describe("Dropout", () => {
  it("is the identity without a key, a scaled Bernoulli mask with one", () => {
    const d = new Dropout("down_blocks.0.resnets.0.dropout", { p: 0.25 });
    const x = T.ones([4000]);
    expect(d.forward({}, x)).toBe(x);
    const y = d.forward({}, x, { dropoutKey: makeKey(3) }).toArray();
    expect(y.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    const dropped = y.filter((v) => v === 0).length / y.length;
    expect(Math.abs(dropped - 0.25)).toBeLessThan(0.03);
    expect(d.forward({}, x, { dropoutKey: makeKey(3) }).toArray()).toEqual(y);
    expect(d.forward({}, x, { dropoutKey: makeKey(4) }).toArray()).not.toEqual(y);
  });

  it("refuses a p outside [0, 1]", () => {
    expect(() => new Dropout("drop", { p: 1.5 })).toThrow(
      "drop: option p must be a probability in [0, 1], got 1.5",
    );
  });
});

describe("Downsample2D / Upsample2D", () => {
  it("halve and double the resolution; padding 0 pads bottom/right like diffusers", () => {
    const down = new Downsample2D("down_blocks.0.downsamplers.0", { channels: 4 });
    expect(Object.keys(down.parameters())).toEqual([
      "down_blocks.0.downsamplers.0.conv.weight",
      "down_blocks.0.downsamplers.0.conv.bias",
    ]);
    expect(down.forward(down.parameters(), rand(4, [1, 4, 8, 8])).shape).toEqual([1, 4, 4, 4]);
    const down0 = new Downsample2D("d", { channels: 4, padding: 0 });
    expect(down0.forward(down0.parameters(), rand(4, [1, 4, 8, 8])).shape).toEqual([1, 4, 4, 4]);
    const pool = new Downsample2D("d", { channels: 1, useConv: false });
    expect(pool.forward({}, T.tensor([1, 2, 3, 4], [1, 1, 2, 2])).toArray()).toEqual([2.5]);
    const up = new Upsample2D("up_blocks.0.upsamplers.0", { channels: 4, outChannels: 2 });
    expect(up.forward(up.parameters(), rand(5, [1, 4, 3, 3])).shape).toEqual([1, 2, 6, 6]);
    const nearest = new Upsample2D("u", { channels: 1, useConv: false });
    expect(nearest.forward({}, T.tensor([1, 2], [1, 1, 1, 2])).toArray()).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });

  it("name themselves and both shapes on bad input", () => {
    const down = new Downsample2D("down_blocks.1.downsamplers.0", { channels: 4 });
    expect(() => down.forward(down.parameters(), T.zeros([1, 3, 8, 8]))).toThrow(
      "down_blocks.1.downsamplers.0: input has 3 channels [1, 3, 8, 8], expected 4",
    );
    const up = new Upsample2D("up_blocks.0.upsamplers.0", { channels: 4 });
    expect(() => up.forward(up.parameters(), T.zeros([4, 8, 8]))).toThrow(
      "up_blocks.0.upsamplers.0: input must be 4-D NCHW, got 3-D [4, 8, 8]",
    );
  });
});
