import { describe, expect, it } from "vitest";
import * as T from "../../src/tensor/index.js";

const zeros = (shape: number[]) => T.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

describe("countFlops", () => {
  it("counts a batched matmul as 2 m n k per batch entry", () => {
    const { flops, byPrimitive } = countMatmul([2, 3, 4], [4, 5]);
    expect(flops).toBe(2 * 2 * 3 * 5 * 4);
    expect(byPrimitive).toEqual({ matmul: flops });
  });

  it("counts a conv2d as the matmul of its im2col form, groups included", () => {
    // x [B, Ci, H, W], w [Co, Ci/g, kh, kw], stride 2, padding 1: Ho = Wo = 4 for H = W = 8.
    const [B, Ci, Co, g, k] = [3, 4, 6, 2, 3];
    const x = zeros([B, Ci, 8, 8]);
    const w = zeros([Co, Ci / g, k, k]);
    const opts = { stride: 2, padding: 1, groups: g };
    const { flops } = T.countFlops((a: T.Tensor, b: T.Tensor) => T.conv2d(a, b, undefined, opts), [x, w]);
    // Per group: [B Ho Wo, Ci/g k k] @ [Ci/g k k, Co/g].
    const im2col = g * countMatmul([B * 4 * 4, (Ci / g) * k * k], [(Ci / g) * k * k, Co / g]).flops;
    expect(flops).toBe(im2col);
  });

  it("value and gradient cost three forwards: the forward, the input and the weight gradients", () => {
    // Holds for any geometry: dx (convTranspose2d) and dW (convWeightGrad) each do the forward's MACs.
    const cases: [number[], number[], T.Conv2dOptions][] = [
      [[2, 4, 9, 9], [6, 2, 3, 3], { stride: 2, padding: 1, groups: 2 }],
      [[1, 3, 7, 5], [5, 3, 1, 3], { padding: [0, 1] }],
    ];
    for (const [xs, ws, opts] of cases) {
      const x = zeros(xs);
      const w = zeros(ws);
      const f = (p: { x: T.Tensor; w: T.Tensor }) => T.sum(T.conv2d(p.x, p.w, undefined, opts));
      const fwd = T.countFlops(f, [{ x, w }]);
      const both = T.countFlops((p: { x: T.Tensor; w: T.Tensor }) => T.grad(f)(p), [{ x, w }]);
      expect(both.flops).toBe(3 * fwd.flops);
      expect(both.byPrimitive.convTranspose2d).toBe(fwd.flops);
      expect(both.byPrimitive.convWeightGrad).toBe(fwd.flops);
    }
    const mm = (p: { a: T.Tensor; b: T.Tensor }) => T.sum(T.matmul(p.a, p.b));
    const p = { a: zeros([5, 7]), b: zeros([7, 3]) };
    expect(T.countFlops((q: typeof p) => T.grad(mm)(q), [p]).flops).toBe(3 * T.countFlops(mm, [p]).flops);
  });

  it("ignores elementwise, reduction and layout work", () => {
    const x = zeros([4, 5]);
    expect(T.countFlops((a: T.Tensor) => T.sum(T.exp(T.transpose(T.mul(a, a), [1, 0]))), [x]).flops).toBe(0);
  });
});

function countMatmul(a: number[], b: number[]): T.FlopCount {
  return T.countFlops((p: T.Tensor, q: T.Tensor) => T.matmul(p, q), [zeros(a), zeros(b)]);
}
