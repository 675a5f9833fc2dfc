/** Type promotion (as PyTorch), Tensor.toString, and compile's error for a number argument. */
import { beforeAll, describe, expect, it } from "vitest";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const ints = () => T.tensor(Int32Array.from([1, 2, 3]), [3]);

describe("int32-by-float arithmetic promotes to float32", () => {
  it("eager: mul(int32, 0.5) is [0.5, 1, 1.5], not zeros", () => {
    const y = T.mul(ints(), 0.5);
    expect(y.dtype).toBe("float32");
    expect(y.toArray()).toEqual([0.5, 1, 1.5]);
    expect(T.add(0.25, ints()).toArray()).toEqual([1.25, 2.25, 3.25]);
    expect(T.less(ints(), 2.5).toArray()).toEqual([1, 1, 0]);
  });

  it("integers keep int32; tensors of two dtypes promote to the wider", () => {
    expect(T.mul(ints(), 2).dtype).toBe("int32");
    const f = T.tensor([0.5, 0.5, 0.5], [3]);
    const s = T.add(ints(), f);
    expect(s.dtype).toBe("float32");
    expect(s.toArray()).toEqual([1.5, 2.5, 3.5]);
    const b = T.greater(f, 0);
    expect(T.add(b, ints()).dtype).toBe("int32");
  });

  it("compiled gives the same values as eager", async () => {
    const f = T.compile((x: T.Tensor) => T.mul(T.add(x, 0.5), 0.5));
    const y = await f(ints());
    expect(y.dtype).toBe("float32");
    expect(y.toArray()).toEqual(T.mul(T.add(ints(), 0.5), 0.5).toArray());
  });
});

describe("compile errors name what to do", () => {
  it("a number where a tensor is expected says T.scalar", async () => {
    const f = T.compile((x: T.Tensor, s: T.Tensor) => T.mul(x, s));
    await expect(f(ints(), 0.5 as unknown as T.Tensor)).rejects.toThrow(
      /is the number 0.5.*T\.scalar\(0\.5\)/,
    );
    expect(T.scalar(0.5).toArray()).toEqual([0.5]);
  });
});

describe("Tensor.toString", () => {
  it("shows the values of small tensors, nested by shape", () => {
    expect(String(T.tensor([1, 2.5, 3, 4], [2, 2]))).toBe("Tensor([[1, 2.5], [3, 4]], [2, 2], float32)");
    expect(String(T.tensor(Int32Array.from([7]), []))).toBe("Tensor(7, [], int32)");
    expect(String(T.greater(T.tensor([1, -1], [2]), 0))).toBe("Tensor([true, false], [2], bool)");
    expect(String(T.tensor([1 / 3], [1]))).toBe("Tensor([0.3333], [1], float32)");
  });

  it("is what Node's util.inspect (console.log) shows", async () => {
    const { inspect } = await import("node:util");
    expect(inspect(T.tensor([1, 2], [2]))).toBe("Tensor([1, 2], [2], float32)");
  });

  it("shows only shape and dtype for big tensors", () => {
    expect(String(T.zeros([100, 100]))).toBe("Tensor([100, 100], float32)");
  });
});
