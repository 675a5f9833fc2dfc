/**
 * Sampling a JointUNet (models/joint-unet.ts) — one network, three distributions (UniDiffuser, Bao et
 * al. 2023, Sec. 3.2): the modality that is given stays CLEAN at timestep 0, the one sampled runs the
 * reverse process over its own timestep:
 *
 *   p(x | y)   t_y = 0, y = the one-hot (never changed); x from noise over t_x
 *              (optional classifier-free guidance: eps = eps_u + w (eps_c - eps_u), eps_u with the label
 *              fully noised: t_y = T-1 and y pure noise, UniDiffuser's unconditional point)
 *   p(y | x)   t_x = 0, x = the image; y from noise over t_y; label = argmax y
 *   one-shot   t_x = 0, t_y = T-1, y pure noise: y0_hat = (y - sigma eps_y) / alpha, label = argmax
 *   p(x, y)    t_x = t_y = t, both from noise together; label = argmax y
 *
 * Each step is DDIM's (eq. 12, `ddimUpdate`) with sigma_t(eta) (eq. 16): eta = 1 is DDPM's ancestral
 * sampler on the strided grid, eta = 0 deterministic DDIM. x0_hat is clipped to [-1, 1] for both
 * modalities (images in [-1, 1], one-hots in +-1) and eps re-derived from it, as diffusers' DDIM does.
 * Timesteps: "leading" spacing, t = (n-1) r, ..., r, 0 with r = T // n. Browser-safe.
 */
import { lincomb } from "../diffusion/combine.js";
import { alphaSigmaFromAbar, epsFromX0, x0FromEps } from "../diffusion/parametrization.js";
import { ddimSigma, ddimUpdate } from "../diffusion/schedulers/ddim.js";
import { alphasCumprod, type BetaScheduleConfig, betasFor } from "../diffusion/schedules.js";
import type { JointUNet } from "../models/joint-unet.js";
import type { Params } from "../nn/module.js";
import { foldIn, type Key, makeKey, normal } from "../random/index.js";
import * as T from "../tensor/index.js";

/** The network as the sampler sees it: both noise predictions at (x, t_x, y, t_y), t's int32 [B]. */
export type JointForward = (
  x: T.Tensor,
  tx: T.Tensor,
  y: T.Tensor,
  ty: T.Tensor,
) => Promise<{ epsX: T.Tensor; epsY: T.Tensor }>;

export interface JointSampler {
  forward: JointForward;
  /** abar_t, t = 0..T-1 */
  alphasCumprod: Float64Array;
  /** [C, H, W] */
  imageShape: readonly number[];
  labelDim: number;
}

export interface JointSampleOptions {
  /** Reverse steps (default 20). */
  steps?: number;
  /** DDIM eta: 1 (default) ancestral, 0 deterministic. */
  eta?: number;
  seed?: number;
  /** Examples per network call (default 100). */
  batchSize?: number;
  /** p(x | y) only: classifier-free guidance scale w (default 1: no guidance). */
  guidanceScale?: number;
}

/** A sampler over a JointUNet and its parameters, with a compiled forward; `schedulerConfig` is the run's DDPMScheduler. */
export function jointSampler(
  model: JointUNet,
  params: Params,
  schedulerConfig: Record<string, unknown>,
  threads = 0,
): JointSampler {
  const f = T.compile(
    (p: Params, x: T.Tensor, tx: T.Tensor, y: T.Tensor, ty: T.Tensor) => model.forward(p, x, tx, y, ty),
    threads > 0 ? { threads } : {},
  );
  const abar = alphasCumprod(betasFor(schedulerConfig as BetaScheduleConfig));
  const sample = model.config.label_prediction === "sample";
  return {
    forward: async (x, tx, y, ty) => {
      const out = await f(params, x, tx, y, ty);
      return sample ? { epsX: out.epsX, epsY: labelEps(out.epsY, y, ty, abar) } : out;
    },
    alphasCumprod: abar,
    imageShape: model.imageShape,
    labelDim: model.config.label_dim,
  };
}

/**
 * eps_y from a y0 prediction [B, dim] at y_t [B, dim] and t_y [B]: (y_t - alpha y0_hat) / sigma, per
 * row (the model's label_prediction "sample"). At t_y = 0 sigma is small but positive.
 */
export function labelEps(y0: T.Tensor, yt: T.Tensor, ty: T.Tensor, abar: Float64Array): T.Tensor {
  const t = ty.values();
  const B = yt.shape[0]!;
  const col = (f: (a: number) => number) =>
    T.tensor(
      Float32Array.from({ length: B }, (_, i) => f(abar[t.length === 1 ? t[0]! : t[i]!]!)),
      [B, 1],
    );
  return T.div(
    T.sub(yt, T.mul(y0, col(Math.sqrt))),
    col((a) => Math.sqrt(1 - a)),
  );
}

/** One-hot labels in +-1 as [N, dim]; errors name the bad entry. */
function oneHot(labels: Int32Array, dim: number): Float32Array {
  const out = new Float32Array(labels.length * dim).fill(-1);
  labels.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 0 || k >= dim)
      throw new RangeError(`labels[${i}] is ${k}; expected a class in 0..${dim - 1} (label_dim ${dim})`);
    out[i * dim + k] = 1;
  });
  return out;
}

/** Row-wise argmax of [N, dim]. */
export function argmaxRows(v: Float32Array, dim: number): Int32Array {
  const n = v.length / dim;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < dim; k++) if (v[i * dim + k]! > v[i * dim + best]!) best = k;
    out[i] = best;
  }
  return out;
}

/** The strided ("leading") timesteps, high to low. */
export function jointTimesteps(numTrain: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTrain)
    throw new RangeError(`steps is ${steps}; expected an integer in 1..${numTrain}`);
  const r = Math.floor(numTrain / steps);
  return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * r);
}

const full = (n: number, t: number) => T.tensor(new Int32Array(n).fill(t), [n], "int32");

/** One reverse step of a sampled modality: clip x0_hat, DDIM update to abarPrev. */
function step(v: T.Tensor, eps: T.Tensor, abar: number, abarPrev: number, eta: number, key: Key): T.Tensor {
  const c = alphaSigmaFromAbar(abar);
  const x0 = T.clip(x0FromEps(v, eps, c), -1, 1);
  const e = epsFromX0(v, x0, c);
  const std = ddimSigma(abar, abarPrev, eta);
  const z = std > 0 ? T.tensor(normal(key, v.size), [...v.shape]) : undefined;
  return ddimUpdate(x0, e, abarPrev, std, z);
}

type Mode = "x|y" | "y|x" | "joint";

/** The reverse process of one chunk. `x` / `y` hold the given modality (clean) or the start noise. */
async function run(
  s: JointSampler,
  mode: Mode,
  x: T.Tensor,
  y: T.Tensor,
  o: JointSampleOptions,
  key: Key,
): Promise<{ x: T.Tensor; y: T.Tensor }> {
  const abar = s.alphasCumprod;
  const numTrain = abar.length;
  const ts = jointTimesteps(numTrain, o.steps ?? 20);
  const eta = o.eta ?? 1;
  const w = o.guidanceScale ?? 1;
  const n = x.shape[0]!;
  const r = Math.floor(numTrain / ts.length);
  const yNull = T.tensor(normal(foldIn(key, 0x6e756c6c), n * s.labelDim), [n, s.labelDim]);
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    const prev = t - r >= 0 ? abar[t - r]! : 1;
    const k = foldIn(key, i);
    const tx = full(n, mode === "y|x" ? 0 : t);
    const ty = full(n, mode === "x|y" ? 0 : t);
    const out = await s.forward(x, tx, y, ty);
    if (mode === "x|y") {
      let eps = out.epsX;
      if (w !== 1) {
        const u = await s.forward(x, tx, yNull, full(n, numTrain - 1));
        eps = lincomb([1 - w, u.epsX], [w, out.epsX]);
      }
      x = step(x, eps, abar[t]!, prev, eta, k);
    } else if (mode === "y|x") {
      y = step(y, out.epsY, abar[t]!, prev, eta, k);
    } else {
      x = step(x, out.epsX, abar[t]!, prev, eta, foldIn(k, 1));
      y = step(y, out.epsY, abar[t]!, prev, eta, foldIn(k, 2));
    }
  }
  return { x, y };
}

function checkImages(s: JointSampler, images: Float32Array): number {
  const per = s.imageShape.reduce((a, b) => a * b, 1);
  if (images.length === 0 || images.length % per !== 0)
    throw new RangeError(
      `images: ${images.length} values are not a whole number of [${s.imageShape.join(", ")}] images (${per} values each)`,
    );
  return images.length / per;
}

/** Runs `chunk(start, count, key)` over [0, n) in batches, concatenating the outputs. */
async function chunked(
  n: number,
  o: JointSampleOptions,
  chunk: (start: number, count: number, key: Key) => Promise<{ x: T.Tensor; y: T.Tensor }>,
): Promise<{ x: Float32Array[]; y: Float32Array[] }> {
  const bs = o.batchSize ?? 100;
  const base = makeKey(o.seed ?? 0);
  const xs: Float32Array[] = [];
  const ys: Float32Array[] = [];
  for (let start = 0, c = 0; start < n; start += bs, c++) {
    const r = await chunk(start, Math.min(bs, n - start), foldIn(base, c));
    xs.push(r.x.values() as Float32Array);
    ys.push(r.y.values() as Float32Array);
  }
  return { x: xs, y: ys };
}

const cat = (parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** p(x | y): images [N, C, H, W] (flat) for `labels`; `y` is the given one-hots, unchanged. */
export async function sampleImagesGivenLabels(
  s: JointSampler,
  labels: Int32Array,
  o: JointSampleOptions = {},
): Promise<{ images: Float32Array; y: Float32Array }> {
  const d = s.labelDim;
  const y0 = oneHot(labels, d);
  const r = await chunked(labels.length, o, (start, count, key) => {
    const x = T.tensor(normal(foldIn(key, 0x78), count * s.imageShape.reduce((a, b) => a * b, 1)), [
      count,
      ...s.imageShape,
    ]);
    const y = T.tensor(y0.slice(start * d, (start + count) * d), [count, d]);
    return run(s, "x|y", x, y, o, key);
  });
  return { images: cat(r.x), y: cat(r.y) };
}

/** p(y | x): the sampled label vectors [N, dim] for `images` (flat [N, C, H, W]) and their argmax. */
export async function sampleLabelsGivenImages(
  s: JointSampler,
  images: Float32Array,
  o: JointSampleOptions = {},
): Promise<{ y: Float32Array; labels: Int32Array }> {
  const n = checkImages(s, images);
  const per = images.length / n;
  const r = await chunked(n, o, (start, count, key) => {
    const x = T.tensor(images.slice(start * per, (start + count) * per), [count, ...s.imageShape]);
    const y = T.tensor(normal(foldIn(key, 0x79), count * s.labelDim), [count, s.labelDim]);
    return run(s, "y|x", x, y, o, key);
  });
  const y = cat(r.y);
  return { y, labels: argmaxRows(y, s.labelDim) };
}

/** The one-shot classifier: y0_hat at t_x = 0, t_y = T-1 (one network call), and its argmax. */
export async function classifyOneShot(
  s: JointSampler,
  images: Float32Array,
  o: Pick<JointSampleOptions, "seed" | "batchSize"> = {},
): Promise<{ y0: Float32Array; labels: Int32Array }> {
  const n = checkImages(s, images);
  const per = images.length / n;
  const last = s.alphasCumprod.length - 1;
  const c = alphaSigmaFromAbar(s.alphasCumprod[last]!);
  const r = await chunked(n, o, async (start, count, key) => {
    const x = T.tensor(images.slice(start * per, (start + count) * per), [count, ...s.imageShape]);
    const y = T.tensor(normal(foldIn(key, 0x79), count * s.labelDim), [count, s.labelDim]);
    const out = await s.forward(x, full(count, 0), y, full(count, last));
    return { x, y: x0FromEps(y, out.epsY, c) };
  });
  const y0 = cat(r.y);
  return { y0, labels: argmaxRows(y0, s.labelDim) };
}

/** p(x, y): `n` pairs sampled together (t_x = t_y); labels = argmax of y. */
export async function samplePairs(
  s: JointSampler,
  n: number,
  o: JointSampleOptions = {},
): Promise<{ images: Float32Array; y: Float32Array; labels: Int32Array }> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n is ${n}; expected a positive integer`);
  const r = await chunked(n, o, (_, count, key) => {
    const x = T.tensor(normal(foldIn(key, 0x78), count * s.imageShape.reduce((a, b) => a * b, 1)), [
      count,
      ...s.imageShape,
    ]);
    const y = T.tensor(normal(foldIn(key, 0x79), count * s.labelDim), [count, s.labelDim]);
    return run(s, "joint", x, y, o, key);
  });
  const y = cat(r.y);
  return { images: cat(r.x), y, labels: argmaxRows(y, s.labelDim) };
}
