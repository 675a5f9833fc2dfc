/**
 * Negative log-likelihood in bits/dim from the probability-flow ODE (Song et al. 2021, "Score-Based
 * Generative Modeling through SDEs", Sec. 4.3 and App. D.2; score_sde's `likelihood.py`). The ODE
 * dx/dt = f(x, t) = -1/2 beta(t) (x - eps_hat(x, t) / sqrt(1 - abar(t))) (eq. 13) is a continuous
 * normalising flow, so by the instantaneous change of variables (Chen et al. 2018, Thm. 1)
 *
 *   log p_eps(x(eps)) = log p_1(x(1)) + int_eps^1 div f(x(t), t) dt,
 *
 * integrated jointly as d[x, delta]/dt = [f, div f] from t = eps to 1 with RK45 (`rk45`), and
 * log p_1 taken as the prior N(0, I). div f = tr(df/dx) is either exact (D vector-Jacobian products with
 * the unit vectors: small D) or Hutchinson's estimate v^T (df/dx) v (Hutchinson 1989; Grathwohl et al.
 * 2019, FFJORD) with one probe v per image, Rademacher or Gaussian, drawn once and held fixed over the
 * trajectory (as score_sde does); v^T J comes from reverse mode, grad_x sum(f(x) * v).
 *
 * Discrete 8-bit data: uniform dequantization (Theis et al. 2016; Ho et al. 2019, Flow++). The data
 * x = k / 127.5 - 1 (k in 0..255) lies on a grid of spacing w = 1 / 127.5 = 2/255 in model space; we
 * add (u - 1/2) w, u ~ U(0, 1), so each level owns the cell of width w centred on it (the same cells as
 * the VLB's discretized decoder). By Jensen, log P(k) = log int_cell p >= D log w + E_u log p(x + (u - 1/2) w),
 * so the bound in bits/dim on the 8-bit data is
 *
 *   bpd = (-log p(y) / D + log 127.5) / ln 2,   y the dequantized image,
 *
 * i.e. the model-space density's bits plus log2(127.5) = 6.994 bits/dim, the change of variables
 * from the [-1, 1] range to the integer scale [0, 256) of the 256 levels. (score_sde maps the levels
 * to k / 256 instead and adds log2(128) = 7 bits.) With `dequantization: "none"` the data are taken as
 * continuous and bpd = -log p(x) / (D ln 2) with no correction.
 */
import { checkOneOf, invalid } from "../diffusion/check.js";
import { flowCoefficients, type Rk45Options, rk45 } from "../diffusion/samplers/ode.js";
import type { VpSde } from "../diffusion/samplers/vp-sde.js";
import { bernoulli, foldIn, type Key, makeKey, normal, uniform } from "../random/index.js";
import * as T from "../tensor/index.js";
import { checkDecoderRange } from "./nll-gaussian.js";

/** A synchronous, differentiable eps model in continuous time (eager tensors: usable under valueAndGrad). */
export type TraceableEpsModel = (x: T.Tensor, t: number) => T.Tensor;

/** The drift f(x, t) and the vector-Jacobian product v^T df/dx, both shaped like x. */
export interface DriftVjp {
  drift: T.Tensor;
  vjp: T.Tensor;
}

/** f and v^T df/dx at (x, t) for a probe v shaped like x; each image's f must depend on that image only. */
export type VjpField = (x: T.Tensor, t: number, v: T.Tensor) => DriftVjp | Promise<DriftVjp>;

export const DIVERGENCES = ["rademacher", "gaussian", "exact"] as const;
export type Divergence = (typeof DIVERGENCES)[number];
export const DEQUANTIZATIONS = ["uniform", "none"] as const;
export type Dequantization = (typeof DEQUANTIZATIONS)[number];

/** Spacing of the 8-bit grid in model space, 2 / 255 (data = k / 127.5 - 1). */
export const LEVEL_SPACING = 2 / 255;

/** A `VjpField` from an eager eps model, by `T.valueAndGrad` of sum(f(x, t) * v) with respect to x. */
export function eagerVjpField(model: TraceableEpsModel, sde: VpSde): VjpField {
  const vg = T.valueAndGrad((x: T.Tensor, t: number, v: T.Tensor) => {
    const c = flowCoefficients(sde, t);
    const drift = T.add(T.mul(x, c.x), T.mul(model(x, t), c.eps));
    return { loss: T.sum(T.mul(drift, v)), aux: drift };
  });
  return (x, t, v) => {
    const { grads, aux } = vg(x, t, v);
    return { drift: aux, vjp: grads };
  };
}

export interface OdeNllOptions extends Rk45Options {
  sde: VpSde;
  /** How div f is computed (default "rademacher"); "exact" costs D field calls per evaluation. */
  divergence?: Divergence;
  /** "uniform" for 8-bit data in [-1, 1] (default), "none" for continuous data. */
  dequantization?: Dequantization;
  /** The data end of the ODE (default 1e-5, score_sde's likelihood eps). */
  tEnd?: number;
  /** Key of the dequantization noise and the probes (default makeKey(0)). */
  key?: Key;
}

export interface OdeNllResult {
  /** Bits/dim per image (with the 8-bit correction when dequantized). */
  bpd: Float64Array;
  /** log p_tEnd(y) per image in nats, y the (dequantized) input: prior + delta. */
  logp: Float64Array;
  /** log N(x(1); 0, I) per image. */
  priorLogp: Float64Array;
  /** int_tEnd^1 div f dt per image. */
  deltaLogp: Float64Array;
  /** x(1), the latent of each image. */
  latent: T.Tensor;
  /** Field evaluations of the solver (each is 1, or D for "exact", calls of the VjpField). */
  nfev: number;
  steps: number;
}

/** One probe per image: Rademacher +-1 or standard normal, shaped like x. */
export function hutchinsonProbe(kind: "rademacher" | "gaussian", shape: number[], key: Key): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values =
    kind === "gaussian" ? normal(key, n) : Float32Array.from(bernoulli(key, n, 0.5), (b) => 2 * b - 1);
  return T.tensor(values, shape);
}

/** sum_j a_bj c_bj per image, in float64, as a [B] tensor. */
function rowDots(a: T.Tensor, c: T.Tensor, B: number): Float64Array {
  const x = a.values();
  const y = c.values();
  const D = x.length / B;
  const out = new Float64Array(B);
  for (let i = 0; i < x.length; i++) out[Math.floor(i / D)] += x[i]! * y[i]!;
  return out;
}

/** The unit vector e_j in every image, shaped like x. */
function unitProbe(shape: number[], j: number): T.Tensor {
  const B = shape[0]!;
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const D = values.length / B;
  for (let b = 0; b < B; b++) values[b * D + j] = 1;
  return T.tensor(values, shape);
}

/** f(x, t) and div f per image: one probed VJP, or D unit-vector VJPs for the exact trace. */
async function driftAndDivergence(field: VjpField, x: T.Tensor, t: number, probe: T.Tensor | null) {
  const B = x.shape[0]!;
  if (probe) {
    const { drift, vjp } = await field(x, t, probe);
    return { drift, div: rowDots(vjp, probe, B) };
  }
  const D = x.size / B;
  const div = new Float64Array(B);
  let drift: T.Tensor | null = null;
  for (let j = 0; j < D; j++) {
    const out = await field(x, t, unitProbe([...x.shape], j));
    drift ??= out.drift;
    const g = out.vjp.values();
    for (let b = 0; b < B; b++) div[b] += g[b * D + j]!;
  }
  return { drift: drift!, div };
}

/** x + (u - 1/2) w, u ~ U(0, 1) per coordinate: each level's cell centred on it. */
export function dequantize(x: T.Tensor, key: Key): T.Tensor {
  const u = uniform(key, x.size);
  return T.add(
    x,
    T.tensor(
      Float32Array.from(u, (v) => (v - 0.5) * LEVEL_SPACING),
      [...x.shape],
    ),
  );
}

/** Per image log N(z; 0, I). */
function priorLogp(z: T.Tensor, B: number): Float64Array {
  const D = z.size / B;
  return rowDots(z, z, B).map((q) => -0.5 * (D * Math.log(2 * Math.PI) + q));
}

/**
 * -log p(x_0) in bits/dim for each image of `x0` [B, ...] (B >= 1) from the probability-flow ODE of
 * `options.sde`, the drift and its VJPs supplied by `field`.
 */
export async function odeNll(field: VjpField, x0: T.Tensor, options: OdeNllOptions): Promise<OdeNllResult> {
  const divergence = checkOneOf("divergence", options.divergence ?? "rademacher", DIVERGENCES);
  const dequant = checkOneOf("dequantization", options.dequantization ?? "uniform", DEQUANTIZATIONS);
  const tEnd = options.tEnd ?? 1e-5;
  if (!(tEnd > 0 && tEnd < 1)) invalid("tEnd", tEnd, "a time in (0, 1)");
  if (x0.rank < 2 || x0.shape[0]! < 1 || x0.size === 0) {
    invalid("x0.shape", `[${x0.shape.join(", ")}]`, "a non-empty batch [B, ...] with B >= 1");
  }
  if (dequant === "uniform") checkDecoderRange(x0.values(), "x0");
  const key = options.key ?? makeKey(0);
  const shape = [...x0.shape];
  const B = shape[0]!;
  const D = x0.size / B;
  const y = dequant === "uniform" ? dequantize(x0, foldIn(key, 0)) : x0;
  const probe = divergence === "exact" ? null : hutchinsonProbe(divergence, shape, foldIn(key, 1));
  // The state [B, D + 1]: the image and the accumulated divergence.
  const f = async (t: number, state: T.Tensor) => {
    const [x] = T.split(state, [D, 1], 1);
    const { drift, div } = await driftAndDivergence(field, T.reshape(x!, shape), t, probe);
    return T.concat([T.reshape(drift, [B, D]), T.tensor(Float32Array.from(div), [B, 1])], 1);
  };
  const start = T.concat([T.reshape(y, [B, D]), T.zeros([B, 1])], 1);
  const solved = await rk45(f, start, tEnd, 1, options);
  const [z, delta] = T.split(solved.y, [D, 1], 1);
  const prior = priorLogp(z!, B);
  const deltaLogp = Float64Array.from(delta!.values());
  const logp = prior.map((p, b) => p + deltaLogp[b]!);
  const offset = dequant === "uniform" ? Math.log(1 / LEVEL_SPACING) : 0;
  const bpd = logp.map((l) => (-l / D + offset) / Math.LN2);
  return {
    bpd,
    logp,
    priorLogp: prior,
    deltaLogp,
    latent: T.reshape(z!, shape),
    nfev: solved.nfev,
    steps: solved.steps,
  };
}
