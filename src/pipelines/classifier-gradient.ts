/**
 * The classifier's gradient for guidance as ONE compiled graph (forward and backward traced together,
 * one ONNX Runtime session per batch shape):
 *
 *   (x, params, t, y) -> { value: sum_i log p_phi(y_i | x_i, t), grads: grad_x value }
 *
 * `T.valueAndGrad` differentiates its first argument, here the sample x; the sum over the batch gives
 * each example's own gradient (examples do not interact in the classifier). Browser-safe.
 */
import {
  alphaBarAtTimestep,
  classifierGuided,
  type LogProbGradient,
} from "../diffusion/classifier-guidance.js";
import type { PredictionType } from "../diffusion/parametrization.js";
import type { ModelFn } from "../diffusion/sample.js";
import { vpSdeFromAlphasCumprod } from "../diffusion/samplers/vp-sde.js";
import { alphasCumprod, betasFor } from "../diffusion/schedules.js";
import { logProbOfLabels, type NoiseConditionedClassifier } from "../models/noise-classifier.js";
import type { Params } from "../nn/module.js";
import * as T from "../tensor/index.js";

/** sum_i log p(y_i | x_i, t) of `classifier` (traceable; the function `valueAndGrad` differentiates). */
export function sumLogProb(classifier: NoiseConditionedClassifier) {
  return (x: T.Tensor, params: Params, t: T.Tensor, y: T.Tensor): T.Tensor =>
    T.sum(logProbOfLabels(classifier.forward(params, x, t), y));
}

/** The eager value-and-gradient (the reference the compiled graph is tested against). */
export function logProbValueAndGrad(classifier: NoiseConditionedClassifier) {
  return T.valueAndGrad(sumLogProb(classifier));
}

const compiledByClassifier = new WeakMap<NoiseConditionedClassifier, Map<number, ReturnType<typeof build>>>();

function build(classifier: NoiseConditionedClassifier, threads: number) {
  const vg = logProbValueAndGrad(classifier);
  // The compiled graph returns tensors only ({value, grads}; valueAndGrad's `aux` is undefined here).
  const f = (x: T.Tensor, params: Params, t: T.Tensor, y: T.Tensor) => {
    const { value, grads } = vg(x, params, t, y);
    return { value, grads };
  };
  return T.compile(f, threads > 0 ? { threads } : {});
}

/** The compiled value-and-gradient of `classifier` (cached per classifier and thread count). */
export function compiledLogProbValueAndGrad(classifier: NoiseConditionedClassifier, threads = 0) {
  let byThreads = compiledByClassifier.get(classifier);
  if (!byThreads) {
    byThreads = new Map();
    compiledByClassifier.set(classifier, byThreads);
  }
  let f = byThreads.get(threads);
  if (!f) {
    f = build(classifier, threads);
    byThreads.set(threads, f);
  }
  return f;
}

/** grad_x sum_i log p(y_i | x_i, t) with `labels` bound, for `classifierGuided`. */
export function classifierGradient(
  classifier: NoiseConditionedClassifier,
  params: Params,
  labels: Int32Array,
  threads = 0,
): LogProbGradient {
  const f = compiledLogProbValueAndGrad(classifier, threads);
  const y = T.tensor(labels, [labels.length], "int32");
  return async (x, t) => {
    const { grads } = await f(x, params, T.full([x.shape[0]!], t), y);
    return grads;
  };
}

/** The classifier option of `generate` / `DiffusionPipeline`: a loaded classifier and its scale s. */
export interface ClassifierGuidance {
  classifier: NoiseConditionedClassifier;
  params: Params;
  /** Guidance scale s of eps - s sqrt(1 - abar_t) grad log p(y | x_t, t) (0: no guidance). */
  scale: number;
}

/**
 * `model` (the denoiser, after any classifier-free combination) guided by `g` toward `labels`, at the
 * noise levels of `schedulerConfig` (the model's schedule): scheduler samplers call the model at
 * training timesteps (fractional ones by log-sigma interpolation), the continuous samplers at
 * t_cont T - 1 with their VP SDE's alpha-bar.
 */
export function withClassifierGuidance(
  model: ModelFn,
  g: ClassifierGuidance,
  labels: Int32Array,
  schedulerConfig: Record<string, unknown>,
  continuous: boolean,
  threads = 0,
): ModelFn {
  const abar = alphasCumprod(betasFor(schedulerConfig));
  let alphaBarAt = alphaBarAtTimestep(abar);
  if (continuous) {
    const sde = vpSdeFromAlphasCumprod(abar);
    alphaBarAt = (t) => sde.alphaBar(Math.min(1, Math.max(0, (t + 1) / abar.length)));
  }
  return classifierGuided(model, {
    scale: g.scale,
    gradient: classifierGradient(g.classifier, g.params, labels, threads),
    prediction: (schedulerConfig.prediction_type ?? "epsilon") as PredictionType,
    alphaBarAt,
  });
}

/** What `generate` knows when it checks the classifier option (a subset of GenerateOptions). */
interface GuidedRequest {
  denoiser: { exampleShape: readonly number[]; numClassEmbeds: number | null };
  labels?: Int32Array;
  numSamples: number;
  schedulerConfig?: Record<string, unknown>;
}

/**
 * The labels of a classifier-guided request: one per sample, each a class of the classifier (and of
 * the model, when it is class-conditional); the classifier must take the model's example shape.
 */
export function checkClassifierLabels(o: GuidedRequest, g: ClassifierGuidance): Int32Array {
  const have = g.classifier.exampleShape;
  const want = o.denoiser.exampleShape;
  if (have.length !== want.length || have.some((d, i) => d !== want[i])) {
    throw new Error(
      `classifier: it takes examples of shape [${have.join(", ")}] but the model makes [${want.join(", ")}]`,
    );
  }
  if (!Number.isFinite(g.scale)) throw new Error(`classifier-scale: ${g.scale} is not a finite number`);
  const k = g.classifier.config.num_classes;
  const m = o.denoiser.numClassEmbeds;
  const limit = m === null ? k : Math.min(k, m);
  if (!o.labels)
    throw new Error(`class-labels: classifier guidance needs one label in [0, ${limit}) per sample`);
  if (o.labels.length !== o.numSamples) {
    throw new Error(`class-labels: got ${o.labels.length} labels, expected one per sample (${o.numSamples})`);
  }
  for (const y of o.labels) {
    if (!(y >= 0 && y < limit)) {
      throw new Error(
        `class-labels: label ${y} is outside [0, ${limit}) (the classifier has ${k} classes${m === null ? "" : `, the model ${m} class embeddings`})`,
      );
    }
  }
  return o.labels;
}

/** The scheduler config whose noise levels the sampler uses (the ready scheduler's, or the model's). */
export function schedulerConfigOf(
  o: { schedulerConfig?: Record<string, unknown> },
  r: { kind: string; scheduler?: { config: Readonly<Record<string, unknown>> } },
): Record<string, unknown> {
  const c = r.kind === "scheduler" && r.scheduler ? r.scheduler.config : o.schedulerConfig;
  if (!c) throw new Error("classifier guidance: the model's scheduler config is needed for its noise levels");
  return { ...c };
}
