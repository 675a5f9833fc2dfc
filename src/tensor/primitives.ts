/**
 * The closed set of primitives every tensor computation reduces to. Each primitive has a shape rule
 * (shape-rules.ts), an eager kernel (kernels/), an ONNX lowering (lowering.ts) and a vector-Jacobian
 * rule (vjp.ts); the registries are typed `{ [P in Primitive]: ... }` so a missing rule is a type error.
 */
import type { DType } from "./dtype.js";

export type Pair = readonly [number, number];

/** Convolution geometry shared by conv2d, convTranspose2d and convWeightGrad. */
export interface ConvParams {
  stride: Pair;
  /** [top, left, bottom, right] */
  padding: readonly [number, number, number, number];
  dilation: Pair;
  groups: number;
}

export interface ReduceParams {
  /** Normalised (non-negative), sorted, unique axes. */
  axes: readonly number[];
  keepdims: boolean;
}

type NoParams = Record<string, never>;

export interface PrimitiveParams {
  // elementwise unary (float32)
  neg: NoParams;
  exp: NoParams;
  log: NoParams;
  sqrt: NoParams;
  tanh: NoParams;
  sigmoid: NoParams;
  sin: NoParams;
  cos: NoParams;
  abs: NoParams;
  sign: NoParams;
  // elementwise binary with broadcasting (same dtype both sides)
  add: NoParams;
  sub: NoParams;
  mul: NoParams;
  div: NoParams;
  maximum: NoParams;
  minimum: NoParams;
  // comparisons -> bool
  less: NoParams;
  greater: NoParams;
  equal: NoParams;
  /** where(cond: bool, a, b) with broadcasting */
  where: NoParams;
  cast: { dtype: DType };
  // reductions
  sum: ReduceParams;
  max: ReduceParams;
  // layout
  reshape: { shape: readonly number[] };
  transpose: { perm: readonly number[] };
  /** Broadcast to `shape` (NumPy rules). */
  expand: { shape: readonly number[] };
  /** Unit-step slice; `starts`/`ends` are given for every axis and already clamped. */
  slice: { starts: readonly number[]; ends: readonly number[] };
  concat: { axis: number };
  /** Constant padding; `pads[i] = [before, after]` for axis i, non-negative. */
  pad: { pads: readonly Pair[]; value: number };
  // linear algebra
  /** Batched matmul of rank >= 2 operands with broadcast batch dims. */
  matmul: NoParams;
  /** conv2d(x [B,Ci,H,W], w [Co,Ci/g,kh,kw]) */
  conv2d: ConvParams;
  /** convTranspose2d(x [B,Ci,H,W], w [Ci,Co/g,kh,kw]); the adjoint of conv2d. */
  convTranspose2d: ConvParams & { outputPadding: Pair };
  /** dL/dw of conv2d: convWeightGrad(x, dy) -> [Co,Ci/g,kh,kw]. */
  convWeightGrad: ConvParams & { kernel: Pair };
  /** gather(table, indices int32) along axis 0. */
  gather: NoParams;
}

export type Primitive = keyof PrimitiveParams;

export const UNARY = ["neg", "exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "abs", "sign"] as const;
export const BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"] as const;
export const COMPARE = ["less", "greater", "equal"] as const;
export type UnaryPrimitive = (typeof UNARY)[number];
export type BinaryPrimitive = (typeof BINARY)[number];
export type ComparePrimitive = (typeof COMPARE)[number];
