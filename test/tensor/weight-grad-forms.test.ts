/**
 * The conv2d weight gradient's two ONNX forms (src/tensor/lowering.ts weightGradGroup: the taps
 * stacked into one im2col buffer, or one GEMM per tap) both equal the eager gradient, on geometries
 * with strides, dilations and asymmetric padding, and the lowering picks the form by column count.
 */
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { OnnxGraphBuilder } from "../../src/onnx/builder.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { WEIGHT_GRAD_TAPS_FROM, weightGradGroup } from "../../src/tensor/lowering.js";

const GEOMETRIES = [
  { ci: 8, co: 6, hw: [9, 8], kernel: [3, 2], stride: [2, 1], dilation: [1, 2], padding: [1, 0, 2, 1] },
  { ci: 5, co: 4, hw: [7, 7], kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1] },
  { ci: 1, co: 3, hw: [6, 6], kernel: [3, 3], stride: [2, 2], dilation: [1, 1], padding: [1, 1, 1, 1] },
] as const;

async function lowered(
  form: "auto" | "stacked" | "taps",
  x: T.Tensor,
  dy: T.Tensor,
  g: (typeof GEOMETRIES)[number],
): Promise<{ dw: Float32Array; ops: string[] }> {
  const b = new OnnxGraphBuilder();
  const xs = b.input("x", "float32", x.shape);
  const dys = b.input("dy", "float32", dy.shape);
  const p = { stride: g.stride, padding: g.padding, dilation: g.dilation, groups: 1, kernel: g.kernel };
  const out = weightGradGroup(
    b,
    xs,
    dys,
    { shape: x.shape, dtype: "float32" },
    { shape: dy.shape, dtype: "float32" },
    p,
    form,
  );
  b.output("dw", "float32", [g.co, g.ci, ...g.kernel], out);
  const model = b.toModel();
  const session = await ort.InferenceSession.create(model);
  const r = await session.run({
    x: new ort.Tensor("float32", x.values() as Float32Array, [...x.shape]),
    dy: new ort.Tensor("float32", dy.values() as Float32Array, [...dy.shape]),
  });
  const ops = b.toGraph("g").nodes.map((n) => n.opType);
  return { dw: r.dw!.data as Float32Array, ops };
}

describe("conv2d weight gradient forms", () => {
  for (const g of GEOMETRIES) {
    it(`Ci ${g.ci}, kernel ${g.kernel}, stride ${g.stride}, dilation ${g.dilation}: both forms = eager`, async () => {
      const B = 3;
      const x = T.tensor(normal(makeKey(1), B * g.ci * g.hw[0] * g.hw[1]), [B, g.ci, ...g.hw]);
      const w = T.tensor(normal(makeKey(2), g.co * g.ci * g.kernel[0] * g.kernel[1]), [
        g.co,
        g.ci,
        ...g.kernel,
      ]);
      const opts = { stride: g.stride, dilation: g.dilation, padding: g.padding };
      const y = T.conv2d(x, w, undefined, opts);
      const dy = T.tensor(normal(makeKey(3), y.size), y.shape);
      const eager = T.grad((ww: T.Tensor) => T.sum(T.mul(T.conv2d(x, ww, undefined, opts), dy)))(w).values();
      const forms = { stacked: await lowered("stacked", x, dy, g), taps: await lowered("taps", x, dy, g) };
      for (const { dw } of Object.values(forms)) {
        const err = Array.from(dw).reduce((m, v, i) => Math.max(m, Math.abs(v - eager[i]!)), 0);
        expect(err).toBeLessThan(1e-4);
      }
      const auto = await lowered("auto", x, dy, g);
      const cols = g.ci * g.kernel[0] * g.kernel[1];
      const expected = cols < WEIGHT_GRAD_TAPS_FROM ? forms.stacked : forms.taps;
      expect(auto.ops).toEqual(expected.ops);
    });
  }
});
