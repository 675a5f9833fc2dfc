import { describe, expect, it } from "vitest";
import { TimestepEmbedding, Timesteps, timestepEmbedding } from "../../src/nn/embeddings.js";
import * as T from "../../src/tensor/index.js";
import { expectClose } from "../helpers.js";

/** get_timestep_embedding in float64. */
function reference(t: number[], dim: number, flip: boolean, shift: number): number[] {
  const half = Math.floor(dim / 2);
  return t.flatMap((ti) => {
    const args = Array.from(
      { length: half },
      (_, i) => ti * Math.exp((-Math.log(10000) * i) / (half - shift)),
    );
    const [s, c] = [args.map(Math.sin), args.map(Math.cos)];
    const row = flip ? [...c, ...s] : [...s, ...c];
    return dim % 2 ? [...row, 0] : row;
  });
}

describe("timestepEmbedding", () => {
  const t = [0, 1, 17, 999];
  for (const [dim, flip, shift] of [
    [8, true, 0],
    [8, false, 1],
    [7, true, 0],
  ] as const) {
    it(`matches diffusers' get_timestep_embedding (dim ${dim}, flip_sin_to_cos ${flip}, shift ${shift})`, () => {
      const got = timestepEmbedding(T.tensor(t, [4], "int32"), dim, {
        flipSinToCos: flip,
        downscaleFreqShift: shift,
      });
      expect(got.shape).toEqual([4, dim]);
      expectClose(got.toArray(), reference(t, dim, flip, shift), 0, 2e-4, "embedding");
    });
  }

  it("Timesteps refuses non-vector timesteps, naming itself", () => {
    const proj = new Timesteps("time_proj", { numChannels: 8, flipSinToCos: true, downscaleFreqShift: 0 });
    expect(proj.forward({}, T.tensor([3, 4], [2])).shape).toEqual([2, 8]);
    expect(() => proj.forward({}, T.zeros([2, 1]))).toThrow(
      "time_proj: timesteps must be 1-D [batch], got 2-D [2, 1]",
    );
  });
});

describe("TimestepEmbedding", () => {
  it("is linear_1 -> SiLU -> linear_2 with diffusers' names", () => {
    const te = new TimestepEmbedding("time_embedding", { inChannels: 4, timeEmbedDim: 16 });
    expect(Object.keys(te.parameters())).toEqual([
      "time_embedding.linear_1.weight",
      "time_embedding.linear_1.bias",
      "time_embedding.linear_2.weight",
      "time_embedding.linear_2.bias",
    ]);
    const p = te.parameters();
    const x = T.tensor([0.1, -0.2, 0.3, 0.4], [1, 4]);
    const want = T.linear(
      T.silu(T.linear(x, p["time_embedding.linear_1.weight"]!, p["time_embedding.linear_1.bias"])),
      p["time_embedding.linear_2.weight"]!,
      p["time_embedding.linear_2.bias"],
    );
    expect(te.forward(p, x).toArray()).toEqual(want.toArray());
    expect(() => te.forward(p, T.zeros([1, 5]))).toThrow(
      "time_embedding: input has 5 channels [1, 5], expected 4",
    );
  });
});
