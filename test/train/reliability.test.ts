/**
 * Reliability of training and sampling (issue 17), in process on a tiny MLP over the moons points:
 * non-finite steps skip their update and stop a diverged run without writing NaN weights; NaN/Inf
 * weights are neither saved nor loaded, NaN samples fail; an aborted run checkpoints and resumes to
 * the uninterrupted result; resuming a finished run (a kill during the final save) leaves the log as
 * it was; bad settings fail before training; --out under /proc fails fast.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEval } from "../../src/cli/eval.js";
import { runSample } from "../../src/cli/sample.js";
import { trainSettings } from "../../src/cli/train.js";
import { loadDataset } from "../../src/data/registry.js";
import { makeDir } from "../../src/io/dirs.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/io/files.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { MLP_DENOISER_CLASS } from "../../src/models/mlp-denoiser.js";
import { savePretrained } from "../../src/models/pretrained-node.js";
import { findNonFinite, NonFiniteError } from "../../src/nn/finite.js";
import { nodeOrt } from "../../src/onnx/node.js";
import { generate } from "../../src/pipelines/generate.js";
import { loadModelFolder, saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { createSchedulerByName } from "../../src/pipelines/samplers.js";
import { makeKey } from "../../src/random/index.js";
import * as T from "../../src/tensor/index.js";
import { checkpointPath, loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint-node.js";
import {
  ConfigFieldError,
  checkTrainConfigFields,
  resolveTrainConfig,
  type TrainConfig,
} from "../../src/train/config.js";
import { denoiserFromSpec, getPreset, modelSpecFor } from "../../src/train/presets.js";
import { DivergedError, InterruptedError, readLog, runTraining } from "../../src/train/run-node.js";
import { initialState, schedulerConfigFor, Trainer } from "../../src/train/trainer.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-reliability-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => T.setDefaultRuntime(nodeOrt));

const RUN: Partial<TrainConfig> = {
  dataset: "moons",
  limit: 200,
  validSize: 16,
  preset: "mlp",
  model: { hidden_size: 32, num_layers: 2 },
  steps: 6,
  batchSize: 16,
  warmupSteps: 0,
  logEvery: 1,
  checkpointEvery: 2,
  numSamples: 16,
  sampler: "ddim",
  samplerSteps: 2,
  threads: 1,
};
const quiet = { progress: { write: () => true, isTTY: false } };
/** A progress sink that keeps what was written. */
const recorder = () => {
  const lines: string[] = [];
  return { lines, progress: { write: (s: string) => lines.push(s) > 0, isTTY: false } };
};
const withoutTime = (records: Record<string, number>[]) => records.map(({ time: _t, ...r }) => r);
const dir = (name: string) => path.join(root, name);

const MLP = { _class_name: MLP_DENOISER_CLASS, in_features: 2, hidden_size: 8, num_layers: 2 };

describe("non-finite training steps", () => {
  it("skip their update: parameters, Adam moments and EMA stay those before the step", async () => {
    const { config, preset } = resolveTrainConfig({ ...RUN, lr: 1e6 }, () => getPreset("mlp"));
    const denoiser = denoiserFromSpec(
      modelSpecFor(preset, { kind: "vector", dim: 2 }, undefined, config.model),
      makeKey(0),
    );
    const train = loadDataset("moons", { limit: 64, seed: 0 });
    const trainer = new Trainer(
      { config: { ...config, steps: 20 }, denoiser, train, valid: null, nullClass: null },
      initialState(denoiser.module.parameters(), 0),
    );
    let skipped = 0;
    for (let i = 0; i < 20 && skipped < 2; i++) {
      const before = trainer.snapshot();
      const rec = await trainer.trainOneStep();
      const after = trainer.snapshot();
      expect(after.step).toBe(before.step + 1);
      if (!rec.skipped) {
        expect(Number.isFinite(rec.loss) && Number.isFinite(rec.gradNorm)).toBe(true);
        continue;
      }
      skipped++;
      expect(Number.isFinite(rec.loss) && Number.isFinite(rec.gradNorm)).toBe(false);
      expect(after.params).toBe(before.params);
      expect(after.optState).toBe(before.optState);
      expect(after.ema).toBe(before.ema);
    }
    expect(skipped).toBe(2); // lr 1e6 diverges within a few steps
  });

  it("--lr 1e6 stops with a DivergedError naming the step, and never writes NaN weights", async () => {
    const out = dir("lr1e6");
    const err = await runTraining({ ...RUN, lr: 1e6, steps: 30, out }, quiet).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DivergedError);
    expect((err as Error).message).toMatch(/training diverged at step \d+: 3 consecutive steps/);
    expect((err as Error).message).toMatch(/--max-bad-steps 3/);
    expect(existsSync(path.join(out, "unet"))).toBe(false);
    const skipped = (await readLog(out)).filter((r) => r.skipped === 1);
    expect(skipped.length).toBe(3);
    expect(skipped.every((r) => r.loss === null || r.gradNorm === null)).toBe(true);
    if (existsSync(checkpointPath(out))) {
      const { state } = await loadCheckpoint(out);
      for (const [g, tree] of Object.entries({ params: state.params, ema: state.ema.params })) {
        expect(findNonFinite(tree, g)).toBeNull();
      }
      expect(state.step).toBeLessThan(skipped[0]!.step!); // the last GOOD checkpoint
    }
  });

  it("--max-bad-steps 0 skips them all and never stops on them", async () => {
    const out = dir("no-limit");
    const r = await runTraining({ ...RUN, lr: 1e6, steps: 8, maxBadSteps: 0, out }, quiet).catch(
      (e: Error) => e,
    );
    // The run reaches its end; its (finite but huge) weights may still sample to NaN, which fails.
    if (r instanceof Error) expect(r).toBeInstanceOf(NonFiniteError);
    expect((await readLog(out)).filter((x) => x.loss !== undefined).length).toBe(8);
  });
});

describe("non-finite weights and samples", () => {
  const nanParams = () => {
    const d = denoiserFromConfig(MLP, makeKey(1));
    const params = { ...d.module.parameters() };
    const name = Object.keys(params)[1]!;
    const v = Float32Array.from(params[name]!.values() as Float32Array);
    v[3] = Number.NaN;
    params[name] = T.tensor(v, params[name]!.shape);
    return { d, params, name };
  };

  it("are refused by savePretrained and saveCheckpoint before anything is written", async () => {
    const { d, params, name } = nanParams();
    const out = dir("nan-save");
    await expect(savePretrained(d.module as never, params, path.join(out, "unet"))).rejects.toThrow(
      new RegExp(`tensor "${name}" holds 1 non-finite value .*NaN at element 3`),
    );
    expect(existsSync(path.join(out, "unet", "diffusion_pytorch_model.safetensors"))).toBe(false);
    const { config } = resolveTrainConfig(RUN, () => getPreset("mlp"));
    const state = initialState(params, 0);
    await expect(saveCheckpoint(out, state, { config, model: MLP, elapsed: 0 })).rejects.toThrow(
      new RegExp(`not written: tensor "params.${name}"`),
    );
    expect(existsSync(checkpointPath(out))).toBe(false);
  });

  it("fail to load, naming the file and the tensor", async () => {
    const d = denoiserFromConfig(MLP, makeKey(1));
    const out = dir("nan-load");
    await saveModelFolder(out, d, d.module.parameters(), schedulerConfigFor(RUN as TrainConfig, false), {});
    const file = path.join(out, "unet", "diffusion_pytorch_model.safetensors");
    const { tensors, metadata } = await readSafetensorsFile(file);
    const [name, t] = [...tensors][0]!;
    const data = Float32Array.from(t.data as Float32Array);
    data[0] = Number.POSITIVE_INFINITY;
    await writeSafetensorsFile(file, Object.fromEntries([...tensors, [name, { ...t, data }]]), metadata);
    await expect(loadModelFolder(out)).rejects.toThrow(
      new RegExp(
        `diffusion_pytorch_model.safetensors: tensor "${name.replace(/\./g, "\\.")}" holds 1 non-finite value .*Infinity`,
      ),
    );
  });

  it("sampling that produces NaN fails instead of returning it", async () => {
    const { d, params } = nanParams();
    const scheduler = createSchedulerByName("ddim", {
      ...schedulerConfigFor({ ...RUN, numTrainTimesteps: 100, betaSchedule: "linear" } as TrainConfig, false),
    });
    await expect(
      generate({ denoiser: d, params, scheduler, steps: 2, numSamples: 4, seed: 0, threads: 1 }),
    ).rejects.toThrow(/sampling \(2 steps\) produced non-finite values in 4 of 4 samples/);
  });
});

describe("interrupts and the final save", () => {
  const uninterrupted = dir("ref");
  beforeAll(async () => {
    await runTraining({ ...RUN, out: uninterrupted }, quiet);
  }, 60_000);

  it("an aborted run checkpoints at the step boundary, says how to resume, and resumes identically", async () => {
    const out = dir("aborted");
    const controller = new AbortController();
    const sink = {
      write: (s: string) => {
        if (/^step\s+3\//.test(s)) controller.abort("SIGTERM");
        return true;
      },
      isTTY: false,
    };
    const err = await runTraining({ ...RUN, out }, { progress: sink, signal: controller.signal }).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).toBe(143);
    expect((err as Error).message).toBe(
      `SIGTERM at step 3 of 6: checkpoint written to ${checkpointPath(out)}; resume with: diffuse train --out ${out} --resume`,
    );
    expect((await loadCheckpoint(out)).state.step).toBe(3);
    await runTraining({ ...RUN, out, resume: true }, quiet);
    expect(withoutTime(await readLog(out))).toEqual(withoutTime(await readLog(uninterrupted)));
    const weights = "unet/diffusion_pytorch_model.safetensors";
    expect(
      readFileSync(path.join(out, weights)).equals(readFileSync(path.join(uninterrupted, weights))),
    ).toBe(true);
  });

  it("a checkpoint holding NaN is refused on load, naming the tensor", async () => {
    const copy = dir("nan-checkpoint");
    mkdirSync(copy);
    const { tensors, metadata } = await readSafetensorsFile(checkpointPath(uninterrupted));
    const [name, t] = [...tensors].find(([n]) => n.startsWith("adam_v."))!;
    const data = Float32Array.from(t.data as Float32Array);
    data[2] = Number.NaN;
    await writeSafetensorsFile(
      checkpointPath(copy),
      Object.fromEntries([...tensors, [name, { ...t, data }]]),
      metadata,
    );
    await expect(loadCheckpoint(copy)).rejects.toThrow(`tensor "${name}" holds 1 non-finite value`);
  });

  it("resuming a finished run (killed during its final save) leaves one final validation line", async () => {
    const before = withoutTime(await readLog(uninterrupted));
    expect(before.filter((r) => r.validLoss !== undefined).length).toBe(1);
    await runTraining({ ...RUN, out: uninterrupted, resume: true }, quiet);
    expect(withoutTime(await readLog(uninterrupted))).toEqual(before);
  });

  it("the printed resume command works for a run that is not the default one (no --dataset given)", async () => {
    const out = dir("resume-cli");
    await runTraining({ ...RUN, out }, { ...quiet, haltAfter: 2 });
    // `diffuse train --out DIR --resume`, as the interrupt message says: the checkpoint's settings,
    // not the built-in MNIST default run's.
    const { partial } = await trainSettings({ out, resume: true });
    expect(partial.dataset).toBeUndefined();
    await runTraining(partial, quiet);
    expect(withoutTime(await readLog(out))).toEqual(withoutTime(await readLog(uninterrupted)));
  });

  it("--resume with --steps below the checkpoint's step fails and changes nothing", async () => {
    const before = readFileSync(path.join(uninterrupted, "log.jsonl"));
    await expect(runTraining({ ...RUN, steps: 4, out: uninterrupted, resume: true }, quiet)).rejects.toThrow(
      `the checkpoint in ${uninterrupted} is at step 6, past --steps 4`,
    );
    expect(readFileSync(path.join(uninterrupted, "log.jsonl")).equals(before)).toBe(true);
  });

  it("--resume without a checkpoint says it starts fresh", async () => {
    const out = dir("fresh");
    const rec = recorder();
    await runTraining({ ...RUN, out, resume: true }, { progress: rec.progress, haltAfter: 1 });
    expect(rec.lines.join("")).toContain(`no checkpoint in ${out}: starting fresh`);
  });
});

describe("settings checked before work starts", () => {
  it("sampler steps beyond the training timesteps", async () => {
    const out = dir("steps-vs-t");
    await expect(
      runTraining({ ...RUN, numTrainTimesteps: 10, samplerSteps: 50, out }, quiet),
    ).rejects.toThrow(
      /field "samplerSteps" is 50 but "numTrainTimesteps" is 10; expected samplerSteps <= numTrainTimesteps/,
    );
    expect(existsSync(path.join(out, "log.jsonl"))).toBe(false); // nothing was trained
  });

  it("--huber-c 0", async () => {
    expect(() => checkTrainConfigFields({ huberC: 0 })).toThrow(ConfigFieldError);
    await expect(trainSettings({ dataset: "moons", huberC: 0 })).rejects.toThrow(
      /field "huberC" is 0; expected a finite number > 0/,
    );
  });

  it("a nullClass in model_index.json that is not an integer or out of range", async () => {
    const d = denoiserFromConfig({ ...MLP, num_class_embeds: 3 }, makeKey(1));
    const sched = schedulerConfigFor(RUN as TrainConfig, false);
    for (const [nullClass, ok] of [
      ["x", false],
      [3, false],
      [-1, false],
      [1.5, false],
      [2, true],
    ] as const) {
      const out = dir(`null-${nullClass}`);
      await saveModelFolder(out, d, d.module.parameters(), sched, { numClasses: 2, nullClass } as never);
      const load = loadModelFolder(out);
      if (ok) await expect(load).resolves.toMatchObject({ info: { nullClass } });
      else
        await expect(load).rejects.toThrow(
          `field "_diffuse.nullClass" is ${JSON.stringify(nullClass)}; expected an integer in [0, 2]`,
        );
    }
  });
});

describe("paths", () => {
  const proc = existsSync("/proc/self");
  it.skipIf(!proc)(
    "--out under /proc fails fast with a named error (recursive mkdir never returns there)",
    async () => {
      await expect(makeDir("/proc/diffuse-no-such/run", "--out")).rejects.toThrow(
        /--out \/proc\/diffuse-no-such\/run: cannot create \/proc\/diffuse-no-such \(ENOENT\)/,
      );
      await expect(runTraining({ ...RUN, out: "/proc/diffuse-no-such/run" }, quiet)).rejects.toThrow(
        /DirectoryError|cannot create/,
      );
      await expect(
        runSample({
          model: dir("ref"),
          sampler: "ddim",
          steps: 2,
          seed: 0,
          out: "/proc/diffuse-no-such/s.png",
          threads: 1,
        }),
      ).rejects.toThrow(/--out \/proc\/diffuse-no-such: cannot create/);
    },
    10_000,
  );

  it("makeDir creates nested folders and refuses a file in the way", async () => {
    const nested = dir("a/b/c");
    await makeDir(nested);
    expect(existsSync(nested)).toBe(true);
    await makeDir(nested); // exists: fine
    writeFileSync(dir("file"), "x");
    await expect(makeDir(path.join(dir("file"), "sub"), "--out")).rejects.toThrow(/is not a directory/);
  });

  it("eval --model on an unloadable model leaves no temporary directory", async () => {
    const bad = dir("bad-model");
    mkdirSync(bad, { recursive: true });
    writeFileSync(path.join(bad, "config.json"), "{}");
    const tmp = dir("tmp-eval");
    mkdirSync(tmp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await expect(runEval({ model: bad, dataset: "mnist", numSamples: 4 })).rejects.toThrow();
    } finally {
      process.env.TMPDIR = saved;
    }
    expect(readdirSync(tmp)).toEqual([]);
  });
});
