/**
 * Every primitive: a finite-difference check of its vector-Jacobian rule (eager), and parity of the
 * compiled (ONNX Runtime) forward and backward passes with the eager ones.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import type { Primitive } from "../../src/tensor/primitives.js";
import { bind } from "../../src/tensor/tensor.js";
import { expectClose, lcg, rand } from "../helpers.js";
import { type PrimCase, primitiveCases } from "./primitive-cases.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const entries = Object.entries(primitiveCases) as [Primitive, PrimCase<unknown>][];

/** A scalar probe of a primitive: sum(out * w) with fixed weights w, in float32 tensor ops. */
function probe(prim: Primitive, c: PrimCase<unknown>) {
  const ins = c.inputs();
  const out = bind(prim, ins, c.params as never);
  const w = T.tensor(lcg(99, out.size), [...out.shape]);
  const loss = (xs: T.Tensor[]) => T.sum(T.mul(T.cast(bind(prim, xs, c.params as never), "float32"), w));
  return { ins, w, loss };
}

/** Central differences of `loss` w.r.t. input `k`, evaluated in float64 from float32 outputs. */
function numericGrad(
  prim: Primitive,
  c: PrimCase<unknown>,
  ins: T.Tensor[],
  w: T.Tensor,
  k: number,
): number[] {
  const wv = w.values();
  const f = (xs: T.Tensor[]) => {
    const y = bind(prim, xs, c.params as never).values();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * wv[i];
    return s;
  };
  const base = ins[k].values();
  const eps = 1e-2;
  return Array.from(base, (_, i) => {
    const shifted = (d: number) => {
      const v = Float32Array.from(base);
      v[i] += d;
      return ins.map((t, j) => (j === k ? T.tensor(v, [...t.shape]) : t));
    };
    return (f(shifted(eps)) - f(shifted(-eps))) / (2 * eps);
  });
}

describe("vector-Jacobian rules match finite differences", () => {
  for (const [prim, c] of entries.filter(([, c]) => c.diff.length > 0)) {
    it(prim, () => {
      const { ins, w, loss } = probe(prim, c);
      const { grads } = T.valueAndGrad((xs: T.Tensor[]) => loss(xs))(ins);
      for (const k of c.diff) {
        // Central differences have O(eps^2) truncation error; the float32 outputs add ~1e-7/eps.
        expectClose(grads[k].values(), numericGrad(prim, c, ins, w, k), 2e-3, 2e-3, `${prim} input ${k}`);
      }
    });
  }
});

describe("compiled forward and backward equal eager", () => {
  for (const [prim, c] of entries) {
    it(prim, async () => {
      const { ins, loss } = probe(prim, c);
      const eager = bind(prim, ins, c.params as never);
      const fwd = await T.compile((xs: T.Tensor[]) => bind(prim, xs, c.params as never))(ins);
      expect(fwd.shape).toEqual(eager.shape);
      expect(fwd.dtype).toBe(eager.dtype);
      // ORT's transcendental functions differ from Math.* in the last float32 ulps.
      expectClose(fwd.values(), eager.values(), 1e-5, 1e-6, `${prim} forward`);
      if (c.diff.length === 0) return;
      const vg = (xs: T.Tensor[]) => T.valueAndGrad((p: T.Tensor[]) => loss(p))(xs).grads;
      const eagerGrads = vg(ins);
      const compiledGrads = await T.compile(vg)(ins);
      for (const k of c.diff) {
        expectClose(compiledGrads[k].values(), eagerGrads[k].values(), 1e-4, 1e-5, `${prim} grad ${k}`);
      }
    });
  }
});

describe("convTranspose2d lowered as a flipped convolution (unit stride)", () => {
  const cases = [
    { padding: [1, 1, 1, 1] as const, dilation: [1, 1] as const, outputPadding: [0, 0] as const },
    { padding: [0, 2, 1, 0] as const, dilation: [2, 1] as const, outputPadding: [1, 0] as const },
  ];
  for (const [i, geo] of cases.entries()) {
    it(`case ${i}: forward and gradients equal eager`, async () => {
      const x = rand(60 + i, [2, 4, 5, 6]);
      const w = rand(70 + i, [4, 3, 3, 3]);
      const p = { stride: [1, 1] as const, groups: 1, ...geo };
      const f = (xs: T.Tensor[]) => T.sum(T.square(bind("convTranspose2d", xs, p)));
      const vg = (xs: T.Tensor[]) => {
        const r = T.valueAndGrad(f)(xs);
        return [r.value, ...r.grads];
      };
      const eager = vg([x, w]);
      const compiled = await T.compile(vg)([x, w]);
      eager.forEach((e, k) => {
        expectClose(compiled[k].values(), e.values(), 1e-4, 1e-4, `output ${k}`);
      });
    });
  }
});
