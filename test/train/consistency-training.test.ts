/**
 * Consistency training without a teacher (iCT, consistency-training.ts): the curriculum, the
 * log-normal level weights, the loss against a step-by-step computation with its stop-gradient, and a
 * run from scratch on 2-D moons whose one-step samples land near the data.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/registry.js";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { sampleConsistencyVp } from "../../src/diffusion/samplers/consistency-vp.js";
import { alphasCumprod, betasFor } from "../../src/diffusion/schedules.js";
import { MLPDenoiser } from "../../src/models/mlp-denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey, normal, RngStream, randint } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { consistencyFunction, consistencyTables, type GridPoint } from "../../src/train/consistency-loss.js";
import {
  consistencyTrainingLoss,
  drawConsistencyTrainingInputs,
  ictScales,
  lognormalPairWeights,
} from "../../src/train/consistency-training.js";
import { initEma } from "../../src/train/ema.js";
import { initAdamW } from "../../src/train/optim/adamw.js";
import { makeTrainStep } from "../../src/train/step.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const abar = alphasCumprod(betasFor({ num_train_timesteps: 1000, beta_schedule: "linear" }));
const net = new MLPDenoiser({ in_features: 2, hidden_size: 64, num_layers: 3 });
net.init(makeKey(1));
const fwd = (p: Params, x: T.Tensor, t: T.Tensor) => net.forward(p, x, t);
const gradLeaves = (g: Params) => T.leaves(g).flatMap((t) => Array.from(t.values() as Float32Array));

describe("iCT schedule pieces", () => {
  it("doubles the grid from 11 to 1281 points over the run (iCT eq. 6)", () => {
    expect(ictScales(0, 1000)).toBe(11);
    expect(ictScales(124, 1000)).toBe(11);
    expect(ictScales(125, 1000)).toBe(21);
    expect(ictScales(999, 1000)).toBe(1281);
  });

  it("log-normal pair weights sum to 1 and peak near s = exp(P_mean)", () => {
    const s = Array.from({ length: 200 }, (_, i) => 0.002 * (80 / 0.002) ** (i / 199));
    const w = lognormalPairWeights(s);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const peak = w.indexOf(Math.max(...w));
    expect(Math.abs(Math.log(s[peak]!) - -1.1)).toBeLessThan(0.15);
  });
});

describe("consistency-training loss", () => {
  const tables = consistencyTables(abar, 11);
  const x0 = Float32Array.from(normal(makeKey(5), 16), (v) => 0.5 * v);
  const batch = drawConsistencyTrainingInputs(makeKey(3), x0, [8, 2], tables);
  const cfg = { prediction: "sample" as const, distance: "l2" as const };

  it("is lambda-weighted d(f(x_hi), stopgrad f(x_lo)) with the same eps at both levels", () => {
    const f = consistencyFunction(fwd, "sample");
    const per = (v: T.Tensor) => T.reshape(v, [8, 1]);
    const x = (p: GridPoint) => T.add(T.mul(per(p.alpha), batch.x0), T.mul(per(p.sigma), batch.noise));
    const params = net.parameters();
    const target = T.tensor(Float32Array.from(f(params, x(batch.lo), batch.lo).values()), [8, 2]);
    const byHand = (p: Params) =>
      T.mean(T.mul(T.mean(T.square(T.sub(f(p, x(batch.hi), batch.hi), target)), [1]), batch.weight));
    const loss = consistencyTrainingLoss(fwd, cfg);
    expect(loss(params, batch).item()).toBeCloseTo(byHand(params).item(), 6);
    const [g, gHand] = [gradLeaves(T.grad(loss)(params, batch)), gradLeaves(T.grad(byHand)(params))];
    expect(Math.max(...g.map((v, i) => Math.abs(v - gHand[i]!)))).toBeLessThan(1e-5);
    // lambda = 1 / (s_{n+1} - s_n) > 0
    expect((batch.weight.toArray() as number[]).every((w) => w > 0 && Number.isFinite(w))).toBe(true);
  });

  it("refuses an epsilon parametrisation, naming the prediction", () => {
    expect(() => consistencyTrainingLoss(fwd, { ...cfg, prediction: "epsilon" })).toThrow(
      /prediction is "epsilon"; expected "sample" or "v_prediction"/,
    );
  });

  it("rejects pair weights that do not fit the grid", () => {
    expect(() => drawConsistencyTrainingInputs(makeKey(3), x0, [8, 2], tables, [1, 2])).toThrow(
      /2 pair weights for a grid of 11; expected 10/,
    );
  });
});

describe("consistency training from scratch on moons", () => {
  const data = (loadDataset("moons", { seed: 0 }) as { data: Float32Array }).data;
  const B = 256;
  const S = 400;
  const STEPS = 1500;
  let params: Params;
  const meanNearest = (pts: Float32Array) => {
    let total = 0;
    for (let i = 0; i < pts.length; i += 2) {
      let best = Number.POSITIVE_INFINITY;
      for (let j = 0; j < data.length; j += 2)
        best = Math.min(best, (pts[i]! - data[j]!) ** 2 + (pts[i + 1]! - data[j + 1]!) ** 2);
      total += Math.sqrt(best);
    }
    return (2 * total) / pts.length;
  };

  beforeAll(async () => {
    const loss = consistencyTrainingLoss(fwd, { prediction: "sample", distance: "pseudo-huber" });
    const step = T.compile(makeTrainStep(loss, { ema: { kind: "constant", decay: 0.999 } }));
    let s = { params: net.parameters(), opt: initAdamW(net.parameters()), ema: initEma(net.parameters()) };
    const rng = new RngStream(makeKey(2));
    const cache = new Map<number, ReturnType<typeof consistencyTables>>();
    for (let k = 0; k < STEPS; k++) {
      const N = Math.min(ictScales(k, STEPS), 1000);
      if (!cache.has(N)) cache.set(N, consistencyTables(abar, N));
      const tables = cache.get(N)!;
      const lv = Array.from(tables.alpha, (a, i) => tables.sigma[i]! / a);
      const key = rng.next();
      const idx = randint(key, B, 0, data.length / 2);
      const x = Float32Array.from({ length: 2 * B }, (_, j) => data[2 * idx[j >> 1]! + (j & 1)]!);
      const batch = drawConsistencyTrainingInputs(key, x, [B, 2], tables, lognormalPairWeights(lv));
      const o = await step(s.params, s.opt, s.ema, batch, T.scalar(1e-3));
      s = { params: o.params, opt: o.optState, ema: o.ema };
    }
    params = s.ema.params;
  }, 240_000);

  it("draws one-step samples near the data", async () => {
    const tables = consistencyTables(abar, 1000);
    const f = consistencyFunction(fwd, "sample");
    const point = (n: number): GridPoint => {
      const col = (t: ArrayLike<number>) => T.tensor(new Float32Array(S).fill(t[n]!), [S]);
      return {
        t: T.tensor(new Int32Array(S).fill(tables.grid[n]!), [S], "int32"),
        alpha: col(tables.alpha),
        sigma: col(tables.sigma),
        cSkip: col(tables.cSkip),
        cOut: col(tables.cOut),
      };
    };
    const xT = T.tensor(normal(makeKey(77), S * 2), [S, 2]);
    const one = await sampleConsistencyVp(
      (x, n) => f(params, x, point(n)),
      xT,
      [999],
      tables,
      gaussianNoise(5),
    );
    const d = meanNearest(one.values() as Float32Array);
    const noise = meanNearest(xT.values() as Float32Array);
    console.log(
      `consistency training, moons: 1-step mean NN distance ${d.toFixed(3)}, noise ${noise.toFixed(3)}`,
    );
    expect(d).toBeLessThan(noise * 0.75);
  });
});
