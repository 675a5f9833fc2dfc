import { describe, expect, it } from "vitest";
import { flowModelVelocity, flowStraightness, flowTimeGrid } from "../../src/diffusion/samplers/flow.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { DiffusionPipeline } from "../../src/pipelines/pipeline.js";
import { pipelineStraightness } from "../../src/pipelines/straightness.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";

T.setDefaultRuntime(nodeOrt);

const FLOW = { _class_name: "FlowMatchEulerDiscreteScheduler", num_train_timesteps: 1000, shift: 1 };

function pipeOf(schedulerConfig: Record<string, unknown>, classes = 0): DiffusionPipeline {
  const denoiser = denoiserFromConfig(
    {
      _class_name: "MLPDenoiser",
      in_features: 3,
      hidden_size: 16,
      num_layers: 1,
      ...(classes > 0 ? { num_class_embeds: classes } : {}),
    },
    makeKey(4),
  );
  return new DiffusionPipeline({ denoiser, params: denoiser.module.parameters(), schedulerConfig });
}

describe("pipelineStraightness", () => {
  it("is flowStraightness of the model's velocity over seeded noise, whatever the batching", async () => {
    const pipe = pipeOf(FLOW);
    const got = await pipelineStraightness(pipe, {
      numSamples: 7,
      batchSize: 7,
      steps: 6,
      seed: 3,
      threads: 1,
    });
    const noise = T.tensor(normal(makeKey(3), 7 * 3), [7, 3]);
    const v = flowModelVelocity((x, t) => pipe.denoiser.forward(pipe.params, x, T.full([x.shape[0]!], t)));
    const direct = (await flowStraightness(v, noise, flowTimeGrid(6))).straightness;
    expect(direct).toBeGreaterThan(0);
    expect(got.straightness).toBeCloseTo(direct, 5);
    expect(got.perValue).toBeCloseTo(direct / 3, 5);
    const batched = await pipelineStraightness(pipe, {
      numSamples: 7,
      batchSize: 3,
      steps: 6,
      seed: 3,
      threads: 1,
    });
    expect(batched.straightness).toBeCloseTo(got.straightness, 5);
    const other = await pipelineStraightness(pipe, { numSamples: 7, steps: 6, seed: 4, threads: 1 });
    expect(other.straightness).not.toBeCloseTo(got.straightness, 5);
  });

  it("gives a class-conditional model its labels in turn", async () => {
    const pipe = pipeOf(FLOW, 3);
    const r = await pipelineStraightness(pipe, { numSamples: 4, steps: 3, threads: 1 });
    expect(Number.isFinite(r.straightness) && r.straightness > 0).toBe(true);
  });

  it("refuses a model that is not a flow model, naming its scheduler", async () => {
    const pipe = pipeOf({ _class_name: "DDPMScheduler", num_train_timesteps: 100 });
    await expect(pipelineStraightness(pipe)).rejects.toThrow(
      /not a flow model \(scheduler DDPMScheduler; expected FlowMatchEulerDiscreteScheduler\)/,
    );
    await expect(pipelineStraightness(pipeOf(FLOW), { steps: 0 })).rejects.toThrow(
      /steps 0 is not an integer >= 1/,
    );
  });
});
