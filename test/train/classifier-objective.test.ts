import { describe, expect, it } from "vitest";
import { NoiseConditionedClassifier } from "../../src/models/noise-classifier.js";
import type { Params } from "../../src/nn/module.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { accuracy, CLASSIFIER_LOSS_CONFIG, classifierLoss } from "../../src/train/classifier-objective.js";
import { drawLossInputs, lossTables } from "../../src/train/losses.js";
import { lcg } from "../helpers.js";
import { TINY_CLASSIFIER } from "../models/classifier-fixture.js";

T.setDefaultRuntime(nodeOrt);

const SCHEDULE = { num_train_timesteps: 100, beta_schedule: "squaredcos_cap_v2" };

describe("classifier objective", () => {
  const model = new NoiseConditionedClassifier(TINY_CLASSIFIER, { key: makeKey(3) });
  const params = model.parameters();
  const forward = (p: Params, x: T.Tensor, t: T.Tensor) => model.forward(p, x, t);
  const tables = lossTables(SCHEDULE, CLASSIFIER_LOSS_CONFIG);
  const B = 4;
  const x0 = Float32Array.from(lcg(1, B * 64));
  const labels = Int32Array.from([0, 1, 2, 1]);
  const batch = drawLossInputs(makeKey(7), x0, [B, 1, 8, 8], tables, CLASSIFIER_LOSS_CONFIG, labels);

  it("is the mean cross-entropy on x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, computed by hand", () => {
    const loss = classifierLoss(forward)(params, batch).item();
    // by hand: x_t on the host from the drawn t, then log-softmax in float64
    const t = batch.timesteps.values() as Int32Array;
    const eps = batch.noise.values() as Float32Array;
    const xt = new Float32Array(x0.length);
    for (let i = 0; i < B; i++) {
      const a = tables.alpha[t[i]!]!;
      const s = tables.sigma[t[i]!]!;
      for (let j = 0; j < 64; j++) xt[i * 64 + j] = a * x0[i * 64 + j]! + s * eps[i * 64 + j]!;
    }
    const logits = model
      .forward(params, T.tensor(xt, [B, 1, 8, 8]), T.tensor(Float32Array.from(t), [B]))
      .values();
    let total = 0;
    for (let i = 0; i < B; i++) {
      const row = Array.from(logits.subarray(i * 3, i * 3 + 3));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
      total += lse - row[labels[i]!]!;
    }
    expect(loss).toBeCloseTo(total / B, 5);
    expect(loss).toBeGreaterThan(0);
  });

  it("draws t over the schedule's training timesteps and differentiates (compiled == eager gradient)", async () => {
    const big = drawLossInputs(
      makeKey(8),
      new Float32Array(256 * 64),
      [256, 1, 8, 8],
      tables,
      CLASSIFIER_LOSS_CONFIG,
      new Int32Array(256),
    );
    const ts = [...(big.timesteps.values() as Int32Array)];
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ts)).toBeLessThan(100);
    expect(new Set(ts).size).toBeGreaterThan(50);
    const vg = T.valueAndGrad(classifierLoss(forward));
    const eager = vg(params, batch);
    const compiled = await T.compile((p: Params, b: typeof batch) => {
      const r = vg(p, b);
      return { value: r.value, grads: r.grads };
    })(params, batch);
    expect(compiled.value.item()).toBeCloseTo(eager.value.item(), 4);
    const name = "classifier.weight";
    const d = [...compiled.grads[name]!.values()].map((v, i) =>
      Math.abs(v - eager.grads[name]!.values()[i]!),
    );
    expect(Math.max(...d)).toBeLessThan(1e-4);
  });

  it("needs labels; accuracy counts arg-max hits", () => {
    const { labels: _, ...unlabelled } = batch;
    expect(() => classifierLoss(forward)(params, unlabelled)).toThrow(/no labels/);
    const logits = T.tensor([1, 2, 0, 5, 1, 1], [2, 3]);
    expect(accuracy(logits, Int32Array.from([1, 0]))).toBe(1);
    expect(accuracy(logits, Int32Array.from([0, 0]))).toBe(0.5);
  });
});
