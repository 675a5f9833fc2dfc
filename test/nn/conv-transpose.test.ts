import { describe, expect, it } from "vitest";
import { ConvTranspose2d } from "../../src/nn/conv-transpose.js";
import * as T from "../../src/tensor/index.js";
import { rand } from "../helpers.js";

describe("ConvTranspose2d", () => {
  it("gives PyTorch's output sizes: (H-1) stride - 2 padding + k + outputPadding", () => {
    const up = new ConvTranspose2d("up_samples.1", {
      inChannels: 4,
      outChannels: 2,
      kernelSize: 4,
      stride: 2,
      padding: 1,
    });
    expect(up.forward(up.parameters(), rand(1, [3, 4, 7, 5])).shape).toEqual([3, 2, 14, 10]);
    const op = new ConvTranspose2d("u", {
      inChannels: 2,
      outChannels: 2,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      outputPadding: 1,
    });
    expect(op.forward(op.parameters(), rand(2, [1, 2, 4, 4])).shape).toEqual([1, 2, 8, 8]);
  });

  it("with a stride-2 2x2 kernel of ones paints each input pixel over a 2x2 block, plus the bias", () => {
    const up = new ConvTranspose2d("u", { inChannels: 1, outChannels: 1, kernelSize: 2, stride: 2 });
    const p = { "u.weight": T.full([1, 1, 2, 2], 1), "u.bias": T.tensor([0.5], [1]) };
    const y = up.forward(p, T.tensor([1, 2, 3, 4], [1, 1, 2, 2]));
    expect([...y.values()]).toEqual([
      1.5, 1.5, 2.5, 2.5, 1.5, 1.5, 2.5, 2.5, 3.5, 3.5, 4.5, 4.5, 3.5, 3.5, 4.5, 4.5,
    ]);
  });

  it("has PyTorch's weight layout [in, out/groups, k, k] and fan-in (out/groups) k^2 initialisation", () => {
    const up = new ConvTranspose2d("u", { inChannels: 6, outChannels: 4, kernelSize: 3, groups: 2 });
    const specs = up.parameterSpecs();
    expect(specs.map((s) => [s.name, s.shape])).toEqual([
      ["u.weight", [6, 2, 3, 3]],
      ["u.bias", [4]],
    ]);
    const bound = 1 / Math.sqrt(2 * 9);
    expect(specs.every((s) => s.init.kind === "uniform" && Math.abs(s.init.bound - bound) < 1e-12)).toBe(
      true,
    );
    const w = [...up.parameters()["u.weight"]!.values()];
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
  });

  it("names itself on bad options and bad input", () => {
    expect(
      () =>
        new ConvTranspose2d("u", {
          inChannels: 2,
          outChannels: 2,
          kernelSize: 3,
          stride: 2,
          outputPadding: 2,
        }),
    ).toThrow(/u: option outputPadding 2 must be smaller than stride 2/);
    expect(
      () => new ConvTranspose2d("u", { inChannels: 3, outChannels: 2, kernelSize: 3, groups: 2 }),
    ).toThrow(/u: groups 2/);
    const up = new ConvTranspose2d("up", { inChannels: 2, outChannels: 1, kernelSize: 2 });
    expect(() => up.forward(up.parameters(), rand(0, [1, 3, 4, 4]))).toThrow(/up/);
  });
});
