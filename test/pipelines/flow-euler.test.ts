/**
 * `flow_euler`: Euler over uniform steps from t = 1 to 0 on a flow-matching model, against the
 * library's sampleFlowEuler; and why it exists beside diffusers' FlowMatchEulerDiscreteScheduler
 * (`flow_match_euler`), whose grid runs from sigma 1 to sigma_min = 1/T, so its 2 steps are one
 * step plus a step of 1/T.
 */
import { describe, expect, it } from "vitest";
import { gaussianNoise } from "../../src/diffusion/noise.js";
import { flowModelVelocity, flowTimeGrid, sampleFlowEuler } from "../../src/diffusion/samplers/flow.js";
import { type Denoiser, denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { DiffusionPipeline } from "../../src/pipelines/pipeline.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";

T.setDefaultRuntime(nodeOrt);

const denoiser = denoiserFromConfig(
  { _class_name: "MLPDenoiser", in_features: 2, hidden_size: 16, num_layers: 1 },
  makeKey(8),
);
const pipe = new DiffusionPipeline({
  denoiser,
  params: denoiser.module.parameters(),
  schedulerConfig: { _class_name: "FlowMatchEulerDiscreteScheduler", num_train_timesteps: 1000, shift: 1 },
});
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("flow_euler", () => {
  it("is Euler over uniform steps from t = 1 to 0, one evaluation per step", async () => {
    const out = await pipe.generate({ sampler: "flow_euler", steps: 3, numSamples: 5, seed: 2 });
    const v = flowModelVelocity((x, t) => denoiser.forward(pipe.params, x, T.full([x.shape[0]!], t)));
    const direct = await sampleFlowEuler(v, gaussianNoise(2)([5, 2]), flowTimeGrid(3));
    expect(maxDiff(out.values(), direct.values())).toBeLessThan(1e-5);
    expect(out.nfe).toBe(3);
  });

  it("takes two real steps where flow_match_euler's second step is 1/T long", async () => {
    // v(x, t) = 3 t^2 x (t in [0, 1]): curved paths, so one and two Euler steps differ.
    const curved: Denoiser = {
      ...denoiser,
      forward: (_p, x, t) => T.mul(x, T.reshape(T.mul(T.square(T.div(t, 1000)), 3), [-1, 1])),
    };
    const field = new DiffusionPipeline({ ...pipe, denoiser: curved, params: {} });
    const gen = (sampler: string, steps: number) =>
      field.generate({ sampler, steps, numSamples: 5, seed: 2 }).then((o) => o.values());
    const x1 = gaussianNoise(2)([5, 2]).values();
    const times = (k: number) => Array.from(x1, (v) => k * v);
    expect(maxDiff(await gen("flow_euler", 1), times(-2))).toBeLessThan(1e-5); // x1 - 3 x1
    expect(maxDiff(await gen("flow_euler", 2), times(-0.3125))).toBeLessThan(1e-5); // via x(0.5) = -0.5 x1
    // flow_match_euler's grid: sigma 1 -> 1/T -> 0, i.e. x1 - 0.999 * 3 x1, then a step of 1/T.
    expect(maxDiff(await gen("flow_match_euler", 2), times(-1.997))).toBeLessThan(1e-4);
  });
});
