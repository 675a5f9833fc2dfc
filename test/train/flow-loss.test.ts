/**
 * The flow-matching objective (flow-loss.ts): its loss against a hand computation of
 * x_t = (1 - t) x0 + t eps and v* = eps - x0, the timestep convention (1000 t, as diffusers'
 * FlowMatchEulerDiscreteScheduler feeds the network), the t distributions, compiled = eager, and the
 * config checks of the flow objective.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MLPDenoiser } from "../../src/models/mlp-denoiser.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { resolveTrainConfig, type TrainConfig } from "../../src/train/config.js";
import { drawFlowInputs, drawFlowTimes, flowMatchingLoss } from "../../src/train/flow-loss.js";
import type { LossConfig } from "../../src/train/losses.js";
import { getPreset } from "../../src/train/presets.js";

beforeAll(() => T.setDefaultRuntime(nodeOrt));

const CFG: LossConfig = { loss: "l2", weighting: "none", prediction: "epsilon" };
const B = 6;
const D = 3;

function tinyModel(): MLPDenoiser {
  const m = new MLPDenoiser({ in_features: D, hidden_size: 16, num_layers: 2 });
  m.init(makeKey(3));
  return m;
}

describe("flow-matching loss", () => {
  const model = tinyModel();
  const fwd = (p: Params, x: T.Tensor, t: T.Tensor) => model.forward(p, x, t);
  const x0 = Float32Array.from(normal(makeKey(11), B * D), (v) => 2 * v + 1);
  const times = { distribution: "uniform" as const };
  const batch = drawFlowInputs(makeKey(7), x0, [B, D], times, 1000, CFG);

  it("feeds the network 1000 t, with alpha = 1 - t, sigma = t and unit weights", () => {
    const t = batch.sigma.toArray() as number[];
    expect(batch.timesteps.dtype).toBe("float32");
    t.forEach((ti, i) => {
      expect(ti).toBeGreaterThanOrEqual(0);
      expect(ti).toBeLessThan(1);
      expect(batch.timesteps.toArray()[i]).toBeCloseTo(1000 * ti, 3);
      expect(batch.alpha.toArray()[i]).toBeCloseTo(1 - ti, 6);
    });
    expect(new Set(t).size).toBe(B); // continuous t, not a few grid points
    expect(batch.weight.toArray()).toEqual(new Array(B).fill(1));
  });

  it("equals mean (v(x_t, 1000 t) - (eps - x0))^2 computed by hand", () => {
    const t = batch.sigma.values() as Float32Array;
    const eps = batch.noise.values() as Float32Array;
    const xt = new Float32Array(B * D);
    const target = new Float32Array(B * D);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < D; j++) {
        const k = i * D + j;
        xt[k] = (1 - t[i]!) * x0[k]! + t[i]! * eps[k]!;
        target[k] = eps[k]! - x0[k]!;
      }
    }
    const ts = T.tensor(
      Float32Array.from(t, (v) => 1000 * v),
      [B],
    );
    const out = model.forward(model.parameters(), T.tensor(xt, [B, D]), ts).values();
    let sum = 0;
    for (let k = 0; k < B * D; k++) sum += (out[k]! - target[k]!) ** 2;
    const byHand = sum / (B * D);
    const loss = flowMatchingLoss(fwd, CFG)(model.parameters(), batch).item();
    expect(loss).toBeCloseTo(byHand, 5);
    expect(loss).toBeGreaterThan(0.1); // an untrained net is far from eps - x0 (|x0| ~ 2)
  });

  it("is the same compiled as eager", async () => {
    const loss = flowMatchingLoss(fwd, CFG);
    const eager = loss(model.parameters(), batch).item();
    const compiled = (await T.compile(loss)(model.parameters(), batch)).item();
    expect(compiled).toBeCloseTo(eager, 5);
  });

  it("draws the same batch from the same key and another from another key", () => {
    const again = drawFlowInputs(makeKey(7), x0, [B, D], times, 1000, CFG);
    expect(again.sigma.toArray()).toEqual(batch.sigma.toArray());
    expect(again.noise.toArray()).toEqual(batch.noise.toArray());
    const other = drawFlowInputs(makeKey(8), x0, [B, D], times, 1000, CFG);
    expect(other.sigma.toArray()).not.toEqual(batch.sigma.toArray());
  });
});

describe("flow t distributions", () => {
  const N = 40000;
  const sorted = (a: Float64Array) => Float64Array.from(a).sort();
  const quantile = (s: Float64Array, q: number) => s[Math.floor(q * (s.length - 1))]!;

  it("uniform: in [0, 1), mean 1/2, quantiles q", () => {
    const t = drawFlowTimes(makeKey(1), N, { distribution: "uniform" });
    const s = sorted(t);
    expect(s[0]).toBeGreaterThanOrEqual(0);
    expect(s[N - 1]).toBeLessThan(1);
    expect(t.reduce((a, b) => a + b, 0) / N).toBeCloseTo(0.5, 2);
    for (const q of [0.1, 0.5, 0.9]) expect(Math.abs(quantile(s, q) - q)).toBeLessThan(0.01);
  });

  it("logit-normal(m, s): logit(t) has mean m and std s; quantiles sigmoid(m + s z_q)", () => {
    const m = 0.5;
    const sd = 0.8;
    const t = drawFlowTimes(makeKey(2), N, { distribution: "logit-normal", logitMean: m, logitStd: sd });
    const logit = Array.from(t, (v) => Math.log(v / (1 - v)));
    const mean = logit.reduce((a, b) => a + b, 0) / N;
    const std = Math.sqrt(logit.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
    expect(Math.abs(mean - m)).toBeLessThan(0.02);
    expect(Math.abs(std - sd)).toBeLessThan(0.02);
    const s = sorted(t);
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    // z_0.1 = -1.2816, z_0.5 = 0, z_0.9 = 1.2816 (standard normal quantiles)
    for (const [q, z] of [
      [0.1, -1.2815516],
      [0.5, 0],
      [0.9, 1.2815516],
    ] as const) {
      expect(Math.abs(quantile(s, q) - sigmoid(m + sd * z))).toBeLessThan(0.01);
    }
    // It concentrates in the middle: fewer draws below 0.1 than the uniform's 10%.
    expect(t.filter((v) => v < 0.1).length / N).toBeLessThan(0.05);
  });

  it("rejects a non-positive std", () => {
    expect(() => drawFlowTimes(makeKey(1), 4, { distribution: "logit-normal", logitStd: 0 })).toThrow(
      /std > 0/,
    );
  });
});

describe("flow objective in the run config", () => {
  const mlp = () => getPreset("mlp");
  const resolve = (p: Partial<TrainConfig>) => resolveTrainConfig({ dataset: "moons", ...p }, mlp).config;

  it("defaults to no SNR weighting and the flow-matching Euler sampler", () => {
    const c = resolve({ objective: "flow" });
    expect(c.weighting).toBe("none");
    expect(c.sampler).toBe("flow_match_euler");
    expect(c.flowT).toBe("uniform");
    expect(resolve({}).weighting).toBe("min-snr"); // diffusion keeps its defaults
  });

  it("refuses fields the flow objective would ignore, naming them", () => {
    expect(() => resolve({ objective: "flow", predictionType: "v_prediction" })).toThrow(
      /field "predictionType" is "v_prediction" but "objective" is "flow"/,
    );
    expect(() => resolve({ objective: "flow", weighting: "min-snr" })).toThrow(/field "weighting"/);
    expect(() => resolve({ flowT: "logit-normal" })).toThrow(
      /field "flowT" is "logit-normal" but "objective" is "diffusion"/,
    );
    expect(() => resolve({ objective: "flow", flowLogitStd: -1 })).toThrow(/field "flowLogitStd" is -1/);
    expect(() => resolve({ objective: "flux" as "flow" })).toThrow(/field "objective" is "flux"/);
  });

  it("accepts a negative logit mean", () => {
    expect(resolve({ objective: "flow", flowT: "logit-normal", flowLogitMean: -0.5 }).flowLogitMean).toBe(
      -0.5,
    );
  });
});
