/**
 * Adapters from a trained `Denoiser` (UNet2DModel or MLPDenoiser, functional forward over `params`)
 * to the two likelihood estimators: a compiled forward for the variational bound (`VlbModel`), and a
 * compiled drift + vector-Jacobian product of the probability-flow ODE (`VjpField`), traced once with
 * `T.valueAndGrad` inside `T.compile` so the ODE runs on ONNX Runtime. Browser-safe.
 *
 * Time: the ODE runs on the VP SDE of the discrete schedule (`vpSdeFromAlphasCumprod`), where training
 * index i sits at t = (i + 1) / T, so the network sees the fractional timestep tau = t T - 1.
 */
import type { PredictionType } from "../diffusion/parametrization.js";
import { flowCoefficients } from "../diffusion/samplers/ode.js";
import type { VpSde } from "../diffusion/samplers/vp-sde.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { compiledForward } from "../pipelines/generate.js";
import * as T from "../tensor/index.js";
import type { DriftVjp, VjpField } from "./nll-ode.js";
import type { VlbModel } from "./nll-vlb.js";

/** `labels` [B] repeated to cover a batch of `n` (= k B) rows, or undefined. */
function labelsFor(labels: Int32Array | undefined, n: number): T.Tensor | undefined {
  if (!labels) return undefined;
  return T.tensor(
    Int32Array.from({ length: n }, (_, i) => labels[i % labels.length]!),
    [n],
    "int32",
  );
}

/**
 * The bound's model: the denoiser's forward (compiled unless `eager`) at int32 timesteps, with the
 * labels repeated over the timestep blocks of a batched call.
 */
export function vlbModelFor(
  denoiser: Denoiser,
  params: Params,
  labels?: Int32Array,
  options: { threads?: number; eager?: boolean } = {},
): VlbModel {
  if (options.eager) return (x, t) => denoiser.forward(params, x, t, labelsFor(labels, x.shape[0]!));
  const forward = compiledForward(denoiser, options.threads ?? 0, params);
  return (x, t) => forward(params, x, t, labelsFor(labels, x.shape[0]!));
}

/**
 * eps = p x + q out for a model output `out` (parametrization.ts `predictEps`, as coefficients):
 * epsilon: (0, 1); v_prediction: eps = alpha v + sigma x; sample: eps = (x - alpha x0) / sigma.
 */
export function epsAffine(type: PredictionType, alpha: number, sigma: number): { x: number; out: number } {
  if (type === "epsilon") return { x: 0, out: 1 };
  if (type === "v_prediction") return { x: sigma, out: alpha };
  return { x: 1 / sigma, out: -alpha / sigma };
}

type Traced = (
  p: Params,
  x: T.Tensor,
  tau: T.Tensor,
  cx: T.Tensor,
  cout: T.Tensor,
  v: T.Tensor,
  y?: T.Tensor,
) => DriftVjp;

/** drift = cx x + cout out(x) and grad_x sum(drift * v), with `meanChannels` of the output kept. */
function tracedField(denoiser: Denoiser, meanChannels: number | null): Traced {
  return (p, x, tau, cx, cout, v, y) => {
    const { grads, aux } = T.valueAndGrad((xx: T.Tensor) => {
      const full = denoiser.forward(p, xx, tau, y);
      const out = meanChannels === null ? full : T.narrow(full, 1, 0, meanChannels);
      const drift = T.add(T.mul(xx, cx), T.mul(out, cout));
      return { loss: T.sum(T.mul(drift, v)), aux: drift };
    })(x);
    return { drift: aux, vjp: grads };
  };
}

export interface VjpFieldOptions {
  prediction: PredictionType;
  /** Number of training timesteps T (tau = t T - 1). */
  numTrainTimesteps: number;
  /** The model outputs [mean | variance] channel halves ("learned_range"): only the mean is used. */
  learnedVariance?: boolean;
  threads?: number;
  /** Run eagerly instead of compiling (tests, tiny models). */
  eager?: boolean;
}

/** A `VjpField` for one batch's class labels (none for an unconditional model). */
export type VjpFieldFactory = (labels?: Int32Array) => VjpField;

/**
 * The PF-ODE drift and VJP of a trained denoiser, for `odeNll`: compiled once (one ONNX session per
 * input shape) and shared by the fields of every batch.
 */
export function vjpFieldFor(
  denoiser: Denoiser,
  params: Params,
  sde: VpSde,
  o: VjpFieldOptions,
): VjpFieldFactory {
  const channels = denoiser.exampleShape[0]!;
  const traced = tracedField(denoiser, o.learnedVariance ? channels : null);
  const opts = o.threads ? { threads: o.threads } : {};
  const withLabels = T.compile(
    (p: Params, x: T.Tensor, tau: T.Tensor, cx: T.Tensor, co: T.Tensor, v: T.Tensor, y: T.Tensor) =>
      traced(p, x, tau, cx, co, v, y),
    opts,
  );
  const without = T.compile(
    (p: Params, x: T.Tensor, tau: T.Tensor, cx: T.Tensor, co: T.Tensor, v: T.Tensor) =>
      traced(p, x, tau, cx, co, v),
    opts,
  );
  return (labels) => (x, t, v) => {
    const B = x.shape[0]!;
    const flow = flowCoefficients(sde, t);
    const abar = sde.alphaBar(t);
    const eps = epsAffine(o.prediction, Math.sqrt(abar), Math.sqrt(1 - abar));
    const args = [
      params,
      x,
      T.full([B], t * o.numTrainTimesteps - 1),
      T.tensor([flow.x + flow.eps * eps.x], [1]),
      T.tensor([flow.eps * eps.out], [1]),
      v,
    ] as const;
    const y = labelsFor(labels, B);
    if (o.eager) return traced(...args, y);
    return y ? withLabels(...args, y) : without(...args);
  };
}
