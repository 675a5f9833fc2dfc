/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", Algorithm 2) exactly as
 * torch.optim.AdamW (PyTorch 1.13, `_single_tensor_adamw`), as a pure function over parameter trees.
 * For each parameter p with gradient g, at step t = step + 1:
 *
 *   p <- p * (1 - lr * weightDecay)                   decoupled weight decay
 *   m <- beta1 * m + (1 - beta1) * g                  first moment (exp_avg)
 *   v <- beta2 * v + (1 - beta2) * g^2                second moment (exp_avg_sq)
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps         torch adds eps after the bias correction
 *   p <- p - lr / (1 - beta1^t) * m / denom
 *
 * Everything, the step counter included, is a tensor, so a whole update traces under `T.compile` with
 * `lr` as a graph input (a JS number `lr` becomes a constant of the graph).
 */
import * as T from "../../tensor/index.js";

export interface AdamWOptions {
  /** Learning rate (a float32 scalar tensor in compiled code, where it changes step to step). */
  lr: T.Tensor | number;
  /** [beta1, beta2]; torch's default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the bias-corrected sqrt(v); torch's default 1e-8. */
  eps?: number;
  /** Decoupled weight decay; torch's default 1e-2. */
  weightDecay?: number;
}

/** Optimiser state: the number of steps taken (float32 scalar) and the two moment trees. */
export interface AdamWState<P> {
  step: T.Tensor;
  m: P;
  v: P;
}

export const ADAMW_DEFAULTS = { betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 1e-2 };

/** The state before the first step: step 0, zero moments. */
export function initAdamW<P>(params: P): AdamWState<P> {
  return { step: T.scalar(0), m: T.mapTree(T.zerosLike, params), v: T.mapTree(T.zerosLike, params) };
}

function checkOptions(o: AdamWOptions): Required<Omit<AdamWOptions, "lr">> {
  const betas = o.betas ?? ADAMW_DEFAULTS.betas;
  const eps = o.eps ?? ADAMW_DEFAULTS.eps;
  const weightDecay = o.weightDecay ?? ADAMW_DEFAULTS.weightDecay;
  betas.forEach((b, i) => {
    if (!(b >= 0 && b < 1)) throw new RangeError(`adamw: betas[${i}] is ${b}, expected a number in [0, 1)`);
  });
  if (!(eps >= 0)) throw new RangeError(`adamw: eps is ${eps}, expected a number >= 0`);
  if (!(weightDecay >= 0))
    throw new RangeError(`adamw: weightDecay is ${weightDecay}, expected a number >= 0`);
  if (typeof o.lr === "number" && !(o.lr >= 0))
    throw new RangeError(`adamw: lr is ${o.lr}, expected a number >= 0`);
  return { betas, eps, weightDecay };
}

/**
 * `1 - base^t` for a float32 tensor t, accurate where `base^t` is close to 1 (Adam's bias corrections
 * at small t): `-expm1(t * ln(base))` with expm1 by Kahan's formula
 * `expm1(x) = (u - 1) * x / ln(u)`, u = exp(x), which cancels the rounding error of exp.
 * x is clamped at -80 so that u stays a normal float32 (beyond that 1 - base^t is 1 to float32).
 */
export function oneMinusPow(base: number, t: T.Tensor): T.Tensor {
  if (base === 0) return T.onesLike(t);
  const x = T.maximum(T.mul(t, Math.log(base)), -80);
  const u = T.exp(x);
  const kahan = T.div(T.mul(T.sub(u, 1), x), T.log(u));
  const expm1 = T.where(T.equal(u, 1), x, kahan);
  return T.neg(expm1);
}

/** One AdamW step: new parameters and state (inputs are not modified). */
export function adamwStep<P>(
  params: P,
  grads: P,
  state: AdamWState<P>,
  options: AdamWOptions,
): { params: P; state: AdamWState<P> } {
  const {
    betas: [beta1, beta2],
    eps,
    weightDecay,
  } = checkOptions(options);
  const lr = typeof options.lr === "number" ? T.scalar(options.lr) : options.lr;
  const step = T.add(state.step, 1);
  const stepSize = T.div(lr, oneMinusPow(beta1, step));
  const biasCorrection2Sqrt = T.sqrt(oneMinusPow(beta2, step));
  const decay = T.sub(1, T.mul(lr, weightDecay));

  const [p, g, m, v] = [params, grads, state.m, state.v].map((tree) => T.leaves(tree));
  if (g.length !== p.length || m.length !== p.length || v.length !== p.length)
    throw new RangeError(
      `adamw: params have ${p.length} leaves but grads, m, v have ${g.length}, ${m.length}, ${v.length}`,
    );
  const out = p.map((pi, i) => {
    const mi = T.add(T.mul(m[i], beta1), T.mul(g[i], 1 - beta1));
    const vi = T.add(T.mul(v[i], beta2), T.mul(T.square(g[i]), 1 - beta2));
    const denom = T.add(T.div(T.sqrt(vi), biasCorrection2Sqrt), eps);
    const decayed = T.mul(pi, decay);
    return { p: T.sub(decayed, T.mul(stepSize, T.div(mi, denom))), m: mi, v: vi };
  });
  return {
    params: T.unflatten(
      params,
      out.map((o) => o.p),
    ),
    state: {
      step,
      m: T.unflatten(
        state.m,
        out.map((o) => o.m),
      ),
      v: T.unflatten(
        state.v,
        out.map((o) => o.v),
      ),
    },
  };
}
