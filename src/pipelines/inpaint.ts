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
import {
  type ClassPosterior,
  classPosterior,
  maskedDenoisingErrors,
  posteriorTimesteps,
  sampleClasses,
  topClasses,
} from "../diffusion/class-posterior.js";
import { knownPart } from "../diffusion/constraints/mask.js";
import {
  type GradientFn,
  reconstructionGuided,
  reconstructionLoss,
} from "../diffusion/constraints/reconstruction.js";
import { sampleRepaint } from "../diffusion/constraints/repaint.js";
import { replacement } from "../diffusion/constraints/replace.js";
import { guidedOutput } from "../diffusion/guidance.js";
import { gaussianNoise } from "../diffusion/noise.js";
import type { PredictionType } from "../diffusion/parametrization.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { makeKey } from "../random/philox.js";
import { uniform } from "../random/sample.js";
import * as T from "../tensor/index.js";
import { checkFiniteSamples, compiledForward, generate } from "./generate.js";
import { type DiffusionPipeline, PIPELINE_DEFAULTS, PipelineOutput } from "./pipeline.js";
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
  /** One class per sample, for class-conditional models. */
  labels?: ArrayLike<number>;
  /**
   * Infer each sample's class from its known part (class-conditional models trained with label
   * dropout, i.e. with a null class: a model of p(x, y)) and complete with classifier-free guidance
   * toward it (`guidanceScale`). Never with `labels`. See `InferClassOptions`.
   */
  inferClass?: boolean | InferClassOptions;
  /**
   * Classifier-free guidance scale toward the labels (given or inferred; needs a null class). Default:
   * the pipeline's (PIPELINE_DEFAULTS.guidanceScale) with `inferClass`, 1 (none) with given labels.
   */
  guidanceScale?: number;
  threads?: number;
  onStep?: (i: number, total: number) => void;
  /** Names the input in shape errors (e.g. the file it came from). */
  inputName?: string;
  maskName?: string;
}

/**
 * How `inpaint` infers the class of each sample from its known part (diffusion/class-posterior.ts):
 * 1. a fill of the unknown part: "completion" (default) inpaints once in the null class (the model's
 *    unconditional mode) with the same method and steps; "mean" fills with each sample's mean known value;
 * 2. p(y | x_known) from the model's masked denoising errors on the fill at `levels` noise levels
 *    (the same noise for every class);
 * 3. y-hat = its argmax ("argmax", default) or a draw from it ("sample"); the final completion is
 *    guided toward y-hat.
 * With `candidates` C > 1 (argmax only), step 3 completes toward each of the C most probable classes
 * and keeps, per sample, the completion whose known part the model explains best: the masked
 * denoising error of completion k with class k, each completion now the fill of its own class (a
 * coherent fill instead of the null-class one), every candidate of a sample on the same noise. The
 * classes returned are the kept ones.
 */
export interface InferClassOptions {
  /** Noise levels of the posterior estimate, spread over [0.1 T, 0.7 T] (default 5: t = 100, 250, ..., 700 of 1000). */
  levels?: number;
  /** The model timesteps of the posterior estimate instead of `levels` spread evenly. */
  timesteps?: readonly number[];
  /** Noise draws per level (default 1). */
  draws?: number;
  fill?: "completion" | "mean";
  pick?: "argmax" | "sample";
  /** Sharpness tau of the posterior (class-posterior.ts; default 1; argmax does not depend on it). */
  temperature?: number;
  /** Completions toward the top C classes, the best-explained one kept (default 1: the argmax only). */
  candidates?: number;
  /** Called with the posterior and the classes picked (e.g. to measure them against held-out labels). */
  onPosterior?: (posterior: ClassPosterior, picked: Int32Array) => void;
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

/** The model's null class for `inferClass`, or a clear error naming `_diffuse.nullClass`. */
function nullClassFor(pipe: DiffusionPipeline, labels: unknown): number {
  const field = "model_index.json _diffuse.nullClass";
  if (labels !== undefined) throw new Error("inferClass: give either labels or inferClass, not both");
  if (pipe.numClasses === null) {
    throw new Error(
      `inferClass: the model is unconditional; inferring the class needs a class-conditional model trained with label dropout (a null class, ${field})`,
    );
  }
  const nc = pipe.info.nullClass;
  if (nc === undefined || nc === null) {
    throw new Error(
      `inferClass: the model has no null class (${field} is absent); inferring the class needs a model trained with label dropout`,
    );
  }
  return nc;
}

/** The checked inputs of `inpaint` and its one-pass completion (shared by `inferClasses`). */
function prepare(pipe: DiffusionPipeline, images: T.Tensor, mask: T.Tensor, o: InpaintOptions) {
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
  const infer = o.inferClass ? (o.inferClass === true ? {} : o.inferClass) : undefined;
  const nullClass = infer ? nullClassFor(pipe, o.labels) : (pipe.info.nullClass ?? null);
  const labels: Int32Array | undefined = o.labels ? Int32Array.from(o.labels) : undefined;
  if (!infer && (pipe.numClasses === null) !== (labels === undefined)) {
    throw new Error(
      labels
        ? "labels: the model is unconditional; omit them"
        : `labels: the model is class-conditional; give one label in [0, ${pipe.numClasses}) per sample`,
    );
  }
  if (labels && labels.length !== N)
    throw new Error(`labels: got ${labels.length}, expected one per sample (${N})`);
  const scale = o.guidanceScale ?? (infer ? PIPELINE_DEFAULTS.guidanceScale : 1);
  if (!(Number.isFinite(scale) && scale >= 0))
    throw new Error(`guidanceScale: ${scale} is not a finite number >= 0`);
  if (scale !== 1 && !infer && (labels === undefined || nullClass === null)) {
    throw new Error(
      `guidanceScale: ${scale} needs labels and a model trained with label dropout (model_index.json _diffuse.nullClass); use 1`,
    );
  }
  const known = T.tensor(part.known, shape);
  const maskT = T.tensor(Float32Array.from(part.mask), shape);
  const w = o.reconstructionGuidance ?? 0;
  const abar = (pipe.scheduler("ddpm") as unknown as { alphasCumprod: Float64Array }).alphasCumprod;
  const forward = compiledForward(pipe.denoiser, o.threads, pipe.params);

  /** One inpainting pass with classes `y` (or none), guided with `g` toward them when g != 1. */
  const complete = async (y: Int32Array | undefined, g: number, runSeed: number) => {
    const yT = y ? T.tensor(y, [N], "int32") : undefined;
    const guided = yT !== undefined && g !== 1;
    const nullY = guided ? T.full([N], nullClass!, "int32") : undefined;
    const settings = { scale: g };
    let nfe = 0;
    /** The unguided output, or CFG's (cond, null) pair combined; `cond` when already computed. */
    const plain = async (x: T.Tensor, t: number, cond?: T.Tensor): Promise<T.Tensor> => {
      if (!guided) return cond ?? forward(pipe.params, x, T.full([N], t), yT);
      if (cond) return guidedOutput(cond, await forward(pipe.params, x, T.full([N], t), nullY), settings, t);
      const both = await forward(
        pipe.params,
        T.concat([x, x], 0),
        T.full([2 * N], t),
        T.concat([yT, nullY!], 0),
      );
      const [c, u] = T.split(both, [N, N], 0);
      return guidedOutput(c!, u!, settings, t);
    };
    let model: ((x: T.Tensor, t: number) => Promise<T.Tensor>) | undefined;
    if (w > 0) {
      // The gradient goes through the conditional output (one backward pass); with guidance the
      // null-class output is one more forward pass, and the correction acts on the guided x0-hat.
      const vg = compiledReconstructionGradient(pipe.denoiser, type, o.threads ?? 0, yT !== undefined);
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
          yT,
        );
        return { output: await plain(x, t, r.aux), grad: r.grads, loss: r.value.values()[0]! };
      };
      model = reconstructionGuided(gradient, { weight: w, predictionType: type, alphasCumprod: abar });
    } else if (guided || o.repaint) {
      model = async (x, t) => {
        nfe++;
        return plain(x, t);
      };
    }
    if (o.repaint) {
      const scheduler = pipe.scheduler("ddpm");
      scheduler.setTimesteps(steps);
      const x = await sampleRepaint(model!, {
        timesteps: scheduler.timesteps,
        alphasCumprod: abar,
        predictionType: type,
        x0Processing: scheduler.config as never,
        jump: o.repaint.jump,
        resample: o.repaint.resample,
        known: part,
        noise: gaussianNoise(runSeed),
        ...(o.onStep ? { onStep: o.onStep } : {}),
      });
      return {
        samples: Float32Array.from(x.values() as Float32Array),
        name: `repaint(jump=${o.repaint.jump},resample=${o.repaint.resample})`,
        nfe,
      };
    }
    const out = await generate({
      denoiser: pipe.denoiser,
      params: pipe.params,
      sampler: o.sampler ?? "ddpm",
      schedulerConfig: pipe.schedulerConfig,
      ...(pipe.schedulerSource !== undefined ? { schedulerSource: pipe.schedulerSource } : {}),
      steps,
      seed: runSeed,
      numSamples: N,
      ...(y ? { labels: y, guidanceScale: 1 } : {}),
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.onStep ? { onStep: o.onStep } : {}),
      hook: replacement(known, maskT),
      ...(model ? { wrapModel: () => model } : {}),
    });
    return { samples: Float32Array.from(out.samples), name: out.sampler, nfe: nfe + out.nfe };
  };

  return {
    N,
    shape,
    part,
    steps,
    seed,
    type,
    infer,
    nullClass,
    labels,
    scale,
    abar,
    forward,
    maskT,
    complete,
  };
}

/** What `inferClasses` found: the posterior, the classes picked from it, the network evaluations spent. */
export interface InferredClasses {
  posterior: ClassPosterior;
  classes: Int32Array;
  nfe: number;
}

/**
 * The network and settings of a masked denoising error estimate (the class posterior, the
 * candidates' scoring): the posterior's levels and draws, one batch of N rows per call, counted.
 */
function errorSettings(
  pipe: DiffusionPipeline,
  c: ReturnType<typeof prepare>,
  infer: InferClassOptions,
  noiseSeed: number,
) {
  let calls = 0;
  const model = async (x: T.Tensor, t: number, y: T.Tensor) => {
    calls++;
    return c.forward(pipe.params, x, T.full([x.shape[0]!], t), y);
  };
  const options = {
    timesteps: infer.timesteps ?? posteriorTimesteps(c.abar.length, infer.levels ?? 5),
    alphasCumprod: c.abar,
    predictionType: c.type,
    noise: gaussianNoise(noiseSeed),
    batch: c.N,
    ...(infer.draws !== undefined ? { draws: infer.draws } : {}),
  };
  return { model, options, calls: () => calls };
}

async function inferWith(
  pipe: DiffusionPipeline,
  c: ReturnType<typeof prepare>,
  infer: InferClassOptions,
): Promise<InferredClasses> {
  const { N, shape, part, steps, seed } = c;
  let nfe = 0;
  const K = pipe.numClasses!;
  let fill: T.Tensor;
  if ((infer.fill ?? "completion") === "completion") {
    const first = await c.complete(new Int32Array(N).fill(c.nullClass!), 1, seed + 1);
    checkFiniteSamples(first.samples, shape, steps);
    fill = T.tensor(first.samples, shape);
    nfe += first.nfe;
  } else {
    const D = part.known.length / N;
    const f = Float32Array.from(part.known);
    for (let n = 0; n < N; n++) {
      let s = 0;
      let k = 0;
      for (let i = n * D; i < (n + 1) * D; i++) {
        if (!part.mask[i]) continue;
        s += part.known[i]!;
        k++;
      }
      for (let i = n * D; i < (n + 1) * D; i++) if (!part.mask[i]) f[i] = k > 0 ? s / k : 0;
    }
    fill = T.tensor(f, shape);
  }
  const scoring = errorSettings(pipe, c, infer, seed + 2);
  const posterior = await classPosterior(scoring.model, fill, c.maskT, {
    ...scoring.options,
    numClasses: K,
    ...(infer.temperature !== undefined ? { temperature: infer.temperature } : {}),
  });
  nfe += scoring.calls();
  const classes =
    (infer.pick ?? "argmax") === "argmax"
      ? posterior.argmax
      : sampleClasses(posterior.probs, K, uniform(makeKey(seed + 3), N));
  infer.onPosterior?.(posterior, classes);
  return { posterior, classes, nfe };
}

/**
 * Step 1 of `inferClass` alone (InferClassOptions): the class posterior of each image's known part
 * and the classes picked from it, without the final completion. `o` as for `inpaint` (its method and
 * steps make the "completion" fill); `o.inferClass` absent means the defaults.
 */
export async function inferClasses(
  pipe: DiffusionPipeline,
  images: T.Tensor,
  mask: T.Tensor,
  o: InpaintOptions = {},
): Promise<InferredClasses> {
  const c = prepare(pipe, images, mask, { ...o, inferClass: o.inferClass || true });
  return inferWith(pipe, c, c.infer!);
}

/** Completes the unknown part (mask 0) of `images`; known entries (mask 1) come back unchanged. */
export async function inpaint(
  pipe: DiffusionPipeline,
  images: T.Tensor,
  mask: T.Tensor,
  o: InpaintOptions = {},
): Promise<PipelineOutput> {
  const c = prepare(pipe, images, mask, o);
  const { shape, steps, seed, infer, scale, complete } = c;
  let labels = c.labels;
  let nfe = 0;
  let prefix = "";
  let posterior: ClassPosterior | undefined;
  if (infer) {
    const r = await inferWith(pipe, c, infer);
    labels = r.classes;
    posterior = r.posterior;
    nfe += r.nfe;
    const levels = infer.timesteps ? `t = ${infer.timesteps.join(",")}` : `${infer.levels ?? 5} levels`;
    const best = (infer.candidates ?? 1) > 1 ? `, best of ${infer.candidates} completions` : "";
    prefix = `inferred class (${levels}, ${infer.fill ?? "completion"} fill, ${infer.pick ?? "argmax"}, guidance ${scale}${best}) + `;
  }
  if (infer && (infer.candidates ?? 1) > 1) {
    const out = await completeCandidates(pipe, c, infer, posterior!, infer.candidates!);
    nfe += out.nfe;
    return new PipelineOutput(T.tensor(out.samples, shape), out.classes, pipe.info, prefix + out.name, nfe);
  }
  const out = await complete(labels, labels ? scale : 1, seed);
  nfe += out.nfe;
  checkFiniteSamples(out.samples, shape, steps);
  return new PipelineOutput(T.tensor(out.samples, shape), labels, pipe.info, prefix + out.name, nfe);
}

/**
 * InferClassOptions.candidates: one guided completion toward each of the top C classes (the same
 * seed for each), then per sample the completion with the lowest masked denoising error of its known
 * part under its own class (the posterior's levels and draws, noise shared by a sample's candidates).
 */
async function completeCandidates(
  pipe: DiffusionPipeline,
  c: ReturnType<typeof prepare>,
  infer: InferClassOptions,
  posterior: ClassPosterior,
  count: number,
): Promise<{ samples: Float32Array; classes: Int32Array; name: string; nfe: number }> {
  if ((infer.pick ?? "argmax") !== "argmax")
    throw new Error(
      `inferClass.candidates: ${count} needs pick "argmax" (got ${JSON.stringify(infer.pick)})`,
    );
  const { N, shape, steps, seed } = c;
  const top = topClasses(posterior.probs, posterior.numClasses, count);
  const completions: Float32Array[] = [];
  let nfe = 0;
  let name = "";
  for (const classes of top) {
    const out = await c.complete(classes, c.scale, seed);
    checkFiniteSamples(out.samples, shape, steps);
    completions.push(out.samples);
    nfe += out.nfe;
    name = out.name;
  }
  const all = T.concat(
    completions.map((x) => T.tensor(x, shape)),
    0,
  );
  const masks = T.concat(
    Array.from({ length: count }, () => c.maskT),
    0,
  );
  const labels = new Int32Array(count * N);
  for (const [r, classes] of top.entries()) labels.set(classes, r * N);
  const scoring = errorSettings(pipe, c, infer, seed + 4);
  const errors = await maskedDenoisingErrors(scoring.model, all, masks, labels, {
    ...scoring.options,
    noiseRows: N,
  });
  nfe += scoring.calls();
  const D = all.size / (count * N);
  const samples = new Float32Array(N * D);
  const classes = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let r = 1; r < count; r++) if (errors[r * N + n]! < errors[best * N + n]!) best = r;
    samples.set(completions[best]!.subarray(n * D, (n + 1) * D), n * D);
    classes[n] = top[best]![n]!;
  }
  return { samples, classes, name, nfe };
}
