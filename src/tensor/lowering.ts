/**
 * ONNX lowerings: each primitive becomes one or a few ONNX (opset 18) nodes. Shape operands are int64
 * constants. The choices where several lowerings exist are documented at the rule (measured in bench/).
 */
import { attr, type OnnxGraphBuilder } from "../onnx/builder.js";
import type { Aval } from "./aval.js";
import type { DType } from "./dtype.js";
import type { ConvParams, Primitive, PrimitiveParams } from "./primitives.js";

type Lowering<Params> = (
  b: OnnxGraphBuilder,
  ins: readonly string[],
  avals: readonly Aval[],
  p: Params,
  out: Aval,
) => string;

/** ONNX TensorProto.DataType codes. */
export const ONNX_TYPE: Record<DType, number> = { float32: 1, int32: 6, bool: 9 };

const op =
  (type: string): Lowering<PrimitiveParams["neg"]> =>
  (b, ins) =>
    b.node(type, ins)[0];

function scalarConst(b: OnnxGraphBuilder, value: number, dtype: DType): string {
  if (dtype === "float32") return b.constFloat([value], []);
  if (dtype === "int32") return b.constInt32([value], []);
  return b.initializer("bool", [], Uint8Array.of(value ? 1 : 0));
}

function reduce(type: string): Lowering<PrimitiveParams["sum"]> {
  return (b, [x], _a, { axes, keepdims }) =>
    b.node(type, [x, b.constInt64(axes)], { keepdims: attr.int(keepdims ? 1 : 0) })[0];
}

function convAttrs(p: ConvParams) {
  return {
    strides: attr.ints(p.stride),
    pads: attr.ints(p.padding),
    dilations: attr.ints(p.dilation),
    group: attr.int(p.groups),
  };
}

/** The strided slice of the padded input `xp` that kernel tap (ky, kx) multiplies: [B, Ci, Ho, Wo]. */
function tapOf(
  b: OnnxGraphBuilder,
  xp: string,
  p: PrimitiveParams["convWeightGrad"],
  ky: number,
  kx: number,
  Ho: number,
  Wo: number,
): string {
  const y0 = ky * p.dilation[0];
  const x0 = kx * p.dilation[1];
  return b.node("Slice", [
    xp,
    b.constInt64([y0, x0]),
    b.constInt64([y0 + (Ho - 1) * p.stride[0] + 1, x0 + (Wo - 1) * p.stride[1] + 1]),
    b.constInt64([2, 3]),
    b.constInt64([p.stride[0], p.stride[1]]),
  ])[0];
}

/**
 * Below this many im2col columns (Ci * kh * kw) the weight gradient stacks the taps into one im2col
 * buffer; from it on, one GEMM per tap (bench/conv-weight-grad.ts: the stacked buffer's Concat
 * costs more than it saves once the columns are many; with one input channel it is the faster one).
 */
export const WEIGHT_GRAD_TAPS_FROM = 32;

/**
 * d loss / d weight of conv2d (one group; `form` forces one of the two forms, for bench/). Each
 * kernel tap (ky, kx) is a strided slice of the padded input, tap[b, ci, (oy,ox)], and dW[co, ci, ky, kx] = sum_b dy[b, co, (oy,ox)] @ tap[b]^T; the
 * transposes are left to ORT's MatMul fusion (FusedMatMul with transB), so no operand is copied into
 * another layout.
 * - Many columns: one batched GEMM per tap, summed over the batch, the kh*kw small [Co, Ci] results
 *   concatenated. Measured (`npx tsx bench/conv-weight-grad.ts`, unet28's shapes at batch 32, one
 *   thread, alternated): 0.63-0.97x the time of the stacked form.
 * - Few columns (the first convolution of a grey-image network): the taps stacked into
 *   cols[b, (ci,ky,kx), (oy,ox)] and one batched GEMM (3x faster there than nine tiny GEMMs).
 * A [B,Ho,Wo,Ci,k*k] im2col with one big GEMM spent most of the step in Transpose (bench/profile.ts).
 */
export function weightGradGroup(
  b: OnnxGraphBuilder,
  x: string,
  dy: string,
  xs: Aval,
  dys: Aval,
  p: PrimitiveParams["convWeightGrad"],
  form: WeightGradForm = "auto",
): string {
  const [B, Ci] = xs.shape;
  const [, Co, Ho, Wo] = dys.shape;
  const [kh, kw] = p.kernel;
  const [pt, pl, pb, pr] = p.padding;
  const padded =
    pt + pl + pb + pr > 0 ? b.node("Pad", [x, b.constInt64([0, 0, pt, pl, 0, 0, pb, pr])])[0] : x;
  const dy3 = b.node("Reshape", [dy, b.constInt64([B, Co, Ho * Wo])])[0];
  /** sum_b a[b] @ cols[b]^T for cols [B, n, Ho*Wo]: [Co, n]. */
  const gemm = (cols: string) => {
    const colsT = b.node("Transpose", [cols], { perm: attr.ints([0, 2, 1]) })[0];
    const perBatch = b.node("MatMul", [dy3, colsT])[0];
    return b.node("ReduceSum", [perBatch, b.constInt64([0])], { keepdims: attr.int(0) })[0];
  };
  const taps: string[] = [];
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) taps.push(tapOf(b, padded, p, ky, kx, Ho, Wo));
  }
  const stack = form === "auto" ? Ci * kh * kw < WEIGHT_GRAD_TAPS_FROM : form === "stacked";
  if (taps.length === 1 || stack) {
    // cols: [B, Ci, kh*kw, Ho, Wo] viewed as [B, Ci*kh*kw, Ho*Wo]
    const unsqueezed = taps.map((t) => b.node("Unsqueeze", [t, b.constInt64([2])])[0]);
    const stacked =
      unsqueezed.length === 1 ? unsqueezed[0] : b.node("Concat", unsqueezed, { axis: attr.int(2) })[0];
    const cols = b.node("Reshape", [stacked, b.constInt64([B, Ci * kh * kw, Ho * Wo])])[0];
    return b.node("Reshape", [gemm(cols), b.constInt64([Co, Ci, kh, kw])])[0];
  }
  const perTap = taps.map((t) => {
    const dw = gemm(b.node("Reshape", [t, b.constInt64([B, Ci, Ho * Wo])])[0]);
    return b.node("Unsqueeze", [dw, b.constInt64([2])])[0];
  });
  const stacked = b.node("Concat", perTap, { axis: attr.int(2) })[0];
  return b.node("Reshape", [stacked, b.constInt64([Co, Ci, kh, kw])])[0];
}

export type WeightGradForm = "auto" | "stacked" | "taps";
let weightGradForm: WeightGradForm = "auto";

/**
 * Forces the weight gradient's form in graphs lowered from now on ("auto": by column count), for
 * benchmarks that time the lowerings against each other in one process (bench/train-step-ab.ts).
 * Returns the previous form.
 */
export function setWeightGradForm(form: WeightGradForm): WeightGradForm {
  const previous = weightGradForm;
  weightGradForm = form;
  return previous;
}

const convWeightGrad: Lowering<PrimitiveParams["convWeightGrad"]> = (b, [x, dy], [xs, dys], p) => {
  const g = p.groups;
  if (g === 1) return weightGradGroup(b, x, dy, xs, dys, p, weightGradForm);
  const cig = xs.shape[1] / g;
  const cog = dys.shape[1] / g;
  const part = (name: string, c: number, i: number) =>
    b.node("Slice", [name, b.constInt64([i * c]), b.constInt64([(i + 1) * c]), b.constInt64([1])])[0];
  const parts = Array.from({ length: g }, (_, i) =>
    weightGradGroup(
      b,
      part(x, cig, i),
      part(dy, cog, i),
      { shape: [xs.shape[0], cig, xs.shape[2], xs.shape[3]], dtype: xs.dtype },
      { shape: [dys.shape[0], cog, dys.shape[2], dys.shape[3]], dtype: dys.dtype },
      { ...p, groups: 1 },
      weightGradForm,
    ),
  );
  return b.node("Concat", parts, { axis: attr.int(0) })[0];
};

/**
 * A unit-stride transposed convolution is a plain convolution with the kernel flipped and its channel
 * axes swapped, padded by d(k-1) - p: y = conv2d(x, flip(w)^T, pad = d(k-1) - p). MLAS's Conv path is
 * faster than its ConvTranspose (col2im) path (bench/profile.ts); strided or grouped ones, and
 * paddings larger than the kernel, keep ConvTranspose.
 */
const convTranspose2d: Lowering<PrimitiveParams["convTranspose2d"]> = (b, [x, w], [, ws], p) => {
  const [kh, kw] = [ws.shape[2], ws.shape[3]];
  const pads = [
    p.dilation[0] * (kh - 1) - p.padding[0],
    p.dilation[1] * (kw - 1) - p.padding[1],
    p.dilation[0] * (kh - 1) - p.padding[2] + p.outputPadding[0],
    p.dilation[1] * (kw - 1) - p.padding[3] + p.outputPadding[1],
  ];
  const unit = p.stride[0] === 1 && p.stride[1] === 1 && p.groups === 1;
  if (!unit || pads.some((v) => v < 0)) {
    return b.node("ConvTranspose", [x, w], {
      ...convAttrs(p),
      output_padding: attr.ints(p.outputPadding),
    })[0];
  }
  const swapped = b.node("Transpose", [w], { perm: attr.ints([1, 0, 2, 3]) })[0];
  const flipped = b.node("Slice", [
    swapped,
    b.constInt64([-1, -1]),
    b.constInt64([-(2 ** 62), -(2 ** 62)]),
    b.constInt64([2, 3]),
    b.constInt64([-1, -1]),
  ])[0];
  return b.node("Conv", [x, flipped], {
    ...convAttrs({ ...p, padding: pads as unknown as ConvParams["padding"] }),
  })[0];
};

export const lowerings: { [P in Primitive]: Lowering<PrimitiveParams[P]> } = {
  neg: op("Neg"),
  exp: op("Exp"),
  log: op("Log"),
  sqrt: op("Sqrt"),
  tanh: op("Tanh"),
  sigmoid: op("Sigmoid"),
  sin: op("Sin"),
  cos: op("Cos"),
  abs: op("Abs"),
  sign: op("Sign"),
  add: op("Add"),
  sub: op("Sub"),
  mul: op("Mul"),
  div: op("Div"),
  maximum: op("Max"),
  minimum: op("Min"),
  less: op("Less"),
  greater: op("Greater"),
  equal: op("Equal"),
  where: op("Where"),
  cast: (b, [x], _a, { dtype }) => b.node("Cast", [x], { to: attr.int(ONNX_TYPE[dtype]) })[0],
  sum: reduce("ReduceSum"),
  max: reduce("ReduceMax"),
  reshape: (b, [x], _a, { shape }) => b.node("Reshape", [x, b.constInt64(shape)])[0],
  transpose: (b, [x], _a, { perm }) => b.node("Transpose", [x], { perm: attr.ints(perm) })[0],
  expand: (b, [x], _a, { shape }) => b.node("Expand", [x, b.constInt64(shape)])[0],
  slice: (b, [x], [a], { starts, ends }) => {
    const axes = a.shape.map((_, i) => i).filter((i) => starts[i] !== 0 || ends[i] !== a.shape[i]);
    if (axes.length === 0) return b.node("Identity", [x])[0];
    const pick = (v: readonly number[]) => b.constInt64(axes.map((i) => v[i]));
    return b.node("Slice", [x, pick(starts), pick(ends), b.constInt64(axes)])[0];
  },
  concat: (b, ins, _a, { axis }) => b.node("Concat", ins, { axis: attr.int(axis) })[0],
  pad: (b, [x], [a], { pads, value }) =>
    b.node("Pad", [
      x,
      b.constInt64([...pads.map((q) => q[0]), ...pads.map((q) => q[1])]),
      scalarConst(b, value, a.dtype),
    ])[0],
  matmul: op("MatMul"),
  conv2d: (b, ins, _a, p) => b.node("Conv", ins, convAttrs(p))[0],
  convTranspose2d,
  convWeightGrad,
  gather: (b, ins) => b.node("Gather", ins, { axis: attr.int(0) })[0],
};
