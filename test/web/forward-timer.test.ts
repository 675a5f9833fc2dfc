/**
 * bench:browser's sampling-forward timer (web/lib/bench.ts unetForwardTimer) times the graph sampling
 * runs: the weights compiled in (graph inputs: x, t, labels only) by default, as graph inputs with
 * frozenWeights false; both compute the same forward.
 */

// web/lib imports the package ("diffuse/core", the build npm ci's prepare step writes): the pipeline
// is made from the same module instance.
import { DiffusionPipeline, denoiserFromConfig, type OrtLike, random } from "diffuse/core";
import { expect, it } from "vitest";
import { nodeOrt } from "../../src/onnx/node.js";
import { sgemmTimer, unetForwardTimer } from "../../web/lib/bench.js";

/** nodeOrt, recording the input names of every session it creates. */
function recording(inputs: string[][]): OrtLike {
  return {
    Tensor: nodeOrt.Tensor,
    InferenceSession: {
      async create(model, options) {
        const s = await nodeOrt.InferenceSession.create(model, options);
        inputs.push([...s.inputNames]);
        return s;
      },
    },
  };
}

it("times the forward with the weights compiled in, or as inputs when asked", async () => {
  const denoiser = denoiserFromConfig(
    {
      _class_name: "UNet2DModel",
      sample_size: 28,
      in_channels: 1,
      out_channels: 1,
      block_out_channels: [8],
      down_block_types: ["DownBlock2D"],
      up_block_types: ["UpBlock2D"],
      layers_per_block: 1,
      norm_num_groups: 4,
      num_class_embeds: 11,
    },
    random.makeKey(1),
  );
  const pipe = new DiffusionPipeline({
    denoiser,
    params: denoiser.module.parameters(),
    schedulerConfig: { _class_name: "DDPMScheduler", num_train_timesteps: 1000 },
  });
  const frozen: string[][] = [];
  const inputs: string[][] = [];
  const a = await unetForwardTimer(Promise.resolve(pipe), { runtime: recording(frozen), threads: 1 });
  const b = await unetForwardTimer(Promise.resolve(pipe), {
    runtime: recording(inputs),
    threads: 1,
    frozenWeights: false,
  });
  const [ta, tb] = [await a(), await b()];
  expect(ta.ms).toBeGreaterThan(0);
  expect(tb.inRunMs).toBeGreaterThan(0);
  expect(frozen).toHaveLength(1);
  expect(frozen[0]).toHaveLength(3);
  expect(inputs[0]!.length).toBe(3 + Object.keys(pipe.params).length);
});

it("times an n x n matmul in a session of its own", async () => {
  const sessions: string[][] = [];
  const time = await sgemmTimer({ runtime: recording(sessions), threads: 1, n: 64 });
  const t = await time();
  expect(t.ms).toBeGreaterThan(0);
  expect(t.inRunMs).toBeGreaterThan(0);
  expect(t.inRunMs).toBeLessThanOrEqual(t.ms);
  expect(sessions).toEqual([["input_0", "input_1"]]);
});
