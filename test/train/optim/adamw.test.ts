import { describe, expect, it } from "vitest";
import * as T from "../../../src/tensor/index.js";
import { adamwStep, initAdamW, oneMinusPow } from "../../../src/train/optim/adamw.js";

/** torch.optim.AdamW on plain float64 numbers, one parameter (the algorithm in torch's docs). */
function referenceAdamW(
  p0: number,
  gradOf: (p: number) => number,
  steps: number,
  o: { lr: number; beta1: number; beta2: number; eps: number; wd: number },
): number[] {
  let [p, m, v] = [p0, 0, 0];
  const out: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradOf(p);
    p *= 1 - o.lr * o.wd;
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    const denom = Math.sqrt(v) / Math.sqrt(1 - o.beta2 ** t) + o.eps;
    p -= (o.lr / (1 - o.beta1 ** t)) * (m / denom);
    out.push(p);
  }
  return out;
}

describe("adamwStep", () => {
  it("matches a hand-written scalar AdamW on a quadratic", () => {
    // f(p) = 0.5 * a * (p - c)^2, gradient a * (p - c)
    const [a, c] = [3, 0.7];
    const o = { lr: 0.05, beta1: 0.8, beta2: 0.95, eps: 1e-6, wd: 0.1 };
    const want = referenceAdamW(-1.5, (p) => a * (p - c), 25, o);
    let p = T.tensor([-1.5], [1]);
    let state = initAdamW(p);
    want.forEach((w, i) => {
      const g = T.mul(T.sub(p, c), a);
      ({ params: p, state } = adamwStep(p, g, state, {
        lr: o.lr,
        betas: [o.beta1, o.beta2],
        eps: o.eps,
        weightDecay: o.wd,
      }));
      expect(p.item(), `step ${i + 1}`).toBeCloseTo(w, 5);
    });
    expect(state.step.item()).toBe(25);
  });

  it("updates every leaf of a tree and leaves its structure intact", () => {
    const params = { w: T.tensor([1, -2, 3, 4], [2, 2]), b: [T.tensor([0.5], [1])] };
    const grads = { w: T.tensor([0.1, 0.2, -0.3, 0], [2, 2]), b: [T.tensor([-1], [1])] };
    const { params: next, state } = adamwStep(params, grads, initAdamW(params), { lr: 0.1 });
    expect(next.w.shape).toEqual([2, 2]);
    expect(next.b[0].shape).toEqual([1]);
    // first step: m_hat / sqrt(v_hat) = sign(g), so p <- p (1 - lr wd) - lr sign(g)
    const decayed = (x: number) => x * (1 - 0.1 * 1e-2);
    const expectWithSign = [1, -2, 3, 4].map((x, i) => decayed(x) - 0.1 * Math.sign([0.1, 0.2, -0.3, 0][i]));
    next.w.toArray().forEach((x, i) => {
      expect(x).toBeCloseTo(expectWithSign[i], 5);
    });
    expect(next.b[0].item()).toBeCloseTo(decayed(0.5) + 0.1, 5);
    expect(state.m.b[0].item()).toBeCloseTo(-0.1, 6);
  });

  it("rejects bad hyper-parameters naming the field", () => {
    const p = T.tensor([1], [1]);
    expect(() => adamwStep(p, p, initAdamW(p), { lr: 0.1, betas: [0.9, 1] })).toThrow(/betas\[1\] is 1/);
    expect(() => adamwStep(p, p, initAdamW(p), { lr: -1 })).toThrow(/lr is -1/);
    expect(() => adamwStep(p, p, initAdamW(p), { lr: 0.1, eps: -1 })).toThrow(/eps is -1/);
  });

  it("computes the bias correction 1 - beta^t accurately in float32", () => {
    const steps = [1, 2, 3, 10, 100, 1000, 1e5, 1e7];
    for (const beta of [0.9, 0.999, 0.9999]) {
      const got = oneMinusPow(beta, T.tensor(steps, [steps.length])).toArray();
      steps.forEach((t, i) => {
        const want = 1 - beta ** t;
        expect(Math.abs(got[i] - want) / want, `beta ${beta} t ${t}`).toBeLessThan(1e-6);
      });
    }
  });
});
