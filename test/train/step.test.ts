import { beforeAll, describe, expect, it } from "vitest";
import { nodeOrt } from "../../src/onnx/node.js";
import * as T from "../../src/tensor/index.js";
import { initEma } from "../../src/train/ema.js";
import { type AdamWState, initAdamW } from "../../src/train/optim/adamw.js";
import { type MaybeEma, makeTrainStep, NO_EMA } from "../../src/train/step.js";

/** Deterministic pseudo-random numbers in [-1, 1). */
function uniform(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  });
}

type Params = { w: T.Tensor; b: T.Tensor };
type Batch = { x: T.Tensor; y: T.Tensor };

// linear regression y = x w* + b* over 16 points in 3-D
const N = 16;
const wStar = [1.5, -2, 0.5];
const xs = uniform(N * 3, 7);
const ys = Array.from({ length: N }, (_, i) => wStar.reduce((acc, w, j) => acc + w * xs[i * 3 + j], 0.3));
const batchOf = (from: number, to: number): Batch => ({
  x: T.tensor(xs.slice(from * 3, to * 3), [to - from, 3]),
  y: T.tensor(ys.slice(from, to), [to - from]),
});
const fullBatch = batchOf(0, N);
const loss = (p: Params, batch: Batch) =>
  T.mean(T.square(T.sub(T.add(T.matmul(batch.x, p.w), p.b), batch.y)));
const params0 = (): Params => ({ w: T.zeros([3]), b: T.zeros([1]) });

const maxDiff = (a: T.Tensor, b: T.Tensor) =>
  Math.max(...a.toArray().map((x, i) => Math.abs(x - b.toArray()[i])));

beforeAll(() => {
  T.setDefaultRuntime(nodeOrt);
});

describe("makeTrainStep", () => {
  const options = {
    optimizer: { betas: [0.9, 0.99] as const, weightDecay: 0 },
    maxGradNorm: 1,
    ema: { kind: "diffusers" as const, decay: 0.9 },
  };

  it("gives the same losses, parameters and EMA eagerly and compiled", async () => {
    const step = makeTrainStep(loss, options);
    const compiled = T.compile(step, { threads: 1 });
    let eager = { params: params0(), optState: initAdamW(params0()), ema: initEma(params0()) };
    let graph = eager;
    for (let i = 0; i < 5; i++) {
      const lr = T.scalar(0.05);
      const e = step(eager.params, eager.optState, eager.ema, fullBatch, lr);
      const c = await compiled(graph.params, graph.optState, graph.ema, fullBatch, lr);
      expect(c.loss.item(), `loss at step ${i}`).toBeCloseTo(e.loss.item(), 5);
      expect(c.gradNorm.item()).toBeCloseTo(e.gradNorm.item(), 5);
      eager = e;
      graph = c;
    }
    expect(maxDiff(graph.params.w, eager.params.w)).toBeLessThan(1e-5);
    expect(maxDiff(graph.ema.params.w, eager.ema.params.w)).toBeLessThan(1e-5);
    expect(graph.optState.step.item()).toBe(5);
    expect(compiled.cacheSize).toBe(1);
  });

  it("fits a linear regression, eagerly and compiled (one ONNX graph per step)", async () => {
    const step = makeTrainStep(loss, { optimizer: { weightDecay: 0 } });
    const compiled = T.compile(step, { threads: 1 });
    for (const mode of ["eager", "compiled"] as const) {
      let s: { params: Params; optState: AdamWState<Params>; ema: MaybeEma<Params> } = {
        params: params0(),
        optState: initAdamW(params0()),
        ema: NO_EMA,
      };
      let first = Number.NaN;
      let last = Number.NaN;
      for (let i = 0; i < 300; i++) {
        const args = [s.params, s.optState, s.ema, fullBatch, T.scalar(0.05)] as const;
        const r = mode === "eager" ? step(...args) : await compiled(...args);
        s = { params: r.params, optState: r.optState, ema: r.ema };
        if (i === 0) first = r.loss.item();
        last = r.loss.item();
      }
      expect(first, mode).toBeGreaterThan(1);
      expect(last, mode).toBeLessThan(1e-4);
      expect(maxDiff(s.params.w, T.tensor(wStar, [3])), mode).toBeLessThan(1e-2);
    }
  });

  it("accumulating two half batches equals one step on the full batch", async () => {
    const step = makeTrainStep(loss, options);
    const accumulate = T.compile(step.accumulate, { threads: 1 });
    const apply = T.compile(step.applyAccumulated, { threads: 1 });
    const [p, opt, ema, lr] = [params0(), initAdamW(params0()), initEma(params0()), T.scalar(0.05)];
    const want = step(p, opt, ema, fullBatch, lr);

    let acc = step.initAccumulator(p);
    for (const half of [batchOf(0, N / 2), batchOf(N / 2, N)]) acc = step.accumulate(p, acc, half);
    const eager = step.applyAccumulated(p, opt, ema, acc, lr);

    let cacc = step.initAccumulator(p);
    for (const half of [batchOf(0, N / 2), batchOf(N / 2, N)]) cacc = await accumulate(p, cacc, half);
    const compiled = await apply(p, opt, ema, cacc, lr);

    for (const got of [eager, compiled]) {
      expect(got.loss.item()).toBeCloseTo(want.loss.item(), 5);
      expect(got.gradNorm.item()).toBeCloseTo(want.gradNorm.item(), 5);
      expect(maxDiff(got.params.w, want.params.w)).toBeLessThan(1e-6);
      expect(maxDiff(got.ema.params.b, want.ema.params.b)).toBeLessThan(1e-6);
    }
    expect(cacc.count.item()).toBe(2);
  });

  it("asks for an EMA state when the step has an EMA schedule", () => {
    const step = makeTrainStep(loss, options);
    const p = params0();
    // biome-ignore lint/suspicious/noExplicitAny: deliberately passing the wrong state
    expect(() => step(p, initAdamW(p), NO_EMA as any, fullBatch, 0.1)).toThrow(/pass initEma/);
  });
});
