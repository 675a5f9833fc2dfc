/**
 * `evaluateNll` over a tiny (untrained) UNet on 8x8 8-bit images: the compiled model adapters against
 * their eager versions (forward and drift + vector-Jacobian product), the report's structure, class
 * conditioning, and input errors. The numbers of an untrained model mean nothing; the Gaussian tests
 * (nll-vlb, nll-ode) check the estimators themselves.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ImageDataset, VectorDataset } from "../../src/data/types.js";
import { type PredictionType, predictEps } from "../../src/diffusion/parametrization.js";
import { vpSdeFromAlphasCumprod } from "../../src/diffusion/samplers/vp-sde.js";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import { evaluateNll } from "../../src/eval/nll.js";
import { epsAffine, vjpFieldFor } from "../../src/eval/nll-model.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const UNET = {
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8, 16],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  attention_head_dim: 8,
};
const SCHEDULER = { num_train_timesteps: 20, beta_schedule: "linear", beta_start: 0.0001, beta_end: 0.2 };
const N = 4;
const DATA: ImageDataset = {
  kind: "image",
  name: "toy",
  images: Float32Array.from({ length: N * 64 }, (_, i) => ((i * 37) % 256) / 127.5 - 1),
  shape: [1, 8, 8],
  labels: Int32Array.from([0, 1, 1, 0]),
  numClasses: 2,
};

const unconditional = denoiserFromConfig(UNET, makeKey(1));
const conditional = denoiserFromConfig({ ...UNET, num_class_embeds: 3 }, makeKey(2));
const base = (denoiser = unconditional) => ({
  denoiser,
  params: denoiser.module.parameters(),
  schedulerConfig: SCHEDULER,
  data: DATA,
  batchSize: 3,
});

describe("model adapters", () => {
  it("epsAffine gives predictEps's eps for every prediction type", () => {
    const x = rand(1, [2, 3]);
    const out = rand(2, [2, 3]);
    for (const type of ["epsilon", "v_prediction", "sample"] as PredictionType[]) {
      const c = { alpha: 0.8, sigma: 0.6 };
      const a = epsAffine(type, c.alpha, c.sigma);
      const want = predictEps(type, out, x, c).values();
      T.add(T.mul(x, a.x), T.mul(out, a.out))
        .values()
        .forEach((v, i) => {
          expect(v).toBeCloseTo(want[i]!, 5);
        });
    }
  });

  it("the compiled drift and VJP equal the eager ones", async () => {
    const sde = vpSdeFromAlphasCumprod(alphasCumprod(betasFor(SCHEDULER)));
    const params = unconditional.module.parameters();
    const opts = { prediction: "epsilon" as const, numTrainTimesteps: 20 };
    const x = T.tensor(DATA.images.slice(0, 128), [2, 1, 8, 8]);
    const v = rand(3, [2, 1, 8, 8]);
    const compiled = await vjpFieldFor(unconditional, params, sde, opts)()(x, 0.37, v);
    const eager = await vjpFieldFor(unconditional, params, sde, { ...opts, eager: true })()(x, 0.37, v);
    for (const k of ["drift", "vjp"] as const) {
      const want = eager[k].values();
      const scale = Math.max(...Array.from(want, Math.abs));
      expect(scale).toBeGreaterThan(0);
      compiled[k].values().forEach((g, i) => {
        expect(Math.abs(g - want[i]!)).toBeLessThan(1e-4 * scale);
      });
    }
  });
});

describe("evaluateNll", () => {
  it("VLB: compiled equals eager; report with per-timestep terms and confidence intervals", async () => {
    const progress: number[] = [];
    const compiled = await evaluateNll({
      ...base(),
      method: "vlb",
      timestepBatch: 5,
      onProgress: (d) => progress.push(d),
    });
    const eager = await evaluateNll({ ...base(), method: "vlb", eager: true });
    expect(compiled.data).toBe("8-bit");
    expect(compiled.perExample.length).toBe(N);
    compiled.perExample.forEach((b, i) => {
      expect(Math.abs(b - eager.perExample[i]!)).toBeLessThan(1e-3 * b);
    });
    const { mean, lo, hi, n } = compiled.bitsPerDim;
    expect(n).toBe(N);
    expect(lo).toBeLessThan(mean);
    expect(hi).toBeGreaterThan(mean);
    const vlb = compiled.vlb!;
    expect(vlb.terms.length).toBe(20);
    expect(vlb.terms.reduce((a, b) => a + b, 0) + vlb.prior.mean).toBeCloseTo(mean, 8);
    expect(progress.at(-1)).toBe(N);
    expect(progress.every((d, i) => i === 0 || d >= progress[i - 1]!)).toBe(true);
  });

  it("ODE: a finite bits/dim per example from the compiled field", async () => {
    const r = await evaluateNll({ ...base(), method: "ode", count: 2, rtol: 1e-3, atol: 1e-3 });
    expect(r.perExample.length).toBe(2);
    r.perExample.forEach((b) => {
      expect(Number.isFinite(b)).toBe(true);
    });
    expect(r.ode!.meanNfev).toBeGreaterThan(6);
    expect(r.vlb).toBeUndefined();
  });

  it("conditions a class-conditional model on the data's labels, or on the null class", async () => {
    const o = { ...base(conditional), method: "vlb" as const, count: 2 };
    const labelled = await evaluateNll(o);
    const nullClass = await evaluateNll({ ...o, nullClass: 2 });
    expect(labelled.perExample[0]).not.toBe(nullClass.perExample[0]);
    await expect(evaluateNll({ ...o, data: { ...DATA, labels: undefined } })).rejects.toThrow(
      /data.labels "none" is not labels for a class-conditional model/,
    );
    await expect(evaluateNll({ ...o, nullClass: 3 })).rejects.toThrow(
      /nullClass 3 is not an integer in \[0, 2\]/,
    );
  });

  it("vector data: continuous decoder and no dequantization (values outside [-1, 1] allowed)", async () => {
    const mlp = denoiserFromConfig(
      {
        _class_name: "MLPDenoiser",
        in_features: 2,
        hidden_size: 16,
        num_layers: 2,
      },
      makeKey(4),
    );
    const points: VectorDataset = {
      kind: "points",
      name: "toy",
      data: Float32Array.from([1.7, -2.2, 0.3, 0.1, -0.5, 3.1]),
      dim: 2,
      normalization: { mean: [0, 0], std: [1, 1] },
    };
    const o = { denoiser: mlp, params: mlp.module.parameters(), schedulerConfig: SCHEDULER, data: points };
    for (const method of ["vlb", "ode"] as const) {
      const r = await evaluateNll({ ...o, method, rtol: 1e-3, atol: 1e-3 });
      expect(r.data).toBe("continuous");
      expect(r.perExample.length).toBe(3);
      for (const b of r.perExample) expect(Number.isFinite(b)).toBe(true);
    }
  });

  it("rejects bad input, naming the field", async () => {
    const o = { ...base(), method: "vlb" as const };
    await expect(evaluateNll({ ...o, count: 5 })).rejects.toThrow(/count 5 is not an integer in \[1, 4\]/);
    await expect(evaluateNll({ ...o, batchSize: 0 })).rejects.toThrow(/batchSize 0 is not an integer >= 1/);
    await expect(evaluateNll({ ...o, method: "elbo" as "vlb" })).rejects.toThrow(
      /method "elbo" is not one of vlb, ode/,
    );
    await expect(
      evaluateNll({ ...o, schedulerConfig: { ...SCHEDULER, variance_type: "learned" } }),
    ).rejects.toThrow(/variance_type "learned" is not one of fixed_small/);
    await expect(evaluateNll({ ...o, data: { ...DATA, shape: [1, 4, 16] } })).rejects.toThrow(
      /data example shape "\[1, 4, 16\]" is not the model's \[1, 8, 8\]/,
    );
  });
});
