/**
 * Reflow on 2-D moons with the library pieces: a flow trained with the flow-matching loss, couplings
 * drawn from it, a second flow trained on them. The second flow must be straighter (Liu et al.'s
 * straightness) and its one-step Euler samples closer to the data.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadDataset } from "../../src/data/registry.js";
import {
  flowModelVelocity,
  flowStraightness,
  flowTimeGrid,
  sampleFlowEuler,
} from "../../src/diffusion/samplers/flow.js";
import { MLPDenoiser } from "../../src/models/mlp-denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey, normal, RngStream, randint } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { initEma } from "../../src/train/ema.js";
import { drawFlowInputs, flowMatchingLoss } from "../../src/train/flow-loss.js";
import type { LossConfig } from "../../src/train/losses.js";
import { initAdamW } from "../../src/train/optim/adamw.js";
import { drawReflowInputs, reflowPairs } from "../../src/train/reflow.js";
import { makeTrainStep } from "../../src/train/step.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const B = 256;
const S = 400;
const data = (loadDataset("moons", { seed: 0 }) as { data: Float32Array }).data;
const net = new MLPDenoiser({ in_features: 2, hidden_size: 64, num_layers: 3 });
net.init(makeKey(1));
const fwd = (p: Params, x: T.Tensor, t: T.Tensor) => net.forward(p, x, t);
const cfg: LossConfig = { loss: "l2", weighting: "none", prediction: "epsilon" };
const times = { distribution: "uniform" as const };

function dataBatch(key: readonly [number, number]): Float32Array {
  const idx = randint(key, B, 0, data.length / 2);
  return Float32Array.from({ length: 2 * B }, (_, k) => data[2 * idx[k >> 1]! + (k & 1)]!);
}

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

describe("reflow on moons", () => {
  let flow1: Params;
  let flow2: Params;
  const compiledForward = T.compile(fwd);
  const velocity = (p: Params) =>
    flowModelVelocity((x, t) => compiledForward(p, x, T.full([x.shape[0]!], t, "float32")), 1000);

  beforeAll(async () => {
    const step = T.compile(
      makeTrainStep(flowMatchingLoss(fwd, cfg), { ema: { kind: "constant", decay: 0.99 } }),
    );
    const rng = new RngStream(makeKey(2));
    const train = async (
      init: Params,
      draw: (k: readonly [number, number]) => ReturnType<typeof drawFlowInputs>,
    ) => {
      let s = { params: init, opt: initAdamW(init), ema: initEma(init) };
      for (let i = 0; i < 1000; i++) {
        const o = await step(s.params, s.opt, s.ema, draw(rng.next()), T.scalar(2e-3));
        s = { params: o.params, opt: o.optState, ema: o.ema };
      }
      return s.ema.params;
    };
    flow1 = await train(net.parameters(), (k) => drawFlowInputs(k, dataBatch(k), [B, 2], times, 1000, cfg));
    const pairs = await reflowPairs(velocity(flow1), T.tensor(normal(makeKey(3), 4000 * 2), [4000, 2]), 50);
    flow2 = await train(flow1, (k) => drawReflowInputs(k, pairs, B, times, 1000, cfg));
  }, 240_000);

  it("is straighter after reflow, and one Euler step lands closer to the data", async () => {
    const noise = T.tensor(normal(makeKey(77), S * 2), [S, 2]);
    const [s1, s2] = [
      (await flowStraightness(velocity(flow1), noise, flowTimeGrid(50))).straightness,
      (await flowStraightness(velocity(flow2), noise, flowTimeGrid(50))).straightness,
    ];
    const one = async (p: Params) =>
      meanNearest((await sampleFlowEuler(velocity(p), noise, [1, 0])).values() as Float32Array);
    const [d1, d2] = [await one(flow1), await one(flow2)];
    console.log(
      `reflow, moons: straightness ${s1.toFixed(4)} -> ${s2.toFixed(4)}; 1-step Euler mean NN distance ${d1.toFixed(3)} -> ${d2.toFixed(3)}`,
    );
    expect(s2).toBeLessThan(s1 * 0.5);
    expect(d2).toBeLessThan(d1);
  });

  it("pairs a noise row with the flow's sample from it", async () => {
    const z = T.tensor(normal(makeKey(9), 8), [4, 2]);
    const pairs = await reflowPairs(velocity(flow1), z, 10);
    expect(pairs.shape).toEqual([4, 2]);
    expect(Array.from(pairs.noise)).toEqual(Array.from(z.values() as Float32Array));
    const again = await sampleFlowEuler(velocity(flow1), z, flowTimeGrid(10));
    expect(Array.from(pairs.samples)).toEqual(Array.from(again.values() as Float32Array));
    const b = drawReflowInputs(makeKey(4), pairs, 3, times, 1000, cfg);
    // Each row of the batch is one pair: (x0, eps) rows come from the same index.
    const [x0, eps] = [b.x0.values() as Float32Array, b.noise.values() as Float32Array];
    for (let r = 0; r < 3; r++) {
      const i = [0, 1, 2, 3].find(
        (k) => pairs.samples[2 * k] === x0[2 * r] && pairs.samples[2 * k + 1] === x0[2 * r + 1],
      );
      expect(i).toBeDefined();
      expect([eps[2 * r], eps[2 * r + 1]]).toEqual([pairs.noise[2 * i!], pairs.noise[2 * i! + 1]]);
    }
  });
});
