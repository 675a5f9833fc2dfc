/**
 * inpaint() on tiny random-weight models: known entries bit for bit with several samplers, RePaint
 * and reconstruction guidance, for images and vectors; the reconstruction gradient compiled ==
 * eager and against finite differences; clear errors for bad shapes and masks.
 */
import { describe, expect, it } from "vitest";
import { topClasses } from "../../src/diffusion/class-posterior.js";
import { reconstructionLoss } from "../../src/diffusion/constraints/reconstruction.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { compiledReconstructionGradient, inferClasses, inpaint } from "../../src/pipelines/inpaint.js";
import { DiffusionPipeline } from "../../src/pipelines/pipeline.js";
import { makeKey } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/compile.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";

setDefaultRuntime(nodeOrt);

const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  beta_start: 1e-4,
  beta_end: 0.02,
  prediction_type: "epsilon",
};
const UNET = {
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8],
  down_block_types: ["DownBlock2D"],
  up_block_types: ["UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
};

function pipeOf(config: Record<string, unknown>): DiffusionPipeline {
  const denoiser = denoiserFromConfig(config, makeKey(5));
  return new DiffusionPipeline({
    denoiser,
    params: denoiser.module.parameters(),
    schedulerConfig: SCHEDULER,
  });
}

const images = T.clip(rand(3, [2, 1, 8, 8], -1.2, 1.2), -1, 1);
const leftHalf = T.tensor(
  Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)),
  [1, 1, 8, 8],
);

function expectKnownExact(
  out: Float32Array | ArrayLike<number>,
  known: ArrayLike<number>,
  keep: (i: number) => boolean,
) {
  let kept = 0;
  let changed = 0;
  for (let i = 0; i < out.length; i++) {
    if (keep(i)) {
      expect(Object.is(out[i], known[i]), `entry ${i}`).toBe(true);
      kept++;
    } else if (out[i] !== known[i]) changed++;
  }
  expect(kept).toBeGreaterThan(0);
  expect(changed).toBeGreaterThan(0);
}

describe("inpaint", () => {
  const pipe = pipeOf(UNET);
  for (const sampler of ["ddpm", "ddim", "euler", "dpmsolver++", "reverse_sde"]) {
    it(`keeps the known pixels bit for bit (${sampler}, replacement)`, async () => {
      const out = await inpaint(pipe, images, leftHalf, { sampler, steps: 4, seed: 1 });
      expect(out.samples.shape).toEqual([2, 1, 8, 8]);
      expectKnownExact(out.samples.values(), images.values(), (i) => i % 8 < 4);
    });
  }
  it("RePaint: known pixels bit for bit, one network call per down step", async () => {
    const out = await inpaint(pipe, images, leftHalf, { steps: 6, repaint: { jump: 2, resample: 2 } });
    expect(out.nfe).toBe(6 + 2 * 1 * 2);
    expect(out.sampler).toBe("repaint(jump=2,resample=2)");
    expectKnownExact(out.samples.values(), images.values(), (i) => i % 8 < 4);
  });
  it("reconstruction guidance changes the completion and keeps the known pixels", async () => {
    const plain = await inpaint(pipe, images, leftHalf, { sampler: "ddim", steps: 3 });
    const guided = await inpaint(pipe, images, leftHalf, {
      sampler: "ddim",
      steps: 3,
      reconstructionGuidance: 5,
    });
    expect(guided.nfe).toBe(3);
    expectKnownExact(guided.samples.values(), images.values(), (i) => i % 8 < 4);
    expect(Array.from(guided.samples.values())).not.toEqual(Array.from(plain.samples.values()));
  });
  it("works on vectors [N, D] with a per-sample mask", async () => {
    const mlp = pipeOf({ _class_name: "MLPDenoiser", in_features: 3, hidden_size: 16, num_layers: 1 });
    const rows = rand(7, [4, 3]);
    const mask = T.tensor(Float32Array.from([1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1]), [4, 3]);
    for (const o of [
      { sampler: "ddim" },
      { repaint: { jump: 1, resample: 2 } },
      { reconstructionGuidance: 1 },
    ]) {
      const out = await inpaint(mlp, rows, mask, { steps: 3, ...o });
      const m = mask.values();
      const v = out.samples.values();
      for (let i = 0; i < 12; i++) if (m[i]) expect(Object.is(v[i], rows.values()[i])).toBe(true);
      expect(v[1]).not.toBe(rows.values()[1]);
    }
  });
  it("generate() passes x0Transform and the hook to the continuous samplers (reverse SDE, PC)", async () => {
    for (const sampler of ["reverse_sde", "pc"]) {
      const seen: number[] = [];
      const levels: number[] = [];
      await pipe.generate({
        sampler,
        steps: 3,
        numSamples: 1,
        x0Transform: (x0, info) => {
          seen.push(info.index);
          return x0;
        },
        hook: (_x, info) => {
          levels.push(info.level.alpha ** 2 + info.level.sigma ** 2);
          return undefined;
        },
      });
      expect(seen).toEqual(sampler === "pc" ? [0, 0, 1, 1, 2, 2] : [0, 1, 2]);
      expect(levels.map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 1, 1]);
    }
    await expect(pipe.generate({ sampler: "pf_ode", numSamples: 1, hook: () => undefined })).rejects.toThrow(
      /step hook needs a fixed-step sampler/,
    );
  });
  it("names the input and the mask with both shapes, and a non-binary mask value", async () => {
    await expect(inpaint(pipe, rand(1, [2, 1, 6, 6]), leftHalf, { inputName: "in.png" })).rejects.toThrow(
      "in.png: shape [2, 1, 6, 6] does not match the model's samples [N, 1, 8, 8]",
    );
    await expect(inpaint(pipe, images, T.ones([3, 1, 8, 8]), { maskName: "m.safetensors" })).rejects.toThrow(
      "m.safetensors: mask: shape [3, 1, 8, 8] does not broadcast to the samples' shape [2, 1, 8, 8]",
    );
    const half = T.full([1, 1, 8, 8], 0.5);
    await expect(inpaint(pipe, images, half)).rejects.toThrow(
      /mask: value 0.5 at flat index 0 is not binary/,
    );
    await expect(inpaint(pipe, images, leftHalf, { labels: [1, 2] })).rejects.toThrow(/unconditional/);
  });
});

describe("the reconstruction gradient", () => {
  const pipe = pipeOf(UNET);
  const x = rand(11, [2, 1, 8, 8]);
  const t = T.full([2], 40);
  const mask = T.tensor(Float32Array.from(leftHalf.values()), [1, 1, 8, 8]);
  const alpha = T.full([1], 0.8);
  const sigma = T.full([1], 0.6);
  const loss = (xx: T.Tensor, p: Params) =>
    reconstructionLoss("epsilon", xx, pipe.denoiser.forward(p, xx, t), images, mask, alpha, sigma);

  it("compiled equals eager, and matches central finite differences", async () => {
    const eager = T.valueAndGrad(loss)(x, pipe.params);
    const compiled = await compiledReconstructionGradient(pipe.denoiser, "epsilon")(
      x,
      pipe.params,
      t,
      images,
      mask,
      alpha,
      sigma,
    );
    expect(compiled.value.values()[0]).toBeCloseTo(eager.value.values()[0]!, 2);
    const ge = eager.grads.values();
    const gc = compiled.grads.values();
    let scale = 0;
    for (const v of ge) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < ge.length; i++) expect(Math.abs(gc[i]! - ge[i]!)).toBeLessThan(1e-3 * scale);
    // Finite differences on a few entries of both halves (the unknown half gets gradient only
    // through the network).
    const h = 1e-2;
    for (const i of [0, 5, 37, 70, 127]) {
      const xs = Float32Array.from(x.values());
      xs[i] = xs[i]! + h;
      const up = loss(T.tensor(Float32Array.from(xs), x.shape), pipe.params).loss.values()[0]!;
      xs[i] = xs[i]! - 2 * h;
      const down = loss(T.tensor(xs, x.shape), pipe.params).loss.values()[0]!;
      const fd = (up - down) / (2 * h);
      expect(Math.abs(fd - ge[i]!), `entry ${i}: fd ${fd} vs ${ge[i]}`).toBeLessThan(2e-2 * scale + 1e-3);
    }
  });
});

describe("inpaint with inferClass", () => {
  const denoiser = denoiserFromConfig({ ...UNET, num_class_embeds: 4 }, makeKey(8));
  const conditional = (info: Record<string, unknown>) =>
    new DiffusionPipeline({
      denoiser,
      params: denoiser.module.parameters(),
      schedulerConfig: SCHEDULER,
      info: info as never,
    });
  const joint = conditional({ numClasses: 3, nullClass: 3 });

  for (const o of [
    { sampler: "ddpm" },
    { sampler: "ddim", reconstructionGuidance: 3 },
    { repaint: { jump: 2, resample: 2 } },
  ]) {
    it(`keeps the known pixels bit for bit and reports the posterior (${JSON.stringify(o)})`, async () => {
      let seen: { probs: Float64Array; picked: Int32Array } | undefined;
      const out = await inpaint(joint, images, leftHalf, {
        ...o,
        steps: 4,
        seed: 2,
        inferClass: { levels: 3, onPosterior: (p, picked) => (seen = { probs: p.probs, picked }) },
      });
      expectKnownExact(out.samples.values(), images.values(), (i) => i % 8 < 4);
      expect(seen!.probs.length).toBe(2 * 3);
      for (let n = 0; n < 2; n++) {
        const row = Array.from(seen!.probs.subarray(3 * n, 3 * n + 3));
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
      expect(Array.from(out.labels!)).toEqual(Array.from(seen!.picked));
      expect(out.sampler).toMatch(/^inferred class/);
    });
  }
  it("inferClasses gives the classes inpaint completes toward", async () => {
    const o = { steps: 3, seed: 4, inferClass: { levels: 2 } };
    const r = await inferClasses(joint, images, leftHalf, o);
    const out = await inpaint(joint, images, leftHalf, o);
    expect(Array.from(out.labels!)).toEqual(Array.from(r.classes));
    expect(r.posterior.probs.length).toBe(6);
    expect(r.nfe).toBe(3 + 2 * 3); // the null-class pass, then 2 levels x 3 classes
  });
  it("the mean fill and guidance 1 give a different completion than the default", async () => {
    const a = await inpaint(joint, images, leftHalf, { steps: 3, inferClass: true });
    const b = await inpaint(joint, images, leftHalf, {
      steps: 3,
      inferClass: { fill: "mean", levels: 2, pick: "sample" },
      guidanceScale: 1,
    });
    expectKnownExact(b.samples.values(), images.values(), (i) => i % 8 < 4);
    expect(Array.from(a.samples.values())).not.toEqual(Array.from(b.samples.values()));
  });
  it("candidates: keeps, per image, the top-C completion its own class explains best", async () => {
    let probs: Float64Array | undefined;
    const o = { steps: 3, seed: 6, guidanceScale: 2 };
    const out = await inpaint(joint, images, leftHalf, {
      ...o,
      inferClass: { levels: 2, candidates: 2, onPosterior: (p) => (probs = p.probs) },
    });
    expectKnownExact(out.samples.values(), images.values(), (i) => i % 8 < 4);
    const top = topClasses(probs!, 3, 2);
    const kept = Array.from(out.labels!);
    for (const [n, k] of kept.entries()) expect([top[0]![n], top[1]![n]]).toContain(k);
    // Each kept completion is the guided completion toward its class (same seed, per-row noise).
    const direct = await inpaint(joint, images, leftHalf, { ...o, labels: out.labels! });
    expect(Array.from(out.samples.values())).toEqual(Array.from(direct.samples.values()));
    // The null-class pass (3) and the posterior (2 levels x 3 classes), then 2 guided completions of
    // 3 steps and the scoring of 2 candidates at 2 levels.
    expect(out.nfe).toBe(3 + 2 * 3 + 2 * 3 + 2 * 2);
    expect(out.sampler).toMatch(
      /^inferred class \(2 levels, completion fill, argmax, guidance 2, best of 2 completions\) \+ ddpm/,
    );
    // The kept one has the lower error: recompute both candidates' errors the same way.
    const c0 = await inpaint(joint, images, leftHalf, { ...o, labels: top[0]! });
    const c1 = await inpaint(joint, images, leftHalf, { ...o, labels: top[1]! });
    const one = await inpaint(joint, images, leftHalf, { ...o, inferClass: { levels: 2 } });
    expect(Array.from(one.samples.values())).toEqual(Array.from(c0.samples.values()));
    expect(Array.from(one.labels!)).toEqual(Array.from(top[0]!));
    const D = 64;
    for (let n = 0; n < 2; n++) {
      const pick = kept[n] === top[0]![n] ? c0 : c1;
      expect(Array.from(out.samples.values().subarray(n * D, (n + 1) * D))).toEqual(
        Array.from(pick.samples.values().subarray(n * D, (n + 1) * D)),
      );
    }
    await expect(
      inpaint(joint, images, leftHalf, { ...o, inferClass: { candidates: 2, pick: "sample" } }),
    ).rejects.toThrow(/candidates: 2 needs pick "argmax"/);
    await expect(inpaint(joint, images, leftHalf, { ...o, inferClass: { candidates: 4 } })).rejects.toThrow(
      /class candidates.*\[1, 3\]/,
    );
  });
  it("refuses unconditional models, models without a null class, and given labels", async () => {
    await expect(inpaint(pipeOf(UNET), images, leftHalf, { inferClass: true })).rejects.toThrow(
      /inferClass: the model is unconditional.*_diffuse\.nullClass/,
    );
    await expect(
      inpaint(conditional({ numClasses: 4 }), images, leftHalf, { inferClass: true }),
    ).rejects.toThrow(/inferClass: the model has no null class \(model_index.json _diffuse.nullClass/);
    await expect(inpaint(joint, images, leftHalf, { inferClass: true, labels: [0, 1] })).rejects.toThrow(
      /either labels or inferClass/,
    );
  });
});
