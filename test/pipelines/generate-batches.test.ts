import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSample } from "../../src/cli/sample.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { batchRanges, generateBatches, startNoiseRows } from "../../src/pipelines/generate-batches.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import type { DiffusionPipeline, PipelineGenerateOptions } from "../../src/pipelines/pipeline.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { makeKey, normal, RngStream } from "../../src/random/index.js";
import { setDefaultRuntime } from "../../src/tensor/compile.js";

setDefaultRuntime(nodeOrt);

const tmp = mkdtempSync(path.join(tmpdir(), "diffuse-batches-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 100,
  beta_schedule: "linear",
  beta_start: 1e-4,
  beta_end: 0.02,
  prediction_type: "epsilon",
};

/** A class-conditional MLP on 3-D points (odd size per sample: Box-Muller pairs straddle rows). */
async function saved(): Promise<string> {
  const dir = path.join(tmp, "cond");
  const config = {
    _class_name: "MLPDenoiser",
    in_features: 3,
    hidden_size: 16,
    num_layers: 1,
    num_class_embeds: 4,
  };
  const denoiser = denoiserFromConfig(config, makeKey(3));
  await saveModelFolder(dir, denoiser, denoiser.module.parameters(), SCHEDULER, {
    numClasses: 3,
    nullClass: 3,
    dataKind: "points",
  });
  return dir;
}

async function collect(pipe: DiffusionPipeline, o: Parameters<typeof generateBatches>[1]) {
  const rows: number[] = [];
  const counts: number[] = [];
  for await (const b of generateBatches(pipe, o)) {
    counts.push(b.count);
    rows.push(...b.output.values());
  }
  return { rows, counts };
}

describe("generateBatches", async () => {
  const dir = await saved();
  const pipe = await loadPipeline(dir);

  it("splits N into batches of at most B", () => {
    expect(batchRanges(7, 3)).toEqual([
      { start: 0, count: 3 },
      { start: 3, count: 3 },
      { start: 6, count: 1 },
    ]);
    expect(batchRanges(2, 5)).toEqual([{ start: 0, count: 2 }]);
    expect(() => batchRanges(4, 0)).toThrow(/batchSize: expected a positive integer, got 0/);
  });

  it("a batch's x_T is its rows of the whole run's first draw", () => {
    const whole = normal(new RngStream(makeKey(5)).next(), 7 * 3);
    expect([...startNoiseRows(5, [3], 3, 3).values()]).toEqual([...whole.subarray(9, 18)]);
  });

  it("a deterministic sampler gives the unbatched samples (labels cyclic over the whole run)", async () => {
    const o = { numSamples: 7, steps: 5, seed: 11, sampler: "ddim", guidanceScale: 2 };
    const whole = await pipe.generate(o);
    const batched = await collect(pipe, { ...o, batchSize: 3 });
    expect(batched.counts).toEqual([3, 3, 1]);
    const expected = whole.values();
    expect(batched.rows.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(batched.rows[i]).toBeCloseTo(expected[i]!, 5);
    const one = await collect(pipe, { ...o, batchSize: 10 });
    expect(one.rows).toEqual([...expected]); // one batch is exactly the unbatched call
  });

  it("stochastic samplers: reproducible per seed and batch size", async () => {
    const o = { numSamples: 6, steps: 5, seed: 2, sampler: "ddpm", batchSize: 3 };
    const a = await collect(pipe, o);
    const b = await collect(pipe, o);
    expect(a.rows).toEqual(b.rows);
    const c = await collect(pipe, { ...o, seed: 3 });
    expect(c.rows).not.toEqual(a.rows);
  });

  it("asks the pipeline for one batch at a time, lazily (memory of one batch), with run-wide progress", async () => {
    const asked: number[] = [];
    const spy = {
      numClasses: pipe.numClasses,
      denoiser: pipe.denoiser,
      generate: (opts: PipelineGenerateOptions) => {
        asked.push(opts.numSamples!);
        return pipe.generate(opts);
      },
    } as unknown as DiffusionPipeline;
    const steps: [number, number][] = [];
    const it = generateBatches(spy, {
      numSamples: 10,
      batchSize: 4,
      steps: 3,
      sampler: "ddim",
      onStep: (i, total) => steps.push([i, total]),
    });
    await it.next();
    expect(asked).toEqual([4]); // nothing beyond the batch consumed
    for await (const _ of it) void _;
    expect(asked).toEqual([4, 4, 2]);
    expect(Math.max(...asked)).toBeLessThanOrEqual(4);
    expect(steps.at(-1)).toEqual([9, 9]);
    expect(steps.map(([i]) => i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("refuses labels that are not one per sample", async () => {
    await expect(collect(pipe, { numSamples: 4, batchSize: 2, labels: [0, 1], steps: 2 })).rejects.toThrow(
      /labels: got 2, expected one per sample \(4\)/,
    );
  });
});

describe("diffuse sample in batches", async () => {
  const dir = await saved();

  it("streams a safetensors file equal to the one-batch run (deterministic sampler)", async () => {
    const common = { model: dir, sampler: "ddim", steps: 4, numSamples: 9, seed: 4, threads: 0 };
    const one = path.join(tmp, "one.safetensors");
    const many = path.join(tmp, "many.safetensors");
    await runSample({ ...common, out: one, batchSize: 100 });
    const r = await runSample({ ...common, out: many, batchSize: 2 });
    expect(r.shape).toEqual([9, 3]);
    const a = await readSafetensorsFile(one);
    const b = await readSafetensorsFile(many);
    expect([...b.tensors.get("labels")!.data]).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const x = a.tensors.get("samples")!.data as Float32Array;
    const y = b.tensors.get("samples")!.data as Float32Array;
    expect(b.tensors.get("samples")!.shape).toEqual([9, 3]);
    for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i]!, 5);
  });
});
