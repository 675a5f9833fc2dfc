/**
 * `evaluateNll`: the negative log-likelihood in bits/dim of a trained denoiser on a dataset split, by
 * the variational bound (`nll-vlb.ts`, improved-diffusion's method) or the probability-flow ODE
 * (`nll-ode.ts`, score_sde's method), with the mean and a 95% confidence interval over the examples.
 *
 * Images (values k / 127.5 - 1) are 8-bit data: the VLB uses the discretized decoder and the ODE
 * uniform dequantization with the log 127.5 correction, so both bound the discrete NLL. Vector data
 * are continuous: the VLB uses a Gaussian decoder and the ODE no dequantization (a density, not a
 * bound on a probability). Class-conditional models are evaluated as p(x | y) at the data's labels, or
 * as p(x) through the null class (`nullClass`, for models trained with label dropout).
 * Browser-safe (the caller loads the model and the data).
 */

import type { Dataset } from "../data/types.js";
import { datasetSize, exampleData, exampleShape } from "../data/types.js";
import { checkInteger, checkOneOf, invalid } from "../diffusion/check.js";
import { PREDICTION_TYPES, type PredictionType } from "../diffusion/parametrization.js";
import { vpSdeFromAlphasCumprod } from "../diffusion/samplers/vp-sde.js";
import { alphasCumprod, betasFor } from "../diffusion/schedules.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { foldIn, type Key, makeKey } from "../random/index.js";
import * as T from "../tensor/index.js";
import type { CdfKind } from "./nll-gaussian.js";
import { vjpFieldFor, vlbModelFor } from "./nll-model.js";
import { type Divergence, odeNll } from "./nll-ode.js";
import { type MeanCi, meanCi } from "./nll-summary.js";
import { type VlbVariance, vlbBitsPerDim } from "./nll-vlb.js";

export const NLL_METHODS = ["vlb", "ode"] as const;
export type NllMethod = (typeof NLL_METHODS)[number];

export interface EvaluateNllOptions {
  denoiser: Denoiser;
  params: Params;
  /** The model's scheduler config (scheduler_config.json): schedule, prediction_type, variance_type. */
  schedulerConfig: Record<string, unknown>;
  /** The evaluation split (e.g. MNIST's test set), in the model's space. */
  data: Dataset;
  /** Evaluate the first `count` examples (default: all). */
  count?: number;
  method: NllMethod;
  /** Examples per batch (default 16). */
  batchSize?: number;
  /** Seed of the forward-process noise (VLB) or of the dequantization and probes (ODE); default 0. */
  seed?: number;
  /** ONNX Runtime threads (0: default). */
  threads?: number;
  /**
   * Class-conditional models: evaluate p(x) through this class for every example (the null class of a
   * model trained with label dropout, model_index.json's `_diffuse.nullClass`); absent: p(x | y) at
   * the data's labels.
   */
  nullClass?: number;
  /** VLB: timesteps per model call (default 1; the model batch is batchSize * timestepBatch). */
  timestepBatch?: number;
  /** VLB: the decoder's normal CDF (default "exact"). */
  cdf?: CdfKind;
  /** VLB: clamp x0_hat to [-1, 1] (default: true for images). */
  clipDenoised?: boolean;
  /** ODE: divergence estimator (default "rademacher"). */
  divergence?: Divergence;
  /** ODE: solver tolerances (default 1e-5 each, score_sde's). */
  rtol?: number;
  atol?: number;
  /** ODE: the data end (default 1 / T, the model's timestep 0). */
  tEnd?: number;
  /** Run eagerly instead of compiling (tiny models, tests). */
  eager?: boolean;
  /** Progress in examples (fractional within a VLB batch): (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface NllReport {
  method: NllMethod;
  /** "8-bit": bounds on the discrete NLL of images; "continuous": a density of vector data. */
  data: "8-bit" | "continuous";
  /** Mean bits/dim and its 95% confidence interval over the examples. */
  bitsPerDim: MeanCi;
  perExample: Float64Array;
  /** VLB: the prior L_T and decoder L_0 terms (bits/dim), and the mean term per timestep. */
  vlb?: { prior: MeanCi; decoder: MeanCi; terms: Float64Array };
  /** ODE: mean number of field evaluations per batch. */
  ode?: { meanNfev: number };
}

interface Prepared {
  abar: Float64Array;
  prediction: PredictionType;
  variance: VlbVariance;
  images: boolean;
  count: number;
  batch: number;
  perExample: number;
  shape: number[];
}

function varianceOf(config: Record<string, unknown>): VlbVariance {
  const v = (config.variance_type as string | undefined) ?? "fixed_small";
  if (v === "fixed_small" || v === "fixed_small_log") return "fixed_small";
  if (v === "fixed_large" || v === "fixed_large_log") return "fixed_large";
  if (v === "learned_range") return "learned_range";
  return invalid("variance_type", v, "one of fixed_small(_log), fixed_large(_log), learned_range");
}

function prepare(o: EvaluateNllOptions): Prepared {
  checkOneOf("method", o.method, NLL_METHODS);
  const size = datasetSize(o.data);
  const count = o.count ?? size;
  if (!Number.isInteger(count) || count < 1 || count > size) {
    invalid("count", count, `an integer in [1, ${size}] (the size of the split)`);
  }
  const batch = o.batchSize ?? 16;
  if (!Number.isInteger(batch) || batch < 1) invalid("batchSize", batch, "an integer >= 1");
  const shape = exampleShape(o.data);
  if (shape.join(",") !== o.denoiser.exampleShape.join(",")) {
    invalid(
      "data example shape",
      `[${shape.join(", ")}]`,
      `the model's [${o.denoiser.exampleShape.join(", ")}]`,
    );
  }
  const abar = alphasCumprod(betasFor(o.schedulerConfig));
  const prediction = checkOneOf(
    "prediction_type",
    o.schedulerConfig.prediction_type ?? "epsilon",
    PREDICTION_TYPES,
  );
  const perExample = shape.reduce((a, b) => a * b, 1);
  const images = o.data.kind === "image";
  return {
    abar,
    prediction,
    variance: varianceOf(o.schedulerConfig),
    images,
    count,
    batch,
    perExample,
    shape,
  };
}

/** Labels of examples [start, start + n) for a conditional model (all `nullClass` when given). */
function batchLabels(o: EvaluateNllOptions, start: number, n: number): Int32Array | undefined {
  const classes = o.denoiser.numClassEmbeds;
  if (classes === null) return undefined;
  if (o.nullClass !== undefined) {
    checkInteger("nullClass", o.nullClass, 0, classes - 1);
    return new Int32Array(n).fill(o.nullClass);
  }
  if (!o.data.labels) {
    return invalid("data.labels", "none", "labels for a class-conditional model (or give nullClass)");
  }
  return o.data.labels.slice(start, start + n);
}

/** The examples [start, start + n) as a tensor [n, ...shape]. */
function batchTensor(o: EvaluateNllOptions, p: Prepared, start: number, n: number): T.Tensor {
  const values = exampleData(o.data).slice(start * p.perExample, (start + n) * p.perExample);
  return T.tensor(values, [n, ...p.shape]);
}

/** What one batch contributes to the report. */
interface BatchResult {
  bpd: Float64Array;
  prior?: Float64Array;
  decoder?: Float64Array;
  terms?: Float64Array;
  nfev?: number;
}

type BatchRunner = (
  x0: T.Tensor,
  labels: Int32Array | undefined,
  key: Key,
  start: number,
) => Promise<BatchResult>;

/** The probability-flow ODE over one batch, through the compiled drift + VJP. */
function odeRunner(o: EvaluateNllOptions, p: Prepared): BatchRunner {
  const sde = vpSdeFromAlphasCumprod(p.abar);
  const fields = vjpFieldFor(o.denoiser, o.params, sde, {
    prediction: p.prediction,
    numTrainTimesteps: p.abar.length,
    learnedVariance: p.variance === "learned_range",
    threads: o.threads,
    eager: o.eager,
  });
  return async (x0, labels, key, start) => {
    const r = await odeNll(fields(labels), x0, {
      sde,
      key,
      divergence: o.divergence,
      dequantization: p.images ? "uniform" : "none",
      tEnd: o.tEnd ?? 1 / p.abar.length,
      rtol: o.rtol,
      atol: o.atol,
    });
    o.onProgress?.(start + x0.shape[0]!, p.count);
    return { bpd: r.bpd, nfev: r.nfev };
  };
}

/** The variational bound over one batch, through the compiled forward. */
function vlbRunner(o: EvaluateNllOptions, p: Prepared): BatchRunner {
  return async (x0, labels, key, start) => {
    const n = x0.shape[0]!;
    const model = vlbModelFor(o.denoiser, o.params, labels, { threads: o.threads, eager: o.eager });
    return vlbBitsPerDim(model, x0, {
      alphasCumprod: p.abar,
      prediction: p.prediction,
      variance: p.variance,
      decoder: p.images ? "discretized" : "continuous",
      cdf: o.cdf,
      clipDenoised: o.clipDenoised,
      key,
      timestepBatch: o.timestepBatch,
      onProgress: (done, total) => o.onProgress?.(start + (n * done) / total, p.count),
    });
  };
}

/** NLL in bits/dim of the first `count` examples of `data` under a trained denoiser. */
export async function evaluateNll(o: EvaluateNllOptions): Promise<NllReport> {
  const p = prepare(o);
  const run = o.method === "ode" ? odeRunner(o, p) : vlbRunner(o, p);
  const key = makeKey(o.seed ?? 0);
  const perExample = new Float64Array(p.count);
  const prior = new Float64Array(p.count);
  const decoder = new Float64Array(p.count);
  const terms = new Float64Array(p.abar.length);
  let nfev = 0;
  const batches = Math.ceil(p.count / p.batch);
  for (let i = 0; i < batches; i++) {
    const start = i * p.batch;
    const n = Math.min(p.batch, p.count - start);
    const r = await run(batchTensor(o, p, start, n), batchLabels(o, start, n), foldIn(key, i), start);
    perExample.set(r.bpd, start);
    if (r.prior) prior.set(r.prior, start);
    if (r.decoder) decoder.set(r.decoder, start);
    r.terms?.forEach((v, t) => {
      terms[t] += (v * n) / p.count;
    });
    nfev += r.nfev ?? 0;
  }
  const report: NllReport = {
    method: o.method,
    data: p.images ? "8-bit" : "continuous",
    bitsPerDim: meanCi(perExample, "bits/dim"),
    perExample,
  };
  if (o.method === "ode") report.ode = { meanNfev: nfev / batches };
  else report.vlb = { prior: meanCi(prior, "prior"), decoder: meanCi(decoder, "decoder"), terms };
  return report;
}
