/**
 * Drawing samples from a trained denoiser with a diffusers-style scheduler, with classifier-free
 * guidance (Ho & Salimans 2022, eq. 6, in diffusers' form):
 *
 *   out = out_uncond + w (out_cond - out_uncond)
 *
 * evaluated as ONE batched model call on [x; x] with labels [y; null]. The combination is linear in
 * the model output, so it serves epsilon-, v- and x0-prediction alike. w = 1 (or an unconditional
 * model) skips the doubled batch. The combination, guidance rescale and the guidance interval live in
 * diffusion/guidance.ts. Editing starts: `xT` (e.g. DDIM-inverted latents) replaces the drawn x_T;
 * `init` starts img2img (SDEdit) from noised images (diffusion/editing.ts). The model's forward is
 * compiled once per Denoiser. The sampler is a ready `Scheduler`, or a name/spec resolved against the model's scheduler config (samplers.ts),
 * which also reaches the continuous-time samplers (reverse SDE, predictor-corrector, probability-flow
 * ODE). Unsafe settings warn (safety.ts). Samples holding NaN or +-Inf (diverged weights, an unstable
 * sampler) fail with a NonFiniteError instead of being returned (they would become a black PNG).
 * Browser-safe.
 */

import {
  type HookInfo,
  levelFromAbar,
  type StepHook,
  transformOutputX0,
  type X0Transform,
} from "../diffusion/constraints/hook.js";
import { img2imgStart } from "../diffusion/editing.js";
import { checkGuidance, type GuidanceSettings, guidanceActive, guidedOutput } from "../diffusion/guidance.js";
import { gaussianNoise, type NoiseSource } from "../diffusion/noise.js";
import { alphaSigmaFromAbar, type PredictionType, predictEps } from "../diffusion/parametrization.js";
import { checkModelOutput, type ModelFn, sample } from "../diffusion/sample.js";
import { sampleProbabilityFlow } from "../diffusion/samplers/ode.js";
import { samplePredictorCorrector, sampleReverseSde } from "../diffusion/samplers/sde.js";
import { vpSdeFromAlphasCumprod } from "../diffusion/samplers/vp-sde.js";
import type { Scheduler } from "../diffusion/scheduler.js";
import { alphasCumprod, betasFor } from "../diffusion/schedules.js";
import { InputError, inFile } from "../io/input-error.js";
import type { Denoiser } from "../models/denoiser.js";
import { firstNonFiniteIndex, NonFiniteError } from "../nn/finite.js";
import type { Params } from "../nn/module.js";
import type { Key } from "../random/index.js";
import * as T from "../tensor/index.js";
import { cachedForward, type ForwardCache } from "../util/cache.js";
import type { WarnFn } from "../util/warn.js";
import {
  type ClassifierGuidance,
  checkClassifierLabels,
  schedulerConfigOf,
  withClassifierGuidance,
} from "./classifier-gradient.js";
import { generateConsistency } from "./consistency-generate.js";
import { isFlowSampler, runFlowSampler } from "./flow-generate.js";
import type { ConsistencyModelInfo } from "./model-info.js";
import { warnClipOnVectors, warnTinyFirstAlphaBar } from "./safety.js";
import { canonicalSamplerName, type ResolvedSampler, resolveSampler, type SamplerSpec } from "./samplers.js";

export interface GenerateOptions {
  denoiser: Denoiser;
  params: Params;
  /** A ready scheduler (its `setTimesteps` is called here); or give `sampler` + `schedulerConfig`. */
  scheduler?: Scheduler;
  /** A sampler name or spec (see samplers.ts; default "dpmsolver++"), built on `schedulerConfig`. */
  sampler?: string | SamplerSpec;
  /** The model's scheduler_config.json (noise schedule, prediction type); needed with `sampler`. */
  schedulerConfig?: Record<string, unknown>;
  /** Where `schedulerConfig` came from (a file path): named in the errors of a bad config. */
  schedulerSource?: string;
  /** Number of sampling steps (pf_ode: ignored, its adaptive solver picks its own). */
  steps: number;
  numSamples: number;
  /** Seed (or key) of the noise stream: x_T is its first draw, stochastic steps draw the next. */
  seed: number | Key;
  /** One class per sample, for class-conditional models. */
  labels?: Int32Array;
  /** Guidance scale w (default 1: no guidance). */
  guidanceScale?: number;
  /** The null class (unconditional embedding row); required when guidanceScale != 1. */
  nullClass?: number | null;
  /** Guidance rescale phi in [0, 1] (Lin et al. 2024; diffusers' guidance_rescale; default 0). */
  guidanceRescale?: number;
  /** Guide only at model timesteps lo <= t <= hi; elsewhere the conditional output (guidance.ts). */
  guidanceInterval?: readonly [number, number];
  /** The start x_T ~ N(0, I), [N, ...example shape] (e.g. DDIM-inverted latents), instead of a draw. */
  xT?: T.Tensor;
  /**
   * img2img (SDEdit): start from `images` ([N, ...example shape], model space) noised with the
   * scheduler's addNoise at the step that `strength` in (0, 1] selects (diffusers' img2img).
   */
  init?: { images: T.Tensor; strength: number };
  /** Overrides the scheduler config's clip_sample (inversion and its reconstruction turn it off). */
  clipSample?: boolean;
  /** ONNX Runtime threads for the compiled forward (0/absent: ORT's default). */
  threads?: number;
  /** Called after each step with (index, total). */
  onStep?: (i: number, total: number) => void;
  /** Where warnings go (default: the library's sink, console.warn). */
  warn?: WarnFn;
  /** Replaces the sample after each step (diffusion/constraints/hook.ts); not with pf_ode. */
  hook?: StepHook;
  /** Transforms x0-hat between the network and each step (diffusion/constraints/hook.ts). */
  x0Transform?: X0Transform;
  /** Wraps the (guided) model function, e.g. reconstruction guidance (constraints/reconstruction.ts). */
  wrapModel?: (model: ModelFn) => ModelFn;
  /** Classifier guidance toward `labels` (classifier-gradient.ts); combines with guidanceScale. */
  classifier?: ClassifierGuidance;
  /**
   * A consistency student's grid (model_index.json): sampler "consistency" (the default when `sampler`
   * is absent) runs on it; every other sampler is refused (studentSamplerError).
   */
  consistency?: ConsistencyModelInfo;
  /**
   * `params` never change (a loaded model, not a training run): compile them into the graph as
   * constants, which is faster on CPU (compiledForward); each new params object compiles anew.
   */
  frozenWeights?: boolean;
  /** The model folder (named in the errors of a sampler the model cannot use). */
  modelSource?: string;
}

export interface GenerateResult {
  /** The final samples, [N, ...example shape], row-major. */
  samples: Float32Array;
  shape: number[];
  /** The canonical sampler name ("scheduler:<class>" for a scheduler passed in). */
  sampler: string;
  /** Network evaluations (a guided evaluation of [x; x] counts once). */
  nfe: number;
}

type Forward = (params: Params, x: T.Tensor, t: T.Tensor, labels?: T.Tensor) => Promise<T.Tensor>;

/** Cache key of the forward that takes the weights as inputs (a frozen forward is keyed by its params). */
const INPUT_WEIGHTS: Params = {};
const compiledForwards: ForwardCache<Denoiser, Params, Forward> = new WeakMap();

/**
 * The compiled forward of `denoiser` (cached per denoiser and thread count). With `frozen`, the
 * weights are compiled INTO the graph as constants (ONNX initializers) instead of being inputs: the
 * forward is then only for those params (cached per params object; any other params are refused).
 * On CPU this lets ONNX Runtime pre-pack the convolution filters into its blocked (NCHWc) kernels,
 * which it cannot do for filters that are graph inputs: the sampling forward of the default MNIST
 * model took 0.71-0.77x the time at batches 16-100 (`npm run bench`, sampling section). Outputs differ
 * from the input-weights graph by float rounding only (other kernels).
 */
export function compiledForward(denoiser: Denoiser, threads = 0, frozen?: Params): Forward {
  return cachedForward(compiledForwards, denoiser, frozen ?? INPUT_WEIGHTS, threads, () =>
    buildForward(denoiser, threads > 0 ? { threads } : {}, frozen),
  );
}

function buildForward(denoiser: Denoiser, opts: { threads?: number }, frozen?: Params): Forward {
  if (!frozen) {
    const withLabels = T.compile(
      (p: Params, x: T.Tensor, t: T.Tensor, y: T.Tensor) => denoiser.forward(p, x, t, y),
      opts,
    );
    const without = T.compile((p: Params, x: T.Tensor, t: T.Tensor) => denoiser.forward(p, x, t), opts);
    return (p, x, t, y) => (y ? withLabels(p, x, t, y) : without(p, x, t));
  }
  const withLabels = T.compile(
    (x: T.Tensor, t: T.Tensor, y: T.Tensor) => denoiser.forward(frozen, x, t, y),
    opts,
  );
  const without = T.compile((x: T.Tensor, t: T.Tensor) => denoiser.forward(frozen, x, t), opts);
  return (p, x, t, y) => {
    if (p !== frozen)
      throw new Error("compiledForward: these weights are compiled in; other params were given");
    return y ? withLabels(x, t, y) : without(x, t);
  };
}

function checkLabels(o: GenerateOptions): Int32Array | undefined {
  if (o.classifier) return checkClassifierLabels(o, o.classifier);
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

/** The sampler of `o`: its scheduler, or its spec resolved on the scheduler config. */
function samplerOf(o: GenerateOptions): ResolvedSampler {
  if (o.scheduler) {
    if (o.sampler !== undefined) throw new Error("generate: give either scheduler or sampler, not both");
    return {
      name: `scheduler:${o.scheduler.className}`,
      kind: "scheduler",
      scheduler: o.scheduler,
      stepOptions: {},
    };
  }
  if (!o.schedulerConfig) {
    throw new Error(
      "generate: schedulerConfig (the model's scheduler_config.json) is needed to build a sampler",
    );
  }
  const config = withClipDefault(o.schedulerConfig, o.denoiser.exampleShape);
  if (o.clipSample !== undefined) config.clip_sample = o.clipSample;
  const resolve = () => resolveSampler(o.sampler ?? "dpmsolver++", config, o.warn ? { warn: o.warn } : {});
  return o.schedulerSource === undefined ? resolve() : inFile(o.schedulerSource, resolve);
}

/**
 * A model's scheduler config with diffusers' `clip_sample` default (true) only for images: vector data
 * (points, table rows) normalised to unit variance leave [-1, 1], so clipping them would be wrong. A
 * config that sets the field decides.
 */
export function withClipDefault(
  config: Record<string, unknown>,
  exampleShape: readonly number[],
): Record<string, unknown> {
  return { clip_sample: exampleShape.length === 3, ...config };
}

/** Runs `model` from x_T ~ N(0, I) with the continuous-time sampler `r` on the VP SDE of `config`. */
async function runContinuous(
  r: Extract<ResolvedSampler, { kind: "reverse_sde" | "pc" | "pf_ode" }>,
  config: Record<string, unknown>,
  model: ModelFn,
  o: GenerateOptions,
  shape: number[],
): Promise<T.Tensor> {
  const abar = alphasCumprod(betasFor(config));
  const sde = vpSdeFromAlphasCumprod(abar);
  const type = (config.prediction_type ?? "epsilon") as PredictionType;
  // Training index i sits at t = (i + 1) / T (vp-sde.ts), so the network sees t T - 1.
  const eps = async (x: T.Tensor, t: number) =>
    predictEps(type, await model(x, t * abar.length - 1), x, alphaSigmaFromAbar(sde.alphaBar(t)));
  const noise = gaussianNoise(o.seed);
  const xT = o.xT ?? noise(shape);
  const levelAt = (t: number) => levelFromAbar(sde.alphaBar(t));
  // The SDE samplers step from t = 1 by dt = (1 - 1e-3) / steps (sde.ts).
  const stepAt = (t: number) =>
    Math.min(o.steps - 1, Math.max(0, Math.round(((1 - t) * o.steps) / (1 - 1e-3))));
  const info = (index: number, t: number): HookInfo => ({
    index,
    total: o.steps,
    timestep: t * abar.length - 1,
    level: levelAt(t),
    last: index === o.steps - 1,
    noise,
  });
  const transform = o.x0Transform;
  const constrained = transform
    ? async (x: T.Tensor, t: number) =>
        transformOutputX0("epsilon", await eps(x, t), x, levelAt(t), (x0) =>
          transform(x0, info(stepAt(t), t)),
        )
    : eps;
  const hook = o.hook;
  if (r.kind === "pf_ode") {
    if (hook)
      throw new Error("generate: a step hook needs a fixed-step sampler; pf_ode's adaptive solver has none");
    const res = await sampleProbabilityFlow(constrained, sde, xT, {
      rtol: r.spec.rtol ?? 1e-5,
      atol: r.spec.atol ?? 1e-5,
    });
    o.onStep?.(1, 1);
    return res.y;
  }
  const opts = {
    steps: o.steps,
    noise,
    onStep: (i: number) => o.onStep?.(i + 1, o.steps),
    ...(hook ? { hook: (x: T.Tensor, i: number, t: number) => hook(x, info(i, t)) } : {}),
  };
  if (r.kind === "reverse_sde") return sampleReverseSde(constrained, sde, xT, opts);
  return samplePredictorCorrector(constrained, sde, xT, {
    ...opts,
    ...(r.spec.snr !== undefined ? { snr: r.spec.snr } : {}),
    ...(r.spec.correctorSteps !== undefined ? { correctorSteps: r.spec.correctorSteps } : {}),
  });
}

/** Runs the sampling loop; returns the final samples, [N, ...example shape], and the NFE. */
export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const labels = checkLabels(o);
  if (o.consistency) {
    if (o.scheduler || (o.sampler !== undefined && !isConsistencySampler(o.sampler))) {
      throw studentSamplerError(o.scheduler ? `scheduler:${o.scheduler.className}` : o.sampler!, o);
    }
    return generateConsistency(
      { ...o, consistency: o.consistency },
      labels,
      compiledForward(o.denoiser, o.threads, o.frozenWeights ? o.params : undefined),
    );
  }
  const w = o.guidanceScale ?? 1;
  const guidance: GuidanceSettings = {
    scale: w,
    ...(o.guidanceRescale !== undefined ? { rescale: o.guidanceRescale } : {}),
    ...(o.guidanceInterval !== undefined ? { interval: o.guidanceInterval } : {}),
  };
  checkGuidance(guidance);
  const guided = labels !== undefined && o.denoiser.numClassEmbeds !== null && w !== 1;
  if (guided && (o.nullClass === null || o.nullClass === undefined)) {
    throw new Error(
      `guidance-scale: ${w} needs a model trained with label dropout (a null class); use --guidance-scale 1`,
    );
  }
  const r = samplerOf(o);
  const forward = compiledForward(o.denoiser, o.threads, o.frozenWeights ? o.params : undefined);
  const N = o.numSamples;
  const shape = [N, ...o.denoiser.exampleShape];
  checkStart(o.xT, shape, "xT");
  checkStart(o.init?.images, shape, "init.images");
  if (o.xT && o.init)
    throw new Error("generate: give either xT (a start at x_T) or init (img2img), not both");
  const conditional = o.denoiser.numClassEmbeds !== null;
  const y = labels && conditional ? T.tensor(labels, [N], "int32") : undefined;
  const yy = guided ? T.concat([y!, T.full([N], o.nullClass!, "int32")], 0) : undefined;
  let nfe = 0;
  const unguided = async (x: T.Tensor, t: number): Promise<T.Tensor> => {
    nfe++;
    let out: T.Tensor;
    if (!guided || !guidanceActive(guidance, t)) out = await forward(o.params, x, T.full([N], t), y);
    else {
      const both = await forward(o.params, T.concat([x, x], 0), T.full([2 * N], t), yy);
      const [cond, uncond] = T.split(both, [N, N], 0);
      out = guidedOutput(cond!, uncond!, guidance, t);
    }
    checkModelOutput(out, x, t);
    return out;
  };
  const classified = o.classifier
    ? withClassifierGuidance(
        unguided,
        o.classifier,
        labels!,
        schedulerConfigOf(o, r),
        r.kind !== "scheduler",
        o.threads,
      )
    : unguided;
  const model = o.wrapModel ? o.wrapModel(classified) : classified;
  let x: T.Tensor;
  if (r.kind === "scheduler") {
    r.scheduler.setTimesteps(o.steps);
    warnClipOnVectors(r.scheduler, o.denoiser.exampleShape, o.warn);
    warnTinyFirstAlphaBar(r.scheduler, o.warn);
    // One noise stream: x_T (or img2img's noise) is its first draw, stochastic steps draw the next.
    const noise = gaussianNoise(o.seed);
    x = await sample(r.scheduler, model, {
      shape,
      ...(o.xT ? { xT: o.xT } : {}),
      ...(o.init ? { initSample: img2imgInit(r.scheduler, o.init, o.steps, noise) } : {}),
      noise,
      stepOptions: r.stepOptions,
      onStep: (info) => o.onStep?.(info.index + 1, info.total),
      ...(o.hook ? { hook: o.hook } : {}),
      ...(o.x0Transform ? { x0Transform: o.x0Transform } : {}),
    });
  } else {
    if (o.init) throw new Error(`init (img2img): needs a scheduler sampler; ${r.name} is continuous-time`);
    x = isFlowSampler(r)
      ? await runFlowSampler(r, model, o, shape)
      : await runContinuous(r, { ...o.schedulerConfig }, model, o, shape);
  }
  const samples = Float32Array.from(x.values() as Float32Array);
  checkFiniteSamples(samples, shape, o.steps);
  return { samples, shape, sampler: r.name, nfe };
}

/**
 * The refusal of a sampler other than "consistency" on a consistency student: its network is trained
 * as the consistency function f(x_t, t) -> x0 on its grid (Song et al. 2023), so a diffusion sampler
 * (DDPM, DPM-Solver++, ...) would read that output as a noise/v/x0 prediction at every timestep and
 * return wrong samples without any error.
 */
function studentSamplerError(sampler: string | SamplerSpec, o: GenerateOptions): InputError {
  const info = o.consistency!;
  const raw = typeof sampler === "string" ? sampler : sampler.name;
  let name = raw;
  try {
    name = canonicalSamplerName(raw);
  } catch {}
  const where = o.modelSource ? `${o.modelSource} is` : "this model is";
  return new InputError(
    `sampler ${name}: ${where} a consistency student (model_index.json field "_diffuse.consistency" = ${JSON.stringify(info)}): its network is the consistency function f(x_t, t) -> x0 on a ${info.numScales}-point grid, not a denoiser for diffusion samplers; valid samplers: consistency (1 to ${info.numScales - 1} steps)`,
    { field: "sampler" },
  );
}

/** Whether `sampler` names "consistency" (in any spelling). */
function isConsistencySampler(sampler: string | SamplerSpec | undefined): boolean {
  if (sampler === undefined) return false;
  return canonicalSamplerName(typeof sampler === "string" ? sampler : sampler.name) === "consistency";
}

/** Throws unless a given start tensor has the samples' shape (naming both). */
function checkStart(x: T.Tensor | undefined, shape: readonly number[], field: string): void {
  if (x && x.shape.join(",") !== shape.join(",")) {
    throw new Error(
      `${field}: shape [${x.shape.join(", ")}] does not match the samples' [${shape.join(", ")}]`,
    );
  }
}

/** img2img's first sample: the images noised (the first draw of `noise`) to the strength's timestep. */
function img2imgInit(
  scheduler: Scheduler,
  init: { images: T.Tensor; strength: number },
  steps: number,
  noise: NoiseSource,
): { x: T.Tensor; startIndex: number } {
  const start = img2imgStart(scheduler, steps, init.strength);
  const n = init.images.shape[0]!;
  const z = noise([...init.images.shape]);
  const x = scheduler.addNoise(init.images, z, new Float64Array(n).fill(start.timestep));
  return { x, startIndex: start.startIndex };
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
