/**
 * The few-step runs end to end on 2-D moons, through the trainer machinery (runTraining) and the CLI:
 * `diffuse distill --method consistency` from a VP teacher, `--method reflow` (cached couplings, stage
 * 2), `diffuse train --objective consistency`; the saved folders sample with `--sampler consistency` /
 * flow Euler; resume of a distillation is bit-exact; a killed couplings generation resumes to the same
 * files; bad teachers and students are refused, naming the field, with nothing written.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distillSettings } from "../../src/cli/distill.js";
import { main } from "../../src/cli/main.js";
import { loadDataset } from "../../src/data/registry.js";
import { flowModelVelocity, flowStraightness, flowTimeGrid } from "../../src/diffusion/samplers/flow.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { compiledForward } from "../../src/pipelines/generate.js";
import { loadPipeline } from "../../src/pipelines/pipeline-node.js";
import { makeKey, normal } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { loadCheckpoint } from "../../src/train/checkpoint-node.js";
import type { TrainConfig } from "../../src/train/config.js";
import { generateReflowPairs, type PairsSpec } from "../../src/train/reflow-pairs-node.js";
import { runTraining } from "../../src/train/run-node.js";
import { captureStdio } from "../cli/capture.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-distill-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => T.setDefaultRuntime(nodeOrt));

const io = captureStdio();
const quiet = { progress: { write: () => true, isTTY: false } };
const data = (loadDataset("moons", { seed: 0 }) as { data: Float32Array }).data;
const BASE: Partial<TrainConfig> = {
  dataset: "moons",
  preset: "mlp",
  model: { hidden_size: 64, num_layers: 3 },
  batchSize: 256,
  warmupSteps: 20,
  validSize: 0,
  logEvery: 50,
  checkpointEvery: 0,
  numSamples: 100,
  samplerSteps: 10,
  threads: 1,
};
const dir = (name: string) => path.join(root, name);

/** Mean distance from each of `pts` [n, 2] to its nearest moons point. */
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

/** `diffuse distill` flags -> the run (quiet), as the CLI builds it. */
async function distill(flags: string[], halt?: number) {
  const { parseFlags } = await import("../../src/cli/args.js");
  const { DISTILL_COMMAND } = await import("../../src/cli/distill.js");
  const partial = await distillSettings(parseFlags(DISTILL_COMMAND, flags).values);
  return runTraining(
    { ...partial, threads: 1, validSize: 0 },
    { ...quiet, ...(halt ? { haltAfter: halt } : {}) },
  );
}

async function samplesOf(model: string, steps: number, sampler?: string): Promise<Float32Array> {
  const pipe = await loadPipeline(model);
  const out = await pipe.generate({ steps, numSamples: 400, seed: 3, ...(sampler ? { sampler } : {}) });
  return out.values() as Float32Array;
}

describe("diffuse distill --method consistency", () => {
  beforeAll(async () => {
    await runTraining({ ...BASE, steps: 600, out: dir("vp-teacher"), lr: 2e-3 }, quiet);
  }, 300_000);

  it("distils a VP teacher into a 1-step student that samples from the CLI", async () => {
    const flags = [
      "--teacher",
      dir("vp-teacher"),
      "--method",
      "consistency",
      "--out",
      dir("cd"),
      "--steps",
      "300",
    ];
    const r = await distill([...flags, "--lr", "5e-4", "--batch-size", "256"]);
    expect(r.step).toBe(300);
    const index = JSON.parse(readFileSync(path.join(dir("cd"), "model_index.json"), "utf8"));
    expect(index._diffuse.consistency).toEqual({ numScales: 18, maxTimestep: 950, sigmaData: 0.5 });
    // The folder's default sampler is the VP consistency sampler: one evaluation per step.
    const pipe = await loadPipeline(dir("cd"));
    expect(pipe.defaultSampler).toBe("consistency");
    const one = await pipe.generate({ steps: 1, numSamples: 400, seed: 3 });
    expect(one.nfe).toBe(1);
    const d1 = meanNearest(one.values() as Float32Array);
    // Gaussian noise lies at 0.114 from the data; the student's one step at 0.074 when measured.
    const noise = meanNearest(normal(makeKey(5), 800));
    expect(d1).toBeLessThan(0.75 * noise);
    // The CLI: --sampler consistency --steps 2 works; --steps beyond the grid names the field.
    const out = path.join(root, "cd2.safetensors");
    const code = await main([
      "sample",
      "--model",
      dir("cd"),
      "--sampler",
      "consistency",
      "--steps",
      "2",
      "--num-samples",
      "8",
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(io.out.join("").trim().split("\n").pop()!).nfe).toBe(2);
    const bad = await main([
      "sample",
      "--model",
      dir("cd"),
      "--sampler",
      "consistency",
      "--steps",
      "18",
      "--out",
      out,
    ]);
    expect(bad).not.toBe(0);
    expect(io.err.join("")).toContain('"_diffuse.consistency.numScales" = 18');
    expect(io.err.join("")).toContain("steps: 18");
  }, 300_000);

  it("resumes bit-exactly", async () => {
    const flags = (out: string) => [
      "--teacher",
      dir("vp-teacher"),
      "--method",
      "consistency",
      "--out",
      out,
      "--steps",
      "12",
      "--checkpoint-every",
      "6",
    ];
    await distill(flags(dir("cd-full")));
    await distill(flags(dir("cd-cut")), 6);
    await distill([...flags(dir("cd-cut")), "--resume"]);
    const names = (await loadCheckpoint(dir("cd-full"))).state;
    const a = names.params;
    const b = (await loadCheckpoint(dir("cd-cut"))).state.params;
    for (const k of Object.keys(a)) expect(b[k]!.values()).toEqual(a[k]!.values());
  }, 120_000);

  it("refuses a flow teacher, a changed student and a changed prediction type, writing nothing", async () => {
    await runTraining({ ...BASE, objective: "flow", steps: 20, out: dir("flow-small") }, quiet);
    const cases: [string[], RegExp][] = [
      [
        ["--teacher", dir("flow-small"), "--method", "consistency"],
        /"_class_name" is FlowMatchEulerDiscreteScheduler/,
      ],
      [
        ["--teacher", dir("vp-teacher"), "--method", "reflow"],
        /"_class_name" is DDPMScheduler; reflow needs a flow/,
      ],
    ];
    for (const [flags, msg] of cases) {
      const out = dir(`bad-${cases.findIndex((c) => c[0] === flags)}`);
      await expect(distill([...flags, "--out", out, "--steps", "5"])).rejects.toThrow(msg);
      expect(existsSync(path.join(out, "checkpoint.safetensors"))).toBe(false);
      expect(existsSync(path.join(out, "log.jsonl"))).toBe(false);
    }
    const { parseFlags } = await import("../../src/cli/args.js");
    const { DISTILL_COMMAND } = await import("../../src/cli/distill.js");
    const base = await distillSettings(
      parseFlags(DISTILL_COMMAND, [
        "--teacher",
        dir("vp-teacher"),
        "--method",
        "consistency",
        "--out",
        dir("bad-m"),
      ]).values,
    );
    await expect(
      runTraining({ ...base, model: { hidden_size: 32 }, steps: 5, threads: 1 }, quiet),
    ).rejects.toThrow(/field "model.hidden_size" is 32 but the teacher's .* is 64/);
    await expect(
      runTraining({ ...base, predictionType: "v_prediction", steps: 5, threads: 1 }, quiet),
    ).rejects.toThrow(
      /field "predictionType" is "v_prediction" but the teacher's prediction_type .* is "epsilon"/,
    );
    expect(existsSync(path.join(dir("bad-m"), "checkpoint.safetensors"))).toBe(false);
  }, 120_000);
});

describe("diffuse distill --method reflow", () => {
  beforeAll(async () => {
    await runTraining({ ...BASE, objective: "flow", steps: 500, lr: 2e-3, out: dir("flow-teacher") }, quiet);
  }, 300_000);

  it("straightens the teacher's flow (straightness falls), then distils it to one step", async () => {
    const flags = [
      "--teacher",
      dir("flow-teacher"),
      "--method",
      "reflow",
      "--pairs",
      "2048",
      "--pair-steps",
      "50",
    ];
    await distill([
      ...flags,
      "--out",
      dir("reflow"),
      "--steps",
      "400",
      "--lr",
      "1e-3",
      "--batch-size",
      "256",
    ]);
    expect(
      readdirSync(path.join(dir("reflow"), "pairs")).filter((f) => f.endsWith(".safetensors")),
    ).toHaveLength(9);
    const straightness = async (model: string) => {
      const pipe = await loadPipeline(model);
      const fwd = compiledForward(pipe.denoiser, 1);
      const v = flowModelVelocity((x, t) => fwd(pipe.params, x, T.full([x.shape[0]!], t)));
      return (await flowStraightness(v, T.tensor(normal(makeKey(9), 800), [400, 2]), flowTimeGrid(50)))
        .straightness;
    };
    const before = await straightness(dir("flow-teacher"));
    const after = await straightness(dir("reflow"));
    expect(after).toBeLessThan(0.5 * before);
    // One Euler step of the reflowed model lands nearer the data than one of the teacher.
    const t1 = meanNearest(await samplesOf(dir("flow-teacher"), 1));
    const r1 = meanNearest(await samplesOf(dir("reflow"), 1));
    expect(r1).toBeLessThan(t1);
    // Stage 2 from the reflowed model: runs, and its folder samples with flow Euler.
    await distill([
      "--teacher",
      dir("reflow"),
      "--method",
      "reflow",
      "--stage",
      "2",
      "--pairs",
      "512",
      "--out",
      dir("reflow2"),
      "--steps",
      "50",
    ]);
    expect(meanNearest(await samplesOf(dir("reflow2"), 1))).toBeLessThan(
      meanNearest(normal(makeKey(5), 800)),
    );
  }, 300_000);

  it("samples flow folders with Euler, Heun and the adaptive ODE solver by name", async () => {
    const pipe = await loadPipeline(dir("flow-teacher"));
    const noise = meanNearest(normal(makeKey(5), 800));
    const heun = await pipe.generate({ sampler: "flow_heun", steps: 10, numSamples: 400, seed: 3 });
    expect(heun.nfe).toBe(19);
    const ode = await pipe.generate({ sampler: "flow_ode", numSamples: 400, seed: 3 });
    expect(ode.nfe).toBeGreaterThan(6);
    for (const out of [heun, ode])
      expect(meanNearest(out.values() as Float32Array)).toBeLessThan(0.5 * noise);
    const vp = await loadPipeline(dir("vp-teacher"));
    await expect(vp.generate({ sampler: "flow_heun", steps: 4, numSamples: 4 })).rejects.toThrow(
      /flow_heun: samples flow matching models, but this model was trained as a diffusion model/,
    );
  }, 120_000);

  it("a killed couplings generation resumes to the files of an unbroken one", async () => {
    const pipe = await loadPipeline(dir("flow-teacher"));
    const teacher = { denoiser: pipe.denoiser, params: pipe.params, numTrainTimesteps: 1000 };
    const spec: PairsSpec = {
      teacher: "t",
      pairs: 100,
      pairSteps: 5,
      chunk: 30,
      seed: 1,
      shape: [2],
      numClasses: 0,
    };
    await generateReflowPairs(dir("pairs-full"), spec, teacher);
    const stop = new AbortController();
    await generateReflowPairs(dir("pairs-cut"), spec, teacher, {
      onChunk: (done) => {
        if (done >= 60) stop.abort("SIGTERM");
      },
      signal: stop.signal,
    });
    expect(readdirSync(dir("pairs-cut")).filter((f) => f.endsWith(".safetensors"))).toHaveLength(2);
    await generateReflowPairs(dir("pairs-cut"), spec, teacher);
    const files = readdirSync(dir("pairs-full")).sort();
    expect(readdirSync(dir("pairs-cut")).sort()).toEqual(files);
    for (const f of files) {
      expect(readFileSync(path.join(dir("pairs-cut"), f))).toEqual(
        readFileSync(path.join(dir("pairs-full"), f)),
      );
    }
    await expect(generateReflowPairs(dir("pairs-full"), { ...spec, pairSteps: 6 }, teacher)).rejects.toThrow(
      /field "pairSteps" is 5 but this run asks for 6/,
    );
  }, 120_000);
});

describe("diffuse train --objective consistency", () => {
  it("trains a consistency model from scratch whose 1-step samples approach the data", async () => {
    const code = await main([
      "train",
      "--dataset",
      "moons",
      "--preset",
      "mlp",
      "--objective",
      "consistency",
      "--steps",
      "400",
      "--batch-size",
      "256",
      "--lr",
      "2e-3",
      "--valid-size",
      "0",
      "--checkpoint-every",
      "0",
      "--num-samples",
      "50",
      "--threads",
      "1",
      "--out",
      dir("ct"),
    ]);
    expect(code).toBe(0);
    const index = JSON.parse(readFileSync(path.join(dir("ct"), "model_index.json"), "utf8"));
    expect(index._diffuse.consistency.numScales).toBeGreaterThan(10);
    const d1 = meanNearest(await samplesOf(dir("ct"), 1, "consistency"));
    expect(d1).toBeLessThan(0.6 * meanNearest(normal(makeKey(5), 800)));
  }, 300_000);
});
