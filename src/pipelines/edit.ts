/**
 * Editing with a trained model (the pipeline side of diffusion/editing.ts): one call each.
 *
 *   const xT = await pipe.invert(images, { steps: 50 });                // DDIM inversion: x_0 -> x_T
 *   const back = await pipe.generate({ xT, sampler: "ddim", steps: 50, clipSample: false }); // ~ images
 *   const edited = await pipe.edit(images, { strength: 0.6, labels: [8] }); // img2img (SDEdit)
 *   const strip = await pipe.interpolate(xA, xB, { frames: 8 });         // slerp(x_A, x_B), decoded
 *
 * Decisions:
 * - Inversion runs DDIMInverseScheduler on the model's noise schedule and spacing ("leading" unless the
 *   model's config sets one), with clip_sample OFF: a clipped x0-hat cannot be inverted. Each step is
 *   refined by 2 fixed-point iterations by default (editing.ts): plain inversion evaluates the model at
 *   the less noisy x, which on MNIST (cosine schedule) left a round-trip MSE of 0.03 at 50 steps. It warns (the
 *   warn sink) when the model's config would clip, and reconstruction (`reconstruct`, `interpolate`,
 *   `diffuse sample --latents`) decodes with DDIM, eta = 0, clip_sample off, the same steps.
 * - A class-conditional model inverts with the conditional output for the given labels (no guidance:
 *   the guided ODE is not the one the inverse scheduler integrates); reconstruction then also runs
 *   unguided (guidanceScale 1) with the same labels.
 * - `edit` is `generate` with `init` (diffusers' img2img strength semantics, see editing.ts), with the
 *   pipeline's usual defaults (sampler, steps, guidance 2 for guided class-conditional models).
 * - `interpolate` slerps the two latents at u = k / (frames - 1), k = 0..frames-1 (both ends included)
 *   and decodes every frame with the same labels (one label, or one per frame).
 * Browser-safe.
 */
import { ddimInvert, slerp } from "../diffusion/editing.js";
import { schedulerFromConfig } from "../diffusion/from-config.js";
import { alphaSigmaFromAbar, type PredictionType, predictEps } from "../diffusion/parametrization.js";
import type { ModelFn } from "../diffusion/sample.js";
import { encodeProbabilityFlow } from "../diffusion/samplers/ode.js";
import { vpSdeFromAlphasCumprod } from "../diffusion/samplers/vp-sde.js";
import { alphasCumprod, betasFor } from "../diffusion/schedules.js";
import { inFile } from "../io/input-error.js";
import * as T from "../tensor/index.js";
import { type WarnFn, warn } from "../util/warn.js";
import { compiledForward, withClipDefault } from "./generate.js";
import type { DiffusionPipeline, PipelineGenerateOptions, PipelineOutput } from "./pipeline.js";

/** How latents are made and decoded: DDIM (steps) or the probability-flow ODE (adaptive RK45). */
export type InversionMethod = "ddim" | "pf_ode";

export interface InvertOptions {
  /** "ddim" (default) or "pf_ode": Song et al. 2021's ODE encoding, RK45 at rtol = atol = 1e-5. */
  method?: InversionMethod;
  /** DDIM steps (default 50); reconstruct with the same number. */
  steps?: number;
  /** One class per image (class-conditional models; the null class is allowed). */
  labels?: ArrayLike<number>;
  /**
   * Fixed-point refinements of each step (editing.ts; default 2; 0: diffusers' DDIMInverseScheduler
   * alone). Each costs one more model evaluation per step.
   */
  fixedPointIterations?: number;
  threads?: number;
  onStep?: (i: number, total: number) => void;
  warn?: WarnFn;
}

export const INVERT_DEFAULT_STEPS = 50;
/** Fixed-point refinements per inversion step (measured on MNIST: see the README's table). */
export const INVERT_DEFAULT_FIXED_POINT = 2;

/** Throws unless `x` is [N, ...the model's example shape], naming `what` and both shapes. */
export function checkExampleShape(pipe: DiffusionPipeline, x: T.Tensor, what: string): void {
  const want = pipe.denoiser.exampleShape;
  if (x.rank !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d)) {
    throw new Error(
      `${what}: shape [${x.shape.join(", ")}] does not match the model's [N, ${want.join(", ")}]`,
    );
  }
}

/**
 * Labels for `n` items (one label repeats): none for an unconditional model; required and checked
 * against the class embedding (the null class allowed) for a conditional one.
 */
function labelsFor(
  pipe: DiffusionPipeline,
  given: ArrayLike<number> | undefined,
  n: number,
): Int32Array | undefined {
  const k = pipe.denoiser.numClassEmbeds;
  if (k === null) {
    if (given) throw new Error("labels: the model is unconditional (no class embedding); omit them");
    return undefined;
  }
  if (!given) throw new Error(`labels: the model is class-conditional; give one label per image (${n})`);
  const labels = Int32Array.from(
    given.length === 1 ? Array.from({ length: n }, () => given[0]!) : Array.from(given),
  );
  if (labels.length !== n) throw new Error(`labels: got ${given.length} labels, expected 1 or ${n}`);
  for (const [i, y] of labels.entries()) {
    if (!(y >= 0 && y < k)) throw new Error(`labels[${i}] = ${y} is not in [0, ${k})`);
  }
  return labels;
}

/** DDIM inversion of `images` ([N, ...example shape], model space [-1, 1]) to latents x_T. */
export async function invertImages(
  pipe: DiffusionPipeline,
  images: T.Tensor,
  options: InvertOptions = {},
): Promise<T.Tensor> {
  checkExampleShape(pipe, images, "images");
  const steps = options.steps ?? INVERT_DEFAULT_STEPS;
  const n = images.shape[0]!;
  const labels = labelsFor(pipe, options.labels, n);
  const forward = compiledForward(pipe.denoiser, options.threads, pipe.params);
  const y = labels ? T.tensor(labels, [n], "int32") : undefined;
  if (options.method === "pf_ode")
    return encodePfOde(pipe, images, (x, t) => forward(pipe.params, x, T.full([n], t), y));
  const config = withClipDefault(pipe.schedulerConfig, pipe.denoiser.exampleShape);
  if (config.clip_sample === true) {
    warn(
      "invert: clip_sample turned off for DDIM inversion (a clipped x0-hat cannot be inverted); " +
        "reconstruct with DDIM and clip_sample off (clipSample: false; diffuse sample --latents does)",
      options.warn,
    );
  }
  const make = () =>
    schedulerFromConfig(
      "DDIMInverseScheduler",
      { timestep_spacing: "leading", ...config },
      { overrides: { clip_sample: false }, warn: () => {} },
    );
  const scheduler = pipe.schedulerSource === undefined ? make() : inFile(pipe.schedulerSource, make);
  scheduler.setTimesteps(steps);
  const model: ModelFn = (x, t) => forward(pipe.params, x, T.full([n], t), y);
  return ddimInvert(scheduler, model, images, {
    fixedPointIterations: options.fixedPointIterations ?? INVERT_DEFAULT_FIXED_POINT,
    onStep: (info) => options.onStep?.(info.index + 1, info.total),
  });
}

/**
 * The probability-flow ODE (Song et al. 2021, eq. 13) of the model's VP SDE from the data (t = 1e-3)
 * to t = 1, as generate's `pf_ode` sampler solves it back (same eps mapping, same tolerances).
 */
async function encodePfOde(pipe: DiffusionPipeline, images: T.Tensor, model: ModelFn): Promise<T.Tensor> {
  const abar = alphasCumprod(betasFor(pipe.schedulerConfig));
  const sde = vpSdeFromAlphasCumprod(abar);
  const type = (pipe.schedulerConfig.prediction_type ?? "epsilon") as PredictionType;
  // Training index i sits at t = (i + 1) / T (vp-sde.ts), so the network sees t T - 1.
  const eps = async (x: T.Tensor, t: number) =>
    predictEps(type, await model(x, t * abar.length - 1), x, alphaSigmaFromAbar(sde.alphaBar(t)));
  return (await encodeProbabilityFlow(eps, sde, images, { rtol: 1e-5, atol: 1e-5 })).y;
}

/** Options of `reconstruct`/`interpolate`: generate's, minus what decoding latents fixes. */
export type DecodeOptions = Omit<PipelineGenerateOptions, "xT" | "init" | "numSamples" | "sampler"> & {
  /** "ddim" (default; `steps` steps) or "pf_ode" (what `invert` used). */
  method?: InversionMethod;
};

/** Decodes latents with deterministic DDIM, clipping off, unguided unless told (see the header). */
export async function decodeLatents(
  pipe: DiffusionPipeline,
  xT: T.Tensor,
  options: DecodeOptions = {},
): Promise<PipelineOutput> {
  checkExampleShape(pipe, xT, "latents");
  const { method, labels: given, ...rest } = options;
  const labels = labelsFor(pipe, given, xT.shape[0]!);
  return pipe.generate({
    steps: INVERT_DEFAULT_STEPS,
    guidanceScale: 1,
    clipSample: false,
    ...rest,
    ...(labels ? { labels } : {}),
    xT,
    sampler: method === "pf_ode" ? "pf_ode" : { name: "ddim", eta: 0 },
    numSamples: xT.shape[0]!,
  });
}

export interface EditOptions extends Omit<PipelineGenerateOptions, "init" | "numSamples" | "xT"> {
  /** How much of the schedule to rerun, in (0, 1]: 1 starts from (almost) pure noise. */
  strength: number;
}

/** img2img (SDEdit) on `images` ([N, ...example shape], model space). */
export async function editImages(
  pipe: DiffusionPipeline,
  images: T.Tensor,
  options: EditOptions,
): Promise<PipelineOutput> {
  checkExampleShape(pipe, images, "images");
  const { strength, ...rest } = options;
  return pipe.generate({ ...rest, init: { images, strength }, numSamples: images.shape[0]! });
}

export interface InterpolateOptions extends DecodeOptions {
  /** Frames, both ends included (>= 2). */
  frames: number;
}

/** slerp between latents `a` and `b` (each [1, ...example shape]) at `frames` points, decoded. */
export async function interpolateLatents(
  pipe: DiffusionPipeline,
  a: T.Tensor,
  b: T.Tensor,
  options: InterpolateOptions,
): Promise<PipelineOutput> {
  checkExampleShape(pipe, a, "latent a");
  checkExampleShape(pipe, b, "latent b");
  if (a.shape[0] !== 1 || b.shape[0] !== 1) {
    throw new Error(
      `interpolate: latents a and b must hold one sample each, got ${a.shape[0]} and ${b.shape[0]}`,
    );
  }
  const { frames, ...rest } = options;
  if (!(Number.isInteger(frames) && frames >= 2)) {
    throw new Error(`frames: ${frames} is not an integer >= 2 (both ends are frames)`);
  }
  const xs = Array.from({ length: frames }, (_, k) => slerp(a, b, k / (frames - 1)));
  return decodeLatents(pipe, T.concat(xs, 0), rest);
}
