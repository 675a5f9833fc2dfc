import { describe, expect, it } from "vitest";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { compiledForward, generate } from "../../src/pipelines/generate.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { TINY_COND_UNET as TINY_UNET } from "../helpers.js";

T.setDefaultRuntime(nodeOrt);

const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  prediction_type: "epsilon",
};

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("compiledForward with frozen weights (the weights compiled in as constants)", () => {
  const denoiser = denoiserFromConfig(TINY_UNET, makeKey(5));
  const params = denoiser.module.parameters();
  const x = T.tensor(normal(makeKey(6), 3 * 64), [3, 1, 8, 8]);
  const t = T.tensor(Float32Array.of(3, 50, 97), [3]);
  const y = T.tensor(Int32Array.of(0, 2, 3), [3], "int32");

  it("computes the input-weights forward (to float rounding) from a graph without weight inputs", async () => {
    const frozen = compiledForward(denoiser, 1, params);
    const plain = compiledForward(denoiser, 1);
    const a = (await frozen(params, x, t, y)).values();
    const b = (await plain(params, x, t, y)).values();
    expect(maxDiff(a, b)).toBeLessThan(1e-5);
    const lowered = T.compile((xx: T.Tensor, tt: T.Tensor, yy: T.Tensor) =>
      denoiser.forward(params, xx, tt, yy),
    ).lower(x, t, y);
    expect(lowered.inputNames).toHaveLength(3); // x, t, labels: every weight is an initializer
    expect(compiledForward(denoiser, 1, params)).toBe(frozen); // cached per params object
  });

  it("refuses other params than the ones compiled in", async () => {
    const frozen = compiledForward(denoiser, 1, params);
    const other = denoiserFromConfig(TINY_UNET, makeKey(7)).module.parameters();
    expect(() => frozen(other, x, t, y)).toThrow(/weights are compiled in; other params were given/);
  });

  it("generate with frozenWeights samples as with weight inputs", async () => {
    const o = {
      denoiser,
      params,
      sampler: "dpmsolver++",
      schedulerConfig: SCHEDULER,
      steps: 5,
      numSamples: 4,
      seed: 2,
      labels: Int32Array.of(0, 1, 2, 0),
      guidanceScale: 2,
      nullClass: 3,
      threads: 1,
    };
    const frozen = await generate({ ...o, frozenWeights: true });
    const plain = await generate(o);
    expect(frozen.shape).toEqual(plain.shape);
    expect(maxDiff(frozen.samples, plain.samples)).toBeLessThan(1e-4);
  });
});
