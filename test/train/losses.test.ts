import { beforeAll, describe, expect, it } from "vitest";
import { minSnrWeights } from "../../src/diffusion/loss-weights.js";
import { alphasCumprod, betasFor, snr } from "../../src/diffusion/schedules.js";
import { MLPDenoiser } from "../../src/models/mlp-denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import {
  type DenoiserFn,
  diffusionLoss,
  drawLossInputs,
  type LossConfig,
  lossTables,
} from "../../src/train/losses.js";
import { lcg } from "../helpers.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const SCHEDULE = { beta_schedule: "linear", num_train_timesteps: 100 };
const B = 4;
const SHAPE = [B, 2, 3, 3];
const x0 = Float32Array.from(lcg(1, B * 18));
const zeroModel: DenoiserFn<Params> = (_p, x) => T.mul(x, 0);

function cfg(over: Partial<LossConfig> = {}): LossConfig {
  return { loss: "l2", weighting: "none", prediction: "epsilon", ...over };
}

/** mean_i w_i mean_j rho(target_ij) for a model that outputs zeros. */
function expected(
  target: (i: number, j: number) => number,
  w: ArrayLike<number>,
  rho: (d: number) => number,
) {
  const per = x0.length / B;
  let total = 0;
  for (let i = 0; i < B; i++) {
    let s = 0;
    for (let j = 0; j < per; j++) s += rho(-target(i, j));
    total += (w[i]! * s) / per;
  }
  return total / B;
}

describe("diffusionLoss", () => {
  const c = cfg();
  const tables = lossTables(SCHEDULE, c);
  const batch = drawLossInputs(makeKey(3), x0, SHAPE, tables, c);
  const per = x0.length / B;
  const noise = batch.noise.values();
  const a = batch.alpha.values();
  const s = batch.sigma.values();

  it("targets eps, x0 or v = alpha eps - sigma x0 by prediction type", () => {
    const targets = {
      epsilon: (i: number, j: number) => noise[i * per + j]!,
      sample: (i: number, j: number) => x0[i * per + j]!,
      v_prediction: (i: number, j: number) => a[i]! * noise[i * per + j]! - s[i]! * x0[i * per + j]!,
    } as const;
    for (const [prediction, target] of Object.entries(targets)) {
      const loss = diffusionLoss(zeroModel, cfg({ prediction: prediction as LossConfig["prediction"] }))(
        {},
        batch,
      );
      expect(loss.item()).toBeCloseTo(
        expected(target, [1, 1, 1, 1], (d) => d * d),
        5,
      );
    }
  });

  it("applies l1 and pseudo-Huber penalties", () => {
    const eps = (i: number, j: number) => noise[i * per + j]!;
    const l1 = diffusionLoss(zeroModel, cfg({ loss: "l1" }))({}, batch).item();
    expect(l1).toBeCloseTo(expected(eps, [1, 1, 1, 1], Math.abs), 5);
    const h = 0.3;
    const huber = diffusionLoss(zeroModel, cfg({ loss: "huber", huberC: h }))({}, batch).item();
    expect(huber).toBeCloseTo(
      expected(eps, [1, 1, 1, 1], (d) => 2 * h * (Math.sqrt(d * d + h * h) - h)),
      5,
    );
  });

  it("weights each example by w_t from the table (min-SNR)", () => {
    const m = cfg({ weighting: "min-snr", snrGamma: 5 });
    const t = lossTables(SCHEDULE, m);
    const want = minSnrWeights(snr(alphasCumprod(betasFor(SCHEDULE))), 5, "epsilon");
    expect(Array.from(t.weight)).toEqual(Array.from(want, Math.fround));
    const b = drawLossInputs(makeKey(3), x0, SHAPE, t, m);
    const w = b.timesteps.toArray().map((k) => t.weight[k]!);
    const got = diffusionLoss(zeroModel, m)({}, b).item();
    expect(got).toBeCloseTo(
      expected(
        (i, j) => noise[i * per + j]!,
        w,
        (d) => d * d,
      ),
      5,
    );
  });

  it("adds offset noise per channel to the noise and the target", () => {
    const o = cfg({ offsetNoise: 0.5 });
    const b = drawLossInputs(makeKey(3), x0, SHAPE, tables, o);
    expect(b.offset?.shape).toEqual([B, 2]);
    const off = b.offset!.values();
    const eps = (i: number, j: number) => noise[i * per + j]! + 0.5 * off[i * 2 + Math.floor(j / 9)]!;
    const got = diffusionLoss(zeroModel, o)({}, b).item();
    expect(got).toBeCloseTo(
      expected(eps, [1, 1, 1, 1], (d) => d * d),
      5,
    );
  });

  it("replaces dropped labels by the null class", () => {
    const seen: number[][] = [];
    const spy: DenoiserFn<Params> = (_p, x, _t, labels) => {
      seen.push(labels!.toArray());
      return T.mul(x, 0);
    };
    const d = cfg({ labelDropout: 0.5, nullClass: 7 });
    const labels = Int32Array.from([1, 2, 3, 4]);
    const b = drawLossInputs(makeKey(11), x0, SHAPE, tables, d, labels);
    diffusionLoss(spy, d)({}, b);
    const drop = b.drop!.toArray();
    expect(seen[0]).toEqual([1, 2, 3, 4].map((y, i) => (drop[i] ? 7 : y)));
    const all = cfg({ labelDropout: 1, nullClass: 7 });
    diffusionLoss(spy, all)({}, drawLossInputs(makeKey(11), x0, SHAPE, tables, all, labels));
    expect(seen[1]).toEqual([7, 7, 7, 7]);
  });
});

describe("drawLossInputs", () => {
  const c = cfg({ labelDropout: 0.1, nullClass: 10 });
  const tables = lossTables(SCHEDULE, c);

  it("is a pure function of the key", () => {
    const [p, q, r] = [makeKey(5), makeKey(5), makeKey(6)].map((k) =>
      drawLossInputs(k, x0, SHAPE, tables, c, Int32Array.from([0, 1, 2, 3])),
    );
    expect(T.leaves(p!).map((t) => t.toArray())).toEqual(T.leaves(q!).map((t) => t.toArray()));
    expect(r!.noise.toArray()).not.toEqual(p!.noise.toArray());
  });

  it("draws timesteps in [0, T) and looks their coefficients up", () => {
    const b = drawLossInputs(makeKey(9), x0, SHAPE, tables, c);
    const abar = alphasCumprod(betasFor(SCHEDULE));
    b.timesteps.toArray().forEach((t, i) => {
      expect(t).toBeGreaterThanOrEqual(0);
      expect(t).toBeLessThan(100);
      expect(b.alpha.toArray()[i]).toBeCloseTo(Math.sqrt(abar[t]!), 6);
    });
    expect(b.labels).toBeUndefined();
    expect(b.drop).toBeUndefined();
  });
});

describe("compiled loss", () => {
  it("matches the eager loss for the MLP denoiser with class labels", async () => {
    const model = new MLPDenoiser({ in_features: 3, hidden_size: 16, num_layers: 2, num_class_embeds: 4 });
    model.init(makeKey(1));
    const c = cfg({ prediction: "v_prediction", weighting: "min-snr", labelDropout: 0.5, nullClass: 3 });
    const tables = lossTables(SCHEDULE, c);
    const x = Float32Array.from(lcg(2, 8 * 3));
    const batch = drawLossInputs(makeKey(4), x, [8, 3], tables, c, Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]));
    const loss = diffusionLoss((p: Params, xt, t, y) => model.forward(p, xt, t, y), c);
    const eager = loss(model.parameters(), batch).item();
    const compiled = (await T.compile(loss)(model.parameters(), batch)).item();
    expect(compiled).toBeCloseTo(eager, 5);
    expect(eager).toBeGreaterThan(0);
  });
});
