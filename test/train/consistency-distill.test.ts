/**
 * Consistency distillation works end to end on 2-D moons, with the library pieces only (no CLI yet):
 * a teacher MLP trained with the diffusion loss, then a student initialised from it and trained with
 * `consistencyDistillationLoss` (EMA target, mu = 0.95) through the compiled `makeTrainStep`. Its
 * one-step samples (`sampleConsistencyVp`) must land far closer to the data than the same
 * one-step sample before distillation (the teacher's x0-hat from pure noise, which collapses towards
 * the data mean).
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
import {
  consistencyDistillationLoss,
  consistencyFunction,
  consistencyTables,
  drawConsistencyInputs,
  type GridPoint,
} from "../../src/train/consistency-loss.js";
import { initEma } from "../../src/train/ema.js";
import { diffusionLoss, drawLossInputs, type LossConfig, lossTables } from "../../src/train/losses.js";
import { initAdamW } from "../../src/train/optim/adamw.js";
import { makeTrainStep } from "../../src/train/step.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const SCHEDULE = { num_train_timesteps: 1000, beta_schedule: "linear" };
const B = 256;
const S = 400;
const data = (loadDataset("moons", { seed: 0 }) as { data: Float32Array }).data;
const net = new MLPDenoiser({ in_features: 2, hidden_size: 64, num_layers: 3 });
net.init(makeKey(1));
const fwd = (p: Params, x: T.Tensor, t: T.Tensor) => net.forward(p, x, t);

/** A batch of B data points drawn with `key`. */
function dataBatch(key: readonly [number, number]): Float32Array {
  const idx = randint(key, B, 0, data.length / 2);
  return Float32Array.from({ length: 2 * B }, (_, k) => data[2 * idx[k >> 1]! + (k & 1)]!);
}

/** Mean distance from each point of `pts` to its nearest data point. */
function meanNearest(pts: Float32Array): number {
  let total = 0;
  for (let i = 0; i < pts.length; i += 2) {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < data.length; j += 2) {
      best = Math.min(best, (pts[i]! - data[j]!) ** 2 + (pts[i + 1]! - data[j + 1]!) ** 2);
    }
    total += Math.sqrt(best);
  }
  return (2 * total) / pts.length;
}

describe("consistency distillation on moons", () => {
  const cfg: LossConfig = { loss: "l2", weighting: "none", prediction: "epsilon" };
  const tables = consistencyTables(alphasCumprod(betasFor(SCHEDULE)), 18);
  const top = tables.grid.length - 1;
  let teacher: Params;
  let student: Params;

  beforeAll(async () => {
    // 1. The teacher: epsilon prediction, 600 steps.
    const vp = lossTables(SCHEDULE, cfg);
    const tStep = T.compile(
      makeTrainStep(diffusionLoss(fwd, cfg), { ema: { kind: "constant", decay: 0.99 } }),
    );
    let s = { params: net.parameters(), opt: initAdamW(net.parameters()), ema: initEma(net.parameters()) };
    const rng = new RngStream(makeKey(2));
    for (let i = 0; i < 1000; i++) {
      const k = rng.next();
      const batch = drawLossInputs(k, dataBatch(k), [B, 2], vp, cfg);
      const o = await tStep(s.params, s.opt, s.ema, batch, T.scalar(2e-3));
      s = { params: o.params, opt: o.optState, ema: o.ema };
    }
    teacher = s.ema.params;
    // 2. The student, from the teacher, EMA target with mu = 0.95 (Song et al. 2023, CD).
    const loss = consistencyDistillationLoss(fwd, { prediction: "epsilon", distance: "l2" });
    const cStep = T.compile(makeTrainStep(loss, { ema: { kind: "constant", decay: 0.95 } }));
    let c = { params: teacher, opt: initAdamW(teacher), ema: initEma(teacher) };
    for (let i = 0; i < 1000; i++) {
      const k = rng.next();
      const batch = drawConsistencyInputs(k, dataBatch(k), [B, 2], tables, teacher, c.ema.params);
      const o = await cStep(c.params, c.opt, c.ema, batch, T.scalar(5e-4));
      c = { params: o.params, opt: o.optState, ema: o.ema };
    }
    student = c.params;
  }, 240_000);

  const point = (n: number): GridPoint => {
    const col = (table: ArrayLike<number>) => T.tensor(new Float32Array(S).fill(table[n]!), [S]);
    return {
      t: T.tensor(new Int32Array(S).fill(tables.grid[n]!), [S], "int32"),
      alpha: col(tables.alpha),
      sigma: col(tables.sigma),
      cSkip: col(tables.cSkip),
      cOut: col(tables.cOut),
    };
  };
  const sample = (params: Params, indices: number[]) => {
    const f = consistencyFunction(fwd, "epsilon");
    const xT = T.tensor(normal(makeKey(77), S * 2), [S, 2]);
    return sampleConsistencyVp((x, n) => f(params, x, point(n)), xT, indices, tables, gaussianNoise(5));
  };

  /** The teacher's deterministic DDIM (eta = 0) with `steps` evenly spaced timesteps from 999 to 0. */
  async function teacherDdim(steps: number): Promise<Float32Array> {
    const abar = alphasCumprod(betasFor(SCHEDULE));
    const ts = Array.from({ length: steps }, (_, i) => Math.round(999 - (i * 999) / (steps - 1)));
    let x = T.tensor(normal(makeKey(77), S * 2), [S, 2]);
    for (let i = 0; i < steps; i++) {
      const [a, s] = [Math.sqrt(abar[ts[i]!]!), Math.sqrt(1 - abar[ts[i]!]!)];
      const eps = fwd(teacher, x, T.full([S], ts[i]!, "int32"));
      const x0 = T.div(T.sub(x, T.mul(eps, s)), a);
      const next = i + 1 < steps ? abar[ts[i + 1]!]! : 1;
      x = T.add(T.mul(x0, Math.sqrt(next)), T.mul(eps, Math.sqrt(1 - next)));
    }
    return x.values() as Float32Array;
  }

  it("one step after distillation lands far closer to the data than before, near the teacher's 50 steps", async () => {
    const before = meanNearest((await sample(teacher, [top])).values() as Float32Array);
    const after = meanNearest((await sample(student, [top])).values() as Float32Array);
    const ddim50 = meanNearest(await teacherDdim(50));
    const noise = meanNearest(normal(makeKey(77), S * 2));
    console.log(
      `consistency distillation, moons: mean NN distance, 1 step before ${before.toFixed(3)}, after ${after.toFixed(3)}; teacher DDIM-50 ${ddim50.toFixed(3)}; noise ${noise.toFixed(3)}`,
    );
    expect(after).toBeLessThan(before * 0.5);
    expect(after).toBeLessThan(noise * 0.75);
    expect(after).toBeLessThan(ddim50 * 3);
  });

  it("two steps stay near the data", async () => {
    const two = meanNearest((await sample(student, [top, Math.floor(top / 2)])).values() as Float32Array);
    expect(two).toBeLessThan(meanNearest(normal(makeKey(77), S * 2)) / 2);
  });

  it("rejects a grid index list that does not descend, naming the entry", async () => {
    await expect(sample(student, [top, top])).rejects.toThrow(/indices\[1\]/);
    await expect(sample(student, [top + 1])).rejects.toThrow(/indices\[0\]/);
  });
});
