/**
 * Drawing samples from a trained denoiser with a diffusers-style scheduler, with classifier-free
 * guidance (Ho & Salimans 2022, eq. 6, in diffusers' form):
 *
 *   out = out_uncond + w (out_cond - out_uncond)
 *
 * evaluated as ONE batched model call on [x; x] with labels [y; null]. The combination is linear in
 * the model output, so it serves epsilon-, v- and x0-prediction alike. w = 1 (or an unconditional
 * model) skips the doubled batch. The model's forward is compiled once per Denoiser. Samples holding
 * NaN or +-Inf (diverged weights, an unstable sampler) fail with a NonFiniteError instead of being
 * returned (they would become a black PNG). Browser-safe.
 */
import { sample } from "../diffusion/sample.js";
import type { Scheduler } from "../diffusion/scheduler.js";
import type { Denoiser } from "../models/denoiser.js";
import { firstNonFiniteIndex, NonFiniteError } from "../nn/finite.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";

export interface GenerateOptions {
  denoiser: Denoiser;
  params: Params;
  /** A scheduler built from the model's scheduler config (its `setTimesteps` is called here). */
  scheduler: Scheduler;
  /** Number of sampling steps. */
  steps: number;
  numSamples: number;
  seed: number;
  /** One class per sample, for class-conditional models. */
  labels?: Int32Array;
  /** Guidance scale w (default 1: no guidance). */
  guidanceScale?: number;
  /** The null class (unconditional embedding row); required when guidanceScale != 1. */
  nullClass?: number | null;
  /** ONNX Runtime threads for the compiled forward (0/absent: ORT's default). */
  threads?: number;
  /** Called after each step with (index, total). */
  onStep?: (i: number, total: number) => void;
}

type Forward = (params: Params, x: T.Tensor, t: T.Tensor, labels?: T.Tensor) => Promise<T.Tensor>;

const compiledForwards = new WeakMap<Denoiser, Map<number, Forward>>();

/** The compiled forward of `denoiser` (cached per denoiser and thread count). */
export function compiledForward(denoiser: Denoiser, threads = 0): Forward {
  let byThreads = compiledForwards.get(denoiser);
  if (!byThreads) {
    byThreads = new Map();
    compiledForwards.set(denoiser, byThreads);
  }
  let f = byThreads.get(threads);
  if (!f) {
    const opts = threads > 0 ? { threads } : {};
    const withLabels = T.compile(
      (p: Params, x: T.Tensor, t: T.Tensor, y: T.Tensor) => denoiser.forward(p, x, t, y),
      opts,
    );
    const without = T.compile((p: Params, x: T.Tensor, t: T.Tensor) => denoiser.forward(p, x, t), opts);
    f = (p, x, t, y) => (y ? withLabels(p, x, t, y) : without(p, x, t));
    byThreads.set(threads, f);
  }
  return f;
}

function checkLabels(o: GenerateOptions): Int32Array | undefined {
  const k = o.denoiser.numClassEmbeds;
  if (k === null) {
    if (o.labels) throw new Error("class-labels: the model is unconditional (no class embedding); omit them");
    return undefined;
  }
  if (!o.labels)
    throw new Error(`class-labels: the model is class-conditional; give one label in [0, ${k}) per sample`);
  if (o.labels.length !== o.numSamples) {
    throw new Error(`class-labels: got ${o.labels.length} labels, expected one per sample (${o.numSamples})`);
  }
  for (const y of o.labels) {
    if (!(y >= 0 && y < k)) throw new Error(`class-labels: label ${y} is outside [0, ${k})`);
  }
  return o.labels;
}

/** Runs the sampling loop; returns the final samples, [N, ...example shape]. */
export async function generate(o: GenerateOptions): Promise<{ samples: Float32Array; shape: number[] }> {
  const labels = checkLabels(o);
  const w = o.guidanceScale ?? 1;
  const guided = labels !== undefined && w !== 1;
  if (guided && (o.nullClass === null || o.nullClass === undefined)) {
    throw new Error(
      `guidance-scale: ${w} needs a model trained with label dropout (a null class); use --guidance-scale 1`,
    );
  }
  const forward = compiledForward(o.denoiser, o.threads);
  const N = o.numSamples;
  const shape = [N, ...o.denoiser.exampleShape];
  const y = labels ? T.tensor(labels, [N], "int32") : undefined;
  const yy = guided ? T.concat([y!, T.full([N], o.nullClass!, "int32")], 0) : undefined;
  const model = async (x: T.Tensor, t: number): Promise<T.Tensor> => {
    if (!guided) return forward(o.params, x, T.full([N], t), y);
    const both = await forward(o.params, T.concat([x, x], 0), T.full([2 * N], t), yy);
    const [cond, uncond] = T.split(both, [N, N], 0);
    return T.add(uncond!, T.mul(T.sub(cond!, uncond!), w));
  };
  const x = await sample(o.scheduler, model, {
    numInferenceSteps: o.steps,
    shape,
    seed: o.seed,
    onStep: (info) => o.onStep?.(info.index + 1, info.total),
  });
  const samples = Float32Array.from(x.values() as Float32Array);
  checkFiniteSamples(samples, shape, o.steps);
  return { samples, shape };
}

/** Throws a NonFiniteError naming how many samples hold NaN/Inf and the first one. */
export function checkFiniteSamples(samples: Float32Array, shape: readonly number[], steps: number): void {
  const first = firstNonFiniteIndex(samples);
  if (first < 0) return;
  const per = samples.length / shape[0]!;
  let bad = 0;
  for (let n = 0; n < shape[0]!; n++) {
    if (firstNonFiniteIndex(samples.subarray(n * per, (n + 1) * per)) >= 0) bad++;
  }
  throw new NonFiniteError(
    `sampling (${steps} steps) produced non-finite values in ${bad} of ${shape[0]} samples (first: ${samples[first]} in sample ${Math.floor(first / per)}); the model's weights or the sampler diverged, nothing was written`,
  );
}

/** Labels for a grid of `n` samples over `numClasses` classes: 0, 1, ..., numClasses - 1, 0, 1, ... */
export function cyclicLabels(n: number, numClasses: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i % numClasses);
}
