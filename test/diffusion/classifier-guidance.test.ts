import { describe, expect, it } from "vitest";
import {
  alphaBarAtTimestep,
  classifierGuided,
  guidedEps,
  outputFromEps,
} from "../../src/diffusion/classifier-guidance.js";
import { alphaSigmaFromAbar, type PredictionType, predictEps } from "../../src/diffusion/parametrization.js";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import { logSigmas, sigmaToT, trainSigmas } from "../../src/diffusion/sigma-grid.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { NoiseConditionedClassifier } from "../../src/models/noise-classifier.js";
import { nodeOrt } from "../../src/onnx/node.js";
import {
  classifierGradient,
  compiledLogProbValueAndGrad,
  logProbValueAndGrad,
  sumLogProb,
} from "../../src/pipelines/classifier-gradient.js";
import { generate } from "../../src/pipelines/generate.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";
import { TINY_CLASSIFIER } from "../models/classifier-fixture.js";

T.setDefaultRuntime(nodeOrt);

const SCHEDULE = { num_train_timesteps: 100, beta_schedule: "linear", beta_start: 1e-4, beta_end: 0.02 };
const abar = alphasCumprod(betasFor(SCHEDULE));
const classifier = new NoiseConditionedClassifier(TINY_CLASSIFIER, { key: makeKey(2) });
const params = classifier.initParameters(makeKey(5));
const labels = Int32Array.from([0, 2]);
const y = T.tensor(labels, [2], "int32");
const x = rand(11, [2, 1, 8, 8]);

const maxDiff = (a: T.Tensor, b: T.Tensor) =>
  Math.max(...[...a.values()].map((v, i) => Math.abs(v - (b.values()[i] as number))));

describe("classifier guidance math", () => {
  it("the compiled gradient graph equals the eager value and gradient", async () => {
    const t = T.full([2], 37);
    const eager = logProbValueAndGrad(classifier)(x, params, t, y);
    const compiled = await compiledLogProbValueAndGrad(classifier)(x, params, t, y);
    expect(compiled.value.item()).toBeCloseTo(eager.value.item(), 4);
    expect(maxDiff(compiled.grads, eager.grads)).toBeLessThan(1e-4);
    expect(Math.max(...[...eager.grads.values()].map(Math.abs))).toBeGreaterThan(1e-6);
  });

  it("guided eps = eps - s sqrt(1 - abar_t) grad log p, the gradient checked by finite differences", async () => {
    const t = 37;
    const s = 100; // large, so the guidance term dominates the comparison
    const epsModel = (v: T.Tensor) => T.mul(v, 0.3);
    const guided = classifierGuided(async (v) => epsModel(v), {
      scale: s,
      gradient: classifierGradient(classifier, params, labels),
      prediction: "epsilon",
      alphaBarAt: alphaBarAtTimestep(abar),
    });
    const got = (await guided(x, t)).values();
    const f = (v: T.Tensor) => sumLogProb(classifier)(v, params, T.full([2], t), y).item();
    const sigma = Math.sqrt(1 - abar[t]!);
    const h = 1e-2;
    const xs = Float32Array.from(x.values() as Float32Array);
    let largest = 0;
    for (const i of [0, 17, 63, 64, 100, 127]) {
      const up = Float32Array.from(xs);
      const down = Float32Array.from(xs);
      up[i]! += h;
      down[i]! -= h;
      const g = (f(T.tensor(up, x.shape)) - f(T.tensor(down, x.shape))) / (2 * h);
      const term = got[i]! - 0.3 * xs[i]!; // what the guidance added
      const want = -s * sigma * g;
      expect(Math.abs(term - want), `element ${i}: ${term} vs ${want}`).toBeLessThan(
        0.02 * Math.abs(want) + 2e-3,
      );
      largest = Math.max(largest, Math.abs(want));
    }
    // the guidance term is far above the tolerance, so the check can fail
    expect(largest).toBeGreaterThan(0.1);
  });

  it("scale 0 leaves the model output unchanged; the sign pushes log p up", async () => {
    const model = async (v: T.Tensor) => T.mul(v, 0.3);
    const grad = classifierGradient(classifier, params, labels);
    const zero = classifierGuided(model, {
      scale: 0,
      gradient: grad,
      prediction: "epsilon",
      alphaBarAt: () => 0.5,
    });
    expect([...(await zero(x, 10)).values()]).toEqual([...T.mul(x, 0.3).values()]);
    // a small step against guided eps (x0 direction) raises log p(y | x): eps_hat - eps = -s sigma grad
    const g = await grad(x, 10);
    const f = (v: T.Tensor) => sumLogProb(classifier)(v, params, T.full([2], 10), y).item();
    expect(f(T.add(x, T.mul(g, 1e-2)))).toBeGreaterThan(f(x));
    expect(maxDiff(guidedEps(T.zerosLike(x), g, 0.5, 2), T.mul(g, -1))).toBeLessThan(1e-7);
  });

  it("eps-, v- and x0-prediction models give the same guided eps", async () => {
    const eps = rand(3, [2, 1, 8, 8]);
    const gradient = classifierGradient(classifier, params, labels);
    for (const t of [5, 37, 99, 12.5]) {
      const at = alphaBarAtTimestep(abar);
      const c = alphaSigmaFromAbar(at(t));
      const results: T.Tensor[] = [];
      for (const type of ["epsilon", "v_prediction", "sample"] as PredictionType[]) {
        const out = outputFromEps(type, eps, x, c); // the same network written in each parametrisation
        expect(maxDiff(predictEps(type, out, x, c), eps)).toBeLessThan(1e-4);
        const guided = classifierGuided(async () => out, {
          scale: 3,
          gradient,
          prediction: type,
          alphaBarAt: at,
        });
        results.push(predictEps(type, await guided(x, t), x, c));
      }
      expect(maxDiff(results[1]!, results[0]!), `v at t=${t}`).toBeLessThan(2e-3);
      expect(maxDiff(results[2]!, results[0]!), `x0 at t=${t}`).toBeLessThan(2e-3);
    }
  });

  it("abar at a fractional timestep inverts diffusers' sigma -> t map (log-sigma interpolation)", () => {
    const at = alphaBarAtTimestep(abar);
    expect(at(40)).toBe(abar[40]);
    const sig = trainSigmas(abar);
    const ls = logSigmas(sig);
    for (const sigma of [sig[3]! * 1.01, Math.sqrt(sig[40]! * sig[41]!), sig[90]! * 0.999]) {
      const t = sigmaToT(sigma, ls);
      expect(at(t)).toBeCloseTo(1 / (1 + sigma * sigma), 5);
    }
  });
});

describe("generate with a classifier", () => {
  const unconditional = denoiserFromConfig(
    {
      _class_name: "UNet2DModel",
      sample_size: 8,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8],
      down_block_types: ["DownBlock2D"],
      up_block_types: ["UpBlock2D"],
      norm_num_groups: 4,
      layers_per_block: 1,
    },
    makeKey(4),
  );
  const base = {
    denoiser: unconditional,
    params: unconditional.module.parameters(),
    schedulerConfig: { ...SCHEDULE, prediction_type: "epsilon" },
    steps: 3,
    numSamples: 2,
    seed: 1,
    labels,
  };

  it("runs with scheduler and continuous samplers; scale 0 equals no guidance, scale 5 differs", async () => {
    for (const sampler of ["ddim", "euler", "dpmsolver++", "reverse_sde"]) {
      const plain = await generate({ ...base, labels: undefined, sampler });
      const zero = await generate({ ...base, sampler, classifier: { classifier, params, scale: 0 } });
      const five = await generate({ ...base, sampler, classifier: { classifier, params, scale: 5 } });
      expect([...zero.samples], sampler).toEqual([...plain.samples]);
      const d = Math.max(...[...five.samples].map((v, i) => Math.abs(v - plain.samples[i]!)));
      expect(d, sampler).toBeGreaterThan(1e-4);
    }
  });

  it("combines with classifier-free guidance on a conditional model", async () => {
    const cond = denoiserFromConfig({ ...unconditional.toConfig(), num_class_embeds: 4 }, makeKey(6));
    const o = {
      ...base,
      denoiser: cond,
      params: cond.module.parameters(),
      sampler: "ddim",
      guidanceScale: 3,
      nullClass: 3,
    };
    const cfgOnly = await generate(o);
    const both = await generate({ ...o, classifier: { classifier, params, scale: 4 } });
    expect(both.samples.length).toBe(cfgOnly.samples.length);
    expect(Math.max(...[...both.samples].map((v, i) => Math.abs(v - cfgOnly.samples[i]!)))).toBeGreaterThan(
      1e-4,
    );
  });

  it("refuses labels the classifier does not have, missing labels and a mismatched image size", async () => {
    const g = { classifier: { classifier, params, scale: 1 } };
    await expect(
      generate({ ...base, sampler: "ddim", ...g, labels: Int32Array.from([0, 3]) }),
    ).rejects.toThrow(/class-labels: label 3 is outside \[0, 3\) \(the classifier has 3 classes\)/);
    await expect(generate({ ...base, sampler: "ddim", ...g, labels: undefined })).rejects.toThrow(
      /classifier guidance needs one label/,
    );
    const big = new NoiseConditionedClassifier({ ...TINY_CLASSIFIER, sample_size: 16 });
    await expect(
      generate({
        ...base,
        sampler: "ddim",
        classifier: { classifier: big, params: big.parameters(), scale: 1 },
      }),
    ).rejects.toThrow(/takes examples of shape \[1, 16, 16\] but the model makes \[1, 8, 8\]/);
  });
});
