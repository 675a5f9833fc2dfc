/** Test helpers for the ONNX layer: run a built graph on onnxruntime-node, plain-JS references. */
import { expect } from "vitest";
import type { OnnxGraphBuilder } from "../../src/onnx/builder.js";
import type { OnnxArray, OnnxDType } from "../../src/onnx/dtype.js";
import { createNodeSession } from "../../src/onnx/node.js";
import type { OnnxTensor } from "../../src/onnx/runtime.js";

/** Encodes `b`, runs it once on one thread and releases the session. */
export async function runGraph(
  b: OnnxGraphBuilder,
  feeds: Record<string, OnnxTensor>,
): Promise<Record<string, OnnxTensor>> {
  const session = await createNodeSession(b.toModel(), { threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function tensor(dtype: OnnxDType, shape: number[], data: OnnxArray): OnnxTensor {
  return { dtype, shape, data };
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32). */
export function randomFloats(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides of `shape`. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return idx;
}

/** Flat position of a broadcast read of `shape` at output multi-index `idx` (numpy rules). */
export function broadcastIndex(idx: readonly number[], shape: readonly number[]): number {
  const st = strides(shape);
  const off = idx.length - shape.length;
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat += (shape[i] === 1 ? 0 : idx[i + off]!) * st[i]!;
  return flat;
}

/** Elementwise values of `a` and `b` over the numpy-broadcast shape `out`. */
export function broadcast2(
  a: ArrayLike<number>,
  aShape: number[],
  b: ArrayLike<number>,
  bShape: number[],
  out: number[],
  f: (x: number, y: number) => number,
): number[] {
  return Array.from({ length: size(out) }, (_, i) => {
    const idx = unravel(i, out);
    return f(a[broadcastIndex(idx, aShape)]!, b[broadcastIndex(idx, bShape)]!);
  });
}

export interface Conv2dParams {
  pads: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  group: number;
}

/** ONNX Conv, NCHW input [N, C, H, W], weight [M, C/group, kH, kW], optional bias [M]. */
export function conv2d(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  bias: Float32Array | null,
  p: Conv2dParams,
): { data: number[]; shape: number[] } {
  const [n, c, h, wd] = xs as [number, number, number, number];
  const [m, cg, kh, kw] = ws as [number, number, number, number];
  const [pt, pl, pb, pr] = p.pads;
  const oh = Math.floor((h + pt + pb - (p.dilations[0] * (kh - 1) + 1)) / p.strides[0]) + 1;
  const ow = Math.floor((wd + pl + pr - (p.dilations[1] * (kw - 1) + 1)) / p.strides[1]) + 1;
  const mg = m / p.group;
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let o = 0; o < m; o++)
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let acc = bias ? bias[o]! : 0;
          const g = Math.floor(o / mg);
          for (let ci = 0; ci < cg; ci++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const iy = y * p.strides[0] - pt + i * p.dilations[0];
                const ix = xo * p.strides[1] - pl + j * p.dilations[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const xv = x[((b * c + g * cg + ci) * h + iy) * wd + ix]!;
                acc += xv * w[((o * cg + ci) * kh + i) * kw + j]!;
              }
          out.push(acc);
        }
  return { data: out, shape: [n, m, oh, ow] };
}

/** ONNX ConvTranspose (no output_padding), input [N, C, H, W], weight [C, M/group, kH, kW]. */
export function convTranspose2d(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  p: Conv2dParams,
): { data: number[]; shape: number[] } {
  const [n, c, h, wd] = xs as [number, number, number, number];
  const [, mg, kh, kw] = ws as [number, number, number, number];
  const [pt, pl, pb, pr] = p.pads;
  const m = mg * p.group;
  const cg = c / p.group;
  const oh = p.strides[0] * (h - 1) + p.dilations[0] * (kh - 1) + 1 - pt - pb;
  const ow = p.strides[1] * (wd - 1) + p.dilations[1] * (kw - 1) + 1 - pl - pr;
  const out = new Array<number>(n * m * oh * ow).fill(0);
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < c; ci++)
      for (let y = 0; y < h; y++)
        for (let xi = 0; xi < wd; xi++) {
          const g = Math.floor(ci / cg);
          const xv = x[((b * c + ci) * h + y) * wd + xi]!;
          for (let mo = 0; mo < mg; mo++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const oy = y * p.strides[0] - pt + i * p.dilations[0];
                const ox = xi * p.strides[1] - pl + j * p.dilations[1];
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                const o = g * mg + mo;
                out[((b * m + o) * oh + oy) * ow + ox]! += xv * w[((ci * mg + mo) * kh + i) * kw + j]!;
              }
        }
  return { data: out, shape: [n, m, oh, ow] };
}

/** Asserts equal shapes and elementwise |actual - expected| <= tol. */
export function expectClose(
  actual: OnnxTensor,
  expected: { data: ArrayLike<number>; shape: number[] },
  tol = 1e-5,
): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.data.length).toBe(expected.data.length);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    worst = Math.max(worst, Math.abs(Number(actual.data[i]) - expected.data[i]!));
  }
  expect(worst).toBeLessThanOrEqual(tol);
}
