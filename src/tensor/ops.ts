/**
 * The tensor operations users call (PyTorch-like names). Each is a primitive or a short composition of
 * primitives, so autodiff, tracing and ONNX lowering come for free.
 */
import { allocate, type DType } from "./dtype.js";
import type { Pair } from "./primitives.js";
import { broadcastShapes, fmt, normAxis, type Shape, size } from "./shape.js";
import { withoutTapes } from "./tape.js";
import { bind, fromArray, Tensor } from "./tensor.js";

export type TensorLike = Tensor | number;

// ---------------------------------------------------------------- creation

export function scalar(value: number, dtype: DType = "float32"): Tensor {
  const a = allocate(dtype, 1);
  a[0] = value;
  return new Tensor([], dtype, a);
}

export function full(shape: Shape, value: number, dtype: DType = "float32"): Tensor {
  const a = allocate(dtype, size(shape));
  a.fill(value);
  return new Tensor(shape, dtype, a);
}

export const zeros = (shape: Shape, dtype: DType = "float32") => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: DType = "float32") => full(shape, 1, dtype);
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);
export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);

/** [start, start+step, ...) below `stop`. */
export function arange(start: number, stop: number, step = 1, dtype: DType = "float32"): Tensor {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const a = allocate(dtype, n);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return new Tensor([n], dtype, a);
}

export { fromArray as tensor };

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2 };

/**
 * The dtype of a binary op's result, as PyTorch's type promotion: tensors promote bool < int32 <
 * float32; a number takes the tensor's dtype unless it needs a wider one (a fractional number with an
 * int32 or bool tensor gives float32: `mul(int32Tensor, 0.5)` is [0.5, 1, ...], not zeros; an integer
 * with a bool tensor gives int32).
 */
export function resultDtype(a: TensorLike, b: TensorLike): DType {
  const of = (x: TensorLike): DType =>
    typeof x === "number" ? (Number.isInteger(x) ? "int32" : "float32") : x.dtype;
  if (typeof a !== "number" && typeof b !== "number")
    return RANK[a.dtype] >= RANK[b.dtype] ? a.dtype : b.dtype;
  if (typeof a === "number" && typeof b === "number") return "float32";
  const [t, n] = (typeof a === "number" ? [b, a] : [a, b]) as [Tensor, number];
  return RANK[of(n)] > RANK[t.dtype] ? of(n) : t.dtype;
}

/** Numbers become scalars and tensors are cast, both to the promoted dtype (see resultDtype). */
function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const dtype = resultDtype(a, b);
  const lift = (x: TensorLike): Tensor => (typeof x === "number" ? scalar(x, dtype) : cast(x, dtype));
  return [lift(a), lift(b)];
}

// ---------------------------------------------------------------- elementwise

export const neg = (x: Tensor) => bind("neg", [x], {});
export const exp = (x: Tensor) => bind("exp", [x], {});
export const log = (x: Tensor) => bind("log", [x], {});
export const sqrt = (x: Tensor) => bind("sqrt", [x], {});
export const tanh = (x: Tensor) => bind("tanh", [x], {});
export const sigmoid = (x: Tensor) => bind("sigmoid", [x], {});
export const sin = (x: Tensor) => bind("sin", [x], {});
export const cos = (x: Tensor) => bind("cos", [x], {});
export const abs = (x: Tensor) => bind("abs", [x], {});
export const sign = (x: Tensor) => bind("sign", [x], {});

export const add = (a: TensorLike, b: TensorLike) => bind("add", pair(a, b), {});
export const sub = (a: TensorLike, b: TensorLike) => bind("sub", pair(a, b), {});
export const mul = (a: TensorLike, b: TensorLike) => bind("mul", pair(a, b), {});
export const div = (a: TensorLike, b: TensorLike) => bind("div", pair(a, b), {});
export const maximum = (a: TensorLike, b: TensorLike) => bind("maximum", pair(a, b), {});
export const minimum = (a: TensorLike, b: TensorLike) => bind("minimum", pair(a, b), {});
export const less = (a: TensorLike, b: TensorLike) => bind("less", pair(a, b), {});
export const greater = (a: TensorLike, b: TensorLike) => bind("greater", pair(a, b), {});
export const equal = (a: TensorLike, b: TensorLike) => bind("equal", pair(a, b), {});

export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = pair(a, b);
  return bind("where", [cond, ta, tb], {});
}

export const cast = (x: Tensor, dtype: DType) => (x.dtype === dtype ? x : bind("cast", [x], { dtype }));
export const square = (x: Tensor) => mul(x, x);
export const rsqrt = (x: Tensor) => div(1, sqrt(x));
export const relu = (x: Tensor) => maximum(x, 0);
/** SiLU / swish: x * sigmoid(x). */
export const silu = (x: Tensor) => mul(x, sigmoid(x));
/**
 * x ** p for a constant exponent: exact repeated products for small integer p (so negative bases work),
 * exp(p log x) otherwise (x > 0).
 */
export function pow(x: Tensor, p: number): Tensor {
  if (Number.isInteger(p) && Math.abs(p) <= 4) {
    if (p === 0) return onesLike(x);
    let y = x;
    for (let i = 1; i < Math.abs(p); i++) y = mul(y, x);
    return p < 0 ? div(1, y) : y;
  }
  if (p === 0.5) return sqrt(x);
  return exp(mul(log(x), p));
}

export const clip = (x: Tensor, lo: number, hi: number) => minimum(maximum(x, lo), hi);

/** A value that autodiff treats as constant. */
export function stopGradient(x: Tensor): Tensor {
  return withoutTapes(() => x.alias());
}

// ---------------------------------------------------------------- reductions

function axesOf(x: Tensor, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  return [...new Set(list.map((a) => normAxis(a, x.rank)))].sort((a, b) => a - b);
}

export function sum(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = axesOf(x, axes);
  return ax.length === 0 ? x : bind("sum", [x], { axes: ax, keepdims });
}

export function max(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = axesOf(x, axes);
  return ax.length === 0 ? x : bind("max", [x], { axes: ax, keepdims });
}

export function min(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  return neg(max(neg(x), axes, keepdims));
}

export function mean(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = axesOf(x, axes);
  const n = ax.reduce((acc, a) => acc * x.shape[a], 1);
  return div(sum(x, ax, keepdims), n);
}

/** Population variance (PyTorch's unbiased=False), as GroupNorm and LayerNorm use. */
export function variance(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = axesOf(x, axes);
  const centred = sub(x, mean(x, ax, true));
  return mean(square(centred), ax, keepdims);
}

/** log(sum(exp(x))) along `axis`, stabilised by the (constant) maximum. */
export function logsumexp(x: Tensor, axis = -1, keepdims = false): Tensor {
  const m = stopGradient(max(x, axis, true));
  const s = log(sum(exp(sub(x, m)), axis, true));
  const out = add(s, m);
  return keepdims ? out : squeeze(out, axis);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const e = exp(sub(x, stopGradient(max(x, axis, true))));
  return div(e, sum(e, axis, true));
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return sub(x, logsumexp(x, axis, true));
}

// ---------------------------------------------------------------- layout

/** Reshape; one entry may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.reduce((acc, d) => (d === -1 ? acc : acc * d), 1);
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (resolved.length === x.rank && resolved.every((d, i) => d === x.shape[i])) return x;
  return bind("reshape", [x], { shape: resolved });
}

export const flatten = (x: Tensor, fromAxis = 0) =>
  reshape(x, [...x.shape.slice(0, normAxis(fromAxis, x.rank)), -1]);

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((v, i) => v === i)) return x;
  return bind("transpose", [x], { perm: p.map((a) => normAxis(a, x.rank)) });
}

export const permute = transpose;

export function swapAxes(x: Tensor, a: number, b: number): Tensor {
  const perm = x.shape.map((_, i) => i);
  const [i, j] = [normAxis(a, x.rank), normAxis(b, x.rank)];
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return transpose(x, perm);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank);
  if (x.shape[a] !== 1)
    throw new RangeError(`squeeze: axis ${axis} of ${fmt(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, [...x.shape.slice(0, a), ...x.shape.slice(a + 1)]);
}

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (x.rank === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind("expand", [x], { shape });
}

/** Slices along leading axes: `ranges[i] = [start, end)` (negative values count from the end). */
export function slice(x: Tensor, ranges: readonly (readonly [number, number?] | null)[]): Tensor {
  const starts = x.shape.map(() => 0);
  const ends = [...x.shape];
  ranges.forEach((r, i) => {
    if (!r) return;
    const d = x.shape[i];
    const norm = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
    starts[i] = norm(r[0]);
    ends[i] = r[1] === undefined ? d : norm(r[1]);
  });
  if (starts.every((s, i) => s === 0 && ends[i] === x.shape[i])) return x;
  return bind("slice", [x], { starts, ends });
}

/** `length` entries of `axis` from `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis(axis, x.rank);
  const ranges: ([number, number] | null)[] = x.shape.map(() => null);
  ranges[a] = [start, start + length];
  return slice(x, ranges);
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new RangeError("concat needs at least one tensor");
  if (xs.length === 1) return xs[0];
  return bind("concat", xs, { axis: normAxis(axis, xs[0].rank) });
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  return concat(
    xs.map((x) => unsqueeze(x, axis)),
    axis,
  );
}

export function split(x: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  let start = 0;
  return sizes.map((n) => {
    const part = narrow(x, axis, start, n);
    start += n;
    return part;
  });
}

/** Constant padding; `pads[i] = [before, after]` for the trailing axes, like the last axes first in torch's F.pad. */
export function pad(x: Tensor, pads: readonly Pair[], value = 0): Tensor {
  const full: Pair[] = x.shape.map((_, i) => pads[i - (x.rank - pads.length)] ?? [0, 0]);
  if (full.every(([l, r]) => l === 0 && r === 0)) return x;
  return bind("pad", [x], { pads: full, value });
}

/** Tiles `x` `reps[i]` times along each axis (torch's Tensor.repeat). */
export function repeat(x: Tensor, reps: readonly number[]): Tensor {
  const xs = [...new Array(reps.length - x.rank).fill(1), ...x.shape];
  const inter = xs.flatMap((d) => [1, d]);
  const target = xs.flatMap((d, i) => [reps[i], d]);
  return reshape(
    broadcastTo(reshape(x, inter), target),
    xs.map((d, i) => d * reps[i]),
  );
}

/** Nearest-neighbour upsampling of NCHW by an integer factor (F.interpolate mode="nearest"). */
export function upsampleNearest2d(x: Tensor, factor = 2): Tensor {
  const [b, c, h, w] = x.shape;
  const wide = broadcastTo(reshape(x, [b, c, h, 1, w, 1]), [b, c, h, factor, w, factor]);
  return reshape(wide, [b, c, h * factor, w * factor]);
}

// ---------------------------------------------------------------- linear algebra

/** Matrix product with NumPy semantics for 1-D operands and broadcast batch dims. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank >= 2 && b.rank >= 2) return bind("matmul", [a, b], {});
  const y = bind("matmul", [a.rank === 1 ? unsqueeze(a, 0) : a, b.rank === 1 ? unsqueeze(b, 1) : b], {});
  const shape = [...y.shape];
  if (b.rank === 1) shape.splice(-1, 1);
  if (a.rank === 1) shape.splice(-2 + (b.rank === 1 ? 1 : 0), 1);
  return reshape(y, shape);
}

/** y = x W^T + b over the last axis (torch.nn.functional.linear). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const y = matmul(x, transpose(weight));
  return bias ? add(y, bias) : y;
}

export interface Conv2dOptions {
  stride?: number | Pair;
  /** symmetric [h, w] or [top, left, bottom, right] */
  padding?: number | Pair | readonly [number, number, number, number];
  dilation?: number | Pair;
  groups?: number;
}

function conv2dParams(o: Conv2dOptions) {
  const asPair = (v: number | Pair): Pair => (typeof v === "number" ? [v, v] : v);
  const p = o.padding ?? 0;
  const padding: readonly [number, number, number, number] =
    typeof p === "number"
      ? [p, p, p, p]
      : p.length === 2
        ? [p[0], p[1], p[0], p[1]]
        : (p as [number, number, number, number]);
  return { stride: asPair(o.stride ?? 1), padding, dilation: asPair(o.dilation ?? 1), groups: o.groups ?? 1 };
}

/** 2-D cross-correlation of NCHW `x` with `weight` [Co, Ci/groups, kh, kw], plus a per-channel bias. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  const y = bind("conv2d", [x, weight], conv2dParams(options));
  return bias ? add(y, reshape(bias, [1, -1, 1, 1])) : y;
}

/** Transposed convolution, weight [Ci, Co/groups, kh, kw] (torch's conv_transpose2d). */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor,
  options: Conv2dOptions & { outputPadding?: number | Pair } = {},
): Tensor {
  const op = options.outputPadding ?? 0;
  const outputPadding: Pair = typeof op === "number" ? [op, op] : op;
  const y = bind("convTranspose2d", [x, weight], { ...conv2dParams(options), outputPadding });
  return bias ? add(y, reshape(bias, [1, -1, 1, 1])) : y;
}

/** Rows of `table` picked by int32 `indices` (an embedding lookup). */
export function gather(table: Tensor, indices: Tensor): Tensor {
  return bind("gather", [table, cast(indices, "int32")], {});
}

/** One-hot float32 encoding of int32 `indices` with `n` classes, on a new last axis. */
export function oneHot(indices: Tensor, n: number): Tensor {
  const classes = arange(0, n, 1, "int32");
  return cast(equal(unsqueeze(cast(indices, "int32"), -1), classes), "float32");
}

/** Sums `g` down to `shape`: the adjoint of broadcasting. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape
    .map((_, i) => i)
    .filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return reshape(sum(g, axes, false), shape);
}

export { broadcastShapes };
