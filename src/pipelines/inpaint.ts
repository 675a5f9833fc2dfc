/**
 * Inpainting with a trained (unconditional or class-conditional) model, no retraining: the known
 * part of each sample is given, the rest is generated to fit (tutorial 8.2.3).
 *
 *   const out = await inpaint(pipe, images, mask, { sampler: "ddpm", steps: 50 });          // replacement
 *   await inpaint(pipe, images, mask, { steps: 20, repaint: { jump: 5, resample: 4 } });   // RePaint
 *   await inpaint(pipe, images, mask, { reconstructionGuidance: 2 });                      // + Ho et al.
 *
 * images: [N, C, H, W] (or vectors [N, D]) in model space ([-1, 1]); mask broadcastable to it,
 * [N or 1, 1 or C, H, W], 1 = keep. Three methods (diffusion/constraints/):
 * - replacement (replace.ts) with any fixed-step sampler, via the loop's step hook;
 * - RePaint resampling (repaint.ts) on the model's DDPM grid when `repaint` is given;
 * - reconstruction guidance (reconstruction.ts) on top of either (it replaces the model function),
 *   its gradient through the compiled network (`T.compile(T.valueAndGrad(...))`); not with pf_ode.
 * Known entries of the result equal the given values bit for bit. Browser-safe.
 */
import { knownPart } from "../diffusion/constraints/mask.js";
import {
  type GradientFn,
  reconstructionGuided,
  reconstructionLoss,
} from "../diffusion/constraints/reconstruction.js";
import { sampleRepaint } from "../diffusion/constraints/repaint.js";
import { replacement } from "../diffusion/constraints/replace.js";
import { gaussianNoise } from "../diffusion/noise.js";
import type { PredictionType } from "../diffusion/parametrization.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";
import { checkFiniteSamples, compiledForward } from "./generate.js";
import { type DiffusionPipeline, PipelineOutput } from "./pipeline.js";
import type { SamplerSpec } from "./samplers.js";

export interface InpaintOptions {
  /** Sampler name or spec (default "ddpm"); ignored by RePaint (always DDPM ancestral). */
  sampler?: string | SamplerSpec;
  /** Sampling steps (RePaint: the levels n of its grid; default 50). */
  steps?: number;
  seed?: number;
  /** RePaint resampling (Lugmayr et al. 2022): jump length J and resample count R. */
  repaint?: { jump: number; resample: number };
  /** Reconstruction guidance weight w_r (Ho et al. 2022 eq. 7); 0 / absent: off. */
  reconstructionGuidance?: number;
  /** One class per sample, for class-conditional models (no classifier-free guidance here). */
  labels?: ArrayLike<number>;
  threads?: number;
  onStep?: (i: number, total: number) => void;
  /** Names the input in shape errors (e.g. the file it came from). */
  inputName?: string;
  maskName?: string;
}

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

/** Throws unless `images` are [N, ...example shape] of the model, naming `name` and both shapes. */
function checkImages(pipe: DiffusionPipeline, images: T.Tensor, name: string): void {
  const ex = pipe.denoiser.exampleShape;
  if (images.rank !== ex.length + 1 || ex.some((d, i) => images.shape[i + 1] !== d)) {
    throw new Error(
      `${name}: shape ${fmt(images.shape)} does not match the model's samples [N, ${ex.join(", ")}]`,
    );
  }
}

type GradFn = (
  x: T.Tensor,
  p: Params,
  t: T.Tensor,
  known: T.Tensor,
  mask: T.Tensor,
  alpha: T.Tensor,
  sigma: T.Tensor,
  y?: T.Tensor,
) => Promise<{ value: T.Tensor; grads: T.Tensor; aux: T.Tensor }>;

const gradients = new WeakMap<Denoiser, Map<string, GradFn>>();

/** The compiled value-and-gradient (w.r.t. x_t) of the reconstruction loss, cached per denoiser. */
export function compiledReconstructionGradient(
  denoiser: Denoiser,
  type: PredictionType,
  threads = 0,
  labelled = false,
): GradFn {
  let byKey = gradients.get(denoiser);
  if (!byKey) {
    byKey = new Map();
    gradients.set(denoiser, byKey);
  }
  const key = `${type}/${threads}/${labelled}`;
  let f = byKey.get(key);
  if (!f) {
    const loss = (
      x: T.Tensor,
      p: Params,
      t: T.Tensor,
      known: T.Tensor,
      mask: T.Tensor,
      alpha: T.Tensor,
      sigma: T.Tensor,
      y?: T.Tensor,
    ) => reconstructionLoss(type, x, denoiser.forward(p, x, t, y), known, mask, alpha, sigma);
    const opts = threads > 0 ? { threads } : {};
    const vg = T.valueAndGrad(loss);
    const compiled = labelled
      ? T.compile(
          (
            x: T.Tensor,
            p: Params,
            t: T.Tensor,
            k: T.Tensor,
            m: T.Tensor,
            a: T.Tensor,
            s: T.Tensor,
            y: T.Tensor,
          ) => vg(x, p, t, k, m, a, s, y),
          opts,
        )
      : T.compile(
          (x: T.Tensor, p: Params, t: T.Tensor, k: T.Tensor, m: T.Tensor, a: T.Tensor, s: T.Tensor) =>
            vg(x, p, t, k, m, a, s),
          opts,
        );
    f = (x, p, t, k, m, a, s, y) =>
      (labelled
        ? compiled(x, p, t, k, m, a, s, y as T.Tensor)
        : (compiled as never as GradFn)(x, p, t, k, m, a, s)) as Promise<{
        value: T.Tensor;
        grads: T.Tensor;
        aux: T.Tensor;
      }>;
    byKey.set(key, f);
  }
  return f;
}

/** Completes the unknown part (mask 0) of `images`; known entries (mask 1) come back unchanged. */
export async function inpaint(
  pipe: DiffusionPipeline,
  images: T.Tensor,
  mask: T.Tensor,
  o: InpaintOptions = {},
): Promise<PipelineOutput> {
  checkImages(pipe, images, o.inputName ?? "images");
  const shape = [...images.shape];
  const N = shape[0]!;
  const part = (() => {
    try {
      return knownPart(images, mask, shape);
    } catch (e) {
      if (o.maskName && e instanceof Error) e.message = `${o.maskName}: ${e.message}`;
      throw e;
    }
  })();
  const steps = o.steps ?? 50;
  const seed = o.seed ?? 0;
  const type = (pipe.schedulerConfig.prediction_type ?? "epsilon") as PredictionType;
  const labels = o.labels ? Int32Array.from(o.labels) : undefined;
  if ((pipe.numClasses === null) !== (labels === undefined)) {
    throw new Error(
      labels
        ? "labels: the model is unconditional; omit them"
        : `labels: the model is class-conditional; give one label in [0, ${pipe.numClasses}) per sample`,
    );
  }
  if (labels && labels.length !== N)
    throw new Error(`labels: got ${labels.length}, expected one per sample (${N})`);
  const y = labels ? T.tensor(labels, [N], "int32") : undefined;
  const known = T.tensor(part.known, shape);
  const maskT = T.tensor(Float32Array.from(part.mask), shape);
  const w = o.reconstructionGuidance ?? 0;
  const abar = (pipe.scheduler("ddpm") as unknown as { alphasCumprod: Float64Array }).alphasCumprod;
  let nfe = 0;
  let guidedModel: ((x: T.Tensor, t: number) => Promise<T.Tensor>) | undefined;
  if (w > 0) {
    const vg = compiledReconstructionGradient(pipe.denoiser, type, o.threads ?? 0, y !== undefined);
    const gradient: GradientFn = async (x, t, level) => {
      nfe++;
      const r = await vg(
        x,
        pipe.params,
        T.full([N], t),
        known,
        maskT,
        T.full([1], level.alpha),
        T.full([1], level.sigma),
        y,
      );
      return { output: r.aux, grad: r.grads, loss: r.value.values()[0]! };
    };
    guidedModel = reconstructionGuided(gradient, { weight: w, predictionType: type, alphasCumprod: abar });
  }
  let samples: Float32Array;
  let name: string;
  if (o.repaint) {
    const scheduler = pipe.scheduler("ddpm");
    scheduler.setTimesteps(steps);
    const forward = compiledForward(pipe.denoiser, o.threads);
    const model =
      guidedModel ??
      (async (x: T.Tensor, t: number) => {
        nfe++;
        return forward(pipe.params, x, T.full([N], t), y);
      });
    const x = await sampleRepaint(model, {
      timesteps: scheduler.timesteps,
      alphasCumprod: abar,
      predictionType: type,
      x0Processing: scheduler.config as never,
      jump: o.repaint.jump,
      resample: o.repaint.resample,
      known: part,
      noise: gaussianNoise(seed),
      ...(o.onStep ? { onStep: o.onStep } : {}),
    });
    samples = Float32Array.from(x.values() as Float32Array);
    name = `repaint(jump=${o.repaint.jump},resample=${o.repaint.resample})`;
  } else {
    const out = await pipe.generate({
      sampler: o.sampler ?? "ddpm",
      steps,
      seed,
      numSamples: N,
      ...(labels ? { labels, guidanceScale: 1 } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.onStep ? { onStep: o.onStep } : {}),
      hook: replacement(known, maskT),
      ...(guidedModel ? { wrapModel: () => guidedModel } : {}),
    });
    samples = Float32Array.from(out.samples.values() as Float32Array);
    name = out.sampler;
    nfe += out.nfe;
  }
  checkFiniteSamples(samples, shape, steps);
  return new PipelineOutput(T.tensor(samples, shape), labels, pipe.info, name, nfe);
}
