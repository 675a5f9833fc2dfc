import { beforeAll, describe, expect, it } from "vitest";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import { expectClose, rand } from "../helpers.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

describe("composed ops", () => {
  it("softmax rows sum to one and match the definition", () => {
    const x = rand(1, [3, 5], -4, 4);
    const s = T.softmax(x, -1);
    const rows = T.sum(s, -1).toArray();
    expectClose(rows, [1, 1, 1], 1e-6, 1e-6, "row sums");
    const v = x.toArray();
    const want = v.map((xi, i) => {
      const row = v.slice(Math.floor(i / 5) * 5, Math.floor(i / 5) * 5 + 5);
      return Math.exp(xi) / row.reduce((a, b) => a + Math.exp(b), 0);
    });
    expectClose(s.toArray(), want, 1e-5, 1e-7, "softmax");
  });

  it("variance is the population variance", () => {
    const x = T.tensor([1, 2, 3, 4, 10, 10, 10, 10], [2, 4]);
    expect(T.variance(x, 1).toArray()).toEqual([1.25, 0]);
    expect(T.mean(x).item()).toBeCloseTo(6.25, 6);
  });

  it("upsampleNearest2d repeats pixels, repeat tiles", () => {
    const x = T.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(T.upsampleNearest2d(x, 2).toArray()).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(T.repeat(T.tensor([1, 2], [2]), [2, 2]).toArray()).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
  });

  it("linear equals x W^T + b; matmul handles 1-D operands", () => {
    const x = T.tensor([1, 2], [1, 2]);
    const w = T.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
    expect(T.linear(x, w, T.tensor([0, 1, 2], [3])).toArray()).toEqual([1, 3, 5]);
    expect(T.matmul(T.tensor([1, 2], [2]), T.tensor([3, 4], [2])).item()).toBe(11);
  });

  it("slice with negative bounds, split and stack are consistent", () => {
    const x = T.reshape(T.arange(0, 12), [3, 4]);
    const parts = T.split(x, [1, 3], 1);
    expect(parts[1].shape).toEqual([3, 3]);
    expect(T.slice(x, [[-1], [1, -1]]).toArray()).toEqual([9, 10]);
    expect(T.stack([x, x], 0).shape).toEqual([2, 3, 4]);
  });

  it("logsumexp is stable for large inputs", () => {
    const x = T.tensor([1000, 1000], [2]);
    expect(T.logsumexp(x, 0).item()).toBeCloseTo(1000 + Math.log(2), 3);
  });
});

describe("autodiff", () => {
  it("gradient of a composition (softmax cross-entropy) matches the closed form", () => {
    const logits = rand(2, [2, 4]);
    const labels = T.tensor([1, 3], [2], "int32");
    const loss = (z: T.Tensor) => T.neg(T.mean(T.sum(T.mul(T.logSoftmax(z, -1), T.oneHot(labels, 4)), -1)));
    const { grads } = T.valueAndGrad(loss)(logits);
    const p = T.softmax(logits, -1).toArray();
    const want = p.map((pi, i) => (pi - (i % 4 === [1, 3][Math.floor(i / 4)] ? 1 : 0)) / 2);
    expectClose(grads.values(), want, 1e-5, 1e-6, "d CE / d logits");
  });

  it("unused parameters get zero gradients; trees keep their shape", () => {
    const params = { a: T.tensor([2], [1]), nested: { b: T.tensor([3, 4], [2]) } };
    const { value, grads } = T.valueAndGrad((p: typeof params) => T.sum(T.mul(p.a, p.a)))(params);
    expect(value.item()).toBe(4);
    expect(grads.a.toArray()).toEqual([4]);
    expect(grads.nested.b.toArray()).toEqual([0, 0]);
  });

  it("stopGradient blocks the gradient", () => {
    const { grads } = T.valueAndGrad((x: T.Tensor) => T.sum(T.mul(x, T.stopGradient(x))))(T.tensor([3], [1]));
    expect(grads.toArray()).toEqual([3]);
  });

  it("a non-scalar objective is rejected", () => {
    expect(() => T.valueAndGrad((x: T.Tensor) => x)(T.tensor([1, 2], [2]))).toThrow(/scalar/);
  });
});

describe("compile", () => {
  it("caches one session per input signature and returns trees", async () => {
    const f = T.compile((p: { x: T.Tensor }, y: T.Tensor) => ({ s: T.add(p.x, y), copy: y }));
    const a = await f({ x: T.tensor([1, 2], [2]) }, T.tensor([10, 20], [2]));
    await f({ x: T.tensor([5, 6], [2]) }, T.tensor([1, 1], [2]));
    expect(f.cacheSize).toBe(1);
    await f({ x: T.tensor([1, 2, 3], [3]) }, T.tensor([1, 1, 1], [3]));
    expect(f.cacheSize).toBe(2);
    expect(a.s.toArray()).toEqual([11, 22]);
    expect(a.copy.toArray()).toEqual([10, 20]);
  });

  it("symbolic tensors have no values inside a trace", async () => {
    const f = T.compile((x: T.Tensor) => T.tensor([x.values()[0]], [1]));
    await expect(f(T.tensor([1], [1]))).rejects.toThrow(/symbolic/);
  });

  it("captured concrete tensors become constants; int32 and bool flow through", async () => {
    const table = T.tensor([0, 1, 10, 11, 20, 21], [3, 2]);
    const f = T.compile((i: T.Tensor) => T.where(T.greater(T.gather(table, i), 10), 1, 0));
    const r = await f(T.tensor([2, 0], [2], "int32"));
    expect(r.toArray()).toEqual([1, 1, 0, 0]);
  });
});

describe("errors name the operation and the shapes", () => {
  it("broadcast failure", () => {
    expect(() => T.add(T.zeros([2, 3]), T.zeros([4]))).toThrow("add: cannot broadcast shapes [2, 3] and [4]");
  });
  it("matmul inner dims", () => {
    expect(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5]))).toThrow(
      /inner dimensions differ: \[2, 3\] @ \[4, 5\]/,
    );
  });
  it("conv channel mismatch", () => {
    expect(() => T.conv2d(T.zeros([1, 3, 4, 4]), T.zeros([8, 4, 3, 3]))).toThrow(
      /conv2d: input \[1, 3, 4, 4\] and weight \[8, 4, 3, 3\]/,
    );
  });
  it("reshape size mismatch; mixed dtypes promote (as PyTorch) instead of failing", () => {
    expect(() => T.reshape(T.zeros([2, 3]), [4])).toThrow(/cannot reshape \[2, 3\] to \[4\]/);
    expect(T.add(T.zeros([2]), T.zeros([2], "int32")).dtype).toBe("float32");
  });
});

describe("pow", () => {
  it("integer powers keep signs; fractional powers follow exp(p log x)", () => {
    const x = T.tensor([-2, 3], [2]);
    expect(T.pow(x, 3).toArray()).toEqual([-8, 27]);
    expect(T.pow(x, -2).toArray()).toEqual([0.25, 1 / 9].map(Math.fround));
    expectClose(T.pow(T.tensor([4, 9], [2]), 1.5).toArray(), [8, 27], 1e-6, 0, "x^1.5");
  });
});

describe("random tensors from keys", () => {
  it("same key, same values; other key, other values; moments of a large draw", async () => {
    const { makeKey } = await import("../../src/random/index.js");
    const a = T.randn(makeKey(1), [4, 1000]);
    expect(T.randn(makeKey(1), [4, 1000]).toArray()).toEqual(a.toArray());
    expect(T.randn(makeKey(2), [4, 1000]).toArray()).not.toEqual(a.toArray());
    // 4000 draws: the mean's standard error is 1/sqrt(4000) ~ 0.016; allow 4 of them.
    expect(Math.abs(T.mean(a).item())).toBeLessThan(0.064);
    const u = T.rand(makeKey(3), [1000]).toArray();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const k = T.randint(makeKey(4), [100], 3, 7);
    expect(k.dtype).toBe("int32");
    expect(k.toArray().every((v) => v >= 3 && v < 7)).toBe(true);
    expect(() => T.randn(makeKey(1), [2, -1])).toThrow(/randn: shape \[2, -1\]/);
  });
});
