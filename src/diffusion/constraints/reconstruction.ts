/**
 * Reconstruction guidance (Ho et al. 2022, "Video Diffusion Models", Sec. 3.1, eq. 7): with a known
 * part x^a and the model's x0-hat(z_t), the unknown part is steered by
 *
 *   x0~ = x0-hat - (w_r alpha_t / 2) grad_{z_t} || x^a - x0-hat(z_t)^a ||^2,
 *
 * i.e. the x0-hat of the model output is moved, and the output converted back (for an eps model:
 * eps~ = eps + (w_r alpha_t^2 / (2 sigma_t)) grad). The gradient goes through the network, so it
 * comes from a compiled function passed in (`GradientFn`: the model output and the gradient of the
 * loss in one call; diffusion/ never sees the network). Replacement (replace.ts) is applied on top
 * as in the paper: the known part alone can drift from what the unknown part was generated for.
 *
 * The level at a model timestep t is abar at t, interpolated in log sigma for fractional t (VE
 * schedulers' grids, the continuous samplers' t T - 1), as the model was trained.
 */
import * as T from "../../tensor/index.js";
import { invalid } from "../check.js";
import { outputFromX0, type PredictionType, predictX0 } from "../parametrization.js";
import { sigmasAtTimesteps } from "../sigma-grid.js";
import { levelFromVe, type SampleLevel } from "./hook.js";

/**
 * The model output at (x_t, t) and grad_{x_t} sum || mask (known - x0-hat(x_t)) ||^2 (all samples; the
 * loss separates per sample), x0-hat taken with `predictX0` at `level`.
 */
export type GradientFn = (
  x: T.Tensor,
  t: number,
  level: SampleLevel,
) => Promise<{ output: T.Tensor; grad: T.Tensor; loss: number }>;

/** The VP level (scale 1) the network sees at model timestep `t` (fractional: log-sigma interpolation). */
export function levelAtTimestep(alphasCumprod: ArrayLike<number>, t: number): SampleLevel {
  if (Number.isInteger(t) && t >= 0 && t < alphasCumprod.length) {
    const a = alphasCumprod[t]!;
    return { alpha: Math.sqrt(a), sigma: Math.sqrt(1 - a), scale: 1 };
  }
  const ve = Array.from(alphasCumprod, (a) => Math.sqrt((1 - a) / a));
  const s = sigmasAtTimesteps([Math.min(Math.max(t, 0), ve.length - 1)], ve)[0]!;
  const l = levelFromVe(s);
  return { alpha: l.alpha, sigma: l.sigma, scale: 1 };
}

/**
 * The loss of reconstruction guidance as a traceable function of x_t (for `T.valueAndGrad`, which
 * differentiates its first argument): sum mask (known - x0-hat(x_t, out(x_t)))^2. `output` is the
 * network applied to x_t. Returns the loss with the output as aux.
 */
export function reconstructionLoss(
  type: PredictionType,
  x: T.Tensor,
  output: T.Tensor,
  known: T.Tensor,
  mask: T.Tensor,
  alpha: T.Tensor,
  sigma: T.Tensor,
): { loss: T.Tensor; aux: T.Tensor } {
  const main = output.shape[1] === 2 * x.shape[1]! ? T.narrow(output, 1, 0, x.shape[1]!) : output;
  let x0: T.Tensor;
  if (type === "epsilon") x0 = T.div(T.sub(x, T.mul(main, sigma)), alpha);
  else if (type === "sample") x0 = main;
  else x0 = T.sub(T.mul(x, alpha), T.mul(main, sigma));
  const r = T.mul(T.sub(known, x0), mask);
  return { loss: T.sum(T.mul(r, r)), aux: output };
}

/** The model function with reconstruction guidance of weight `weight` (w_r of eq. 7). */
export function reconstructionGuided(
  gradient: GradientFn,
  options: { weight: number; predictionType: PredictionType; alphasCumprod: ArrayLike<number> },
): (x: T.Tensor, t: number) => Promise<T.Tensor> {
  const { weight, predictionType: type } = options;
  if (!(weight >= 0 && Number.isFinite(weight)))
    invalid("reconstruction guidance weight", weight, "a number >= 0");
  return async (x, t) => {
    const level = levelAtTimestep(options.alphasCumprod, t);
    const { output, grad } = await gradient(x, t, level);
    if (weight === 0) return output;
    const c = { alpha: level.alpha, sigma: level.sigma };
    const channels = x.shape[1]!;
    const learned = output.shape[1] === 2 * channels;
    const main = learned ? T.narrow(output, 1, 0, channels) : output;
    const x0 = T.sub(predictX0(type, main, x, c), T.mul(grad, (weight * level.alpha) / 2));
    const back = outputFromX0(type, x0, x, c);
    return learned ? T.concat([back, T.narrow(output, 1, channels, channels)], 1) : back;
  };
}
