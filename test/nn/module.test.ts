import { describe, expect, it } from "vitest";
import { Conv2d } from "../../src/nn/conv.js";
import { Linear } from "../../src/nn/linear.js";
import { Module, type Params } from "../../src/nn/module.js";
import { GroupNorm } from "../../src/nn/norm.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";

/** A two-level tree: `stem` conv, then `head.norm` and `head.proj`. */
class Head extends Module {
  readonly norm: GroupNorm;
  readonly proj: Linear;
  constructor(path: string) {
    super(path);
    this.norm = this.addChild(new GroupNorm(this.sub("norm"), { numGroups: 2, numChannels: 4 }));
    this.proj = this.addChild(new Linear(this.sub("proj"), { inFeatures: 4, outFeatures: 3 }));
  }
}

class Net extends Module {
  readonly stem = this.addChild(
    new Conv2d("stem", { inChannels: 2, outChannels: 4, kernelSize: 3, padding: 1 }),
  );
  readonly head = this.addChild(new Head("head"));
  forward(p: Params, x: T.Tensor): T.Tensor {
    const h = this.head.norm.forward(p, this.stem.forward(p, x));
    return this.head.proj.forward(p, T.mean(h, [2, 3]));
  }
}

const NAMES = [
  "stem.weight",
  "stem.bias",
  "head.norm.weight",
  "head.norm.bias",
  "head.proj.weight",
  "head.proj.bias",
];

describe("Module", () => {
  it("names parameters with dotted paths, in registration order, with their shapes", () => {
    const net = new Net();
    expect(Object.keys(net.parameters())).toEqual(NAMES);
    expect(net.parameterSpecs().map((s) => s.shape)).toEqual([[4, 2, 3, 3], [4], [4], [4], [3, 4], [3]]);
    expect(net.parameterCount()).toBe(72 + 4 + 4 + 4 + 12 + 3);
  });

  it("initialises deterministically from its key, PyTorch-like", () => {
    const a = new Net().init(makeKey(1)).parameters();
    const b = new Net().init(makeKey(1)).parameters();
    const c = new Net().init(makeKey(2)).parameters();
    expect(a["stem.weight"]!.toArray()).toEqual(b["stem.weight"]!.toArray());
    expect(a["stem.weight"]!.toArray()).not.toEqual(c["stem.weight"]!.toArray());
    // kaiming-uniform(a = sqrt 5): |w| < 1 / sqrt(fan_in), fan_in = 2 * 3 * 3
    const bound = 1 / Math.sqrt(18);
    const w = a["stem.weight"]!.toArray();
    expect(Math.max(...w.map(Math.abs))).toBeLessThan(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(bound / 2);
    expect(a["head.norm.weight"]!.toArray()).toEqual([1, 1, 1, 1]);
    expect(a["head.norm.bias"]!.toArray()).toEqual([0, 0, 0, 0]);
  });

  it("forward is functional: it reads the parameters it is given, and works under valueAndGrad", () => {
    const net = new Net();
    const x = T.full([1, 2, 3, 3], 0.5);
    const p = net.parameters();
    const zeroed = { ...p, "head.proj.weight": T.zeros([3, 4]) };
    expect(net.forward(zeroed, x).toArray()).toEqual(p["head.proj.bias"]!.toArray());
    const { grads } = T.valueAndGrad((q: Params) => T.sum(net.forward(q, x)))(p);
    expect(Object.keys(grads).sort()).toEqual([...NAMES].sort());
    expect(grads["head.proj.bias"]!.toArray()).toEqual([1, 1, 1]);
  });

  it("forward names a parameter missing from, or misshapen in, the record it is given", () => {
    const net = new Net();
    const p = net.parameters();
    const { "stem.bias": _, ...missing } = p;
    expect(() => net.forward(missing, T.zeros([1, 2, 3, 3]))).toThrow("stem: parameter stem.bias is missing");
    expect(() => net.forward({ ...p, "stem.bias": T.zeros([5]) }, T.zeros([1, 2, 3, 3]))).toThrow(
      "stem: parameter stem.bias has shape [5], expected [4]",
    );
  });

  it("stateDict/loadStateDict round-trip the parameters", () => {
    const src = new Net().init(makeKey(7));
    const dst = new Net().init(makeKey(8));
    expect(dst.loadStateDict(src.stateDict())).toEqual({ missing: [], unexpected: [] });
    for (const name of NAMES)
      expect(dst.parameters()[name]!.toArray()).toEqual(src.parameters()[name]!.toArray());
  });

  it("loadStateDict reports shape mismatches, missing and unexpected names", () => {
    const net = new Net();
    const sd = net.stateDict();
    expect(() => net.loadStateDict({ ...sd, "stem.weight": T.zeros([4, 3, 3, 3]) })).toThrow(
      "stem.weight: checkpoint has [4, 3, 3, 3], model expects [4, 2, 3, 3]",
    );
    const { "head.proj.bias": _, ...partial } = sd;
    expect(() => net.loadStateDict(partial)).toThrow("missing from the checkpoint: head.proj.bias");
    expect(() => net.loadStateDict({ ...sd, extra: T.zeros([1]) })).toThrow(
      "unexpected in the checkpoint: extra",
    );
    // non-strict: missing names keep their values, unexpected ones are ignored
    const before = net.parameters()["head.proj.bias"]!.toArray();
    const result = net.loadStateDict({ ...partial, extra: T.zeros([1]) }, { strict: false });
    expect(result).toEqual({ missing: ["head.proj.bias"], unexpected: ["extra"] });
    expect(net.parameters()["head.proj.bias"]!.toArray()).toEqual(before);
    // shape mismatches are errors even when not strict
    expect(() => net.loadStateDict({ "stem.bias": T.zeros([2]) }, { strict: false })).toThrow(
      "stem.bias: checkpoint has [2], model expects [4]",
    );
  });
});
