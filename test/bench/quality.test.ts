/**
 * bench:quality on a tiny U-Net: the flags, the training budget (timed steps -> step count), the NFE
 * per sampler (Heun: 2n - 1), the reduced DDPM rows and the files it writes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, parseSamplers, type QualityResult, runQualityBench } from "../../bench/quality.js";
import {
  type ConfigRow,
  configTraining,
  formatConfigTable,
  TABLE_BEGIN,
  TABLE_END,
} from "../../bench/quality-configs.js";
import { readSafetensorsFile } from "../../src/io/files.js";
import { PIPELINE_DEFAULTS } from "../../src/pipelines/pipeline.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-quality-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY_UNET = {
  block_out_channels: [8, 16],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  norm_num_groups: 4,
  attention_head_dim: 8,
  layers_per_block: 1,
};

describe("flags", () => {
  it("parses sampler lists and rejects bad entries by name", () => {
    expect(parseSamplers("ddim:50, heun:10")).toEqual([
      { name: "ddim", steps: 50 },
      { name: "heun", steps: 10 },
    ]);
    expect(() => parseSamplers("ddim")).toThrow(/"ddim"; expected NAME:STEPS/);
    expect(() => parseSamplers("plms:10")).toThrow(/unknown sampler "plms"/);
    expect(() => parseSamplers("ddim:0")).toThrow(/positive integer, got 0/);
  });

  it("reads the numbers and refuses training flags with --model", () => {
    const o = parseCli([
      "--model",
      "m",
      "--num-samples",
      "64",
      "--ddpm-samples",
      "8",
      "--samplers",
      "euler:20",
    ]);
    expect(o).toEqual({
      model: "m",
      numSamples: 64,
      ddpmSamples: 8,
      samplers: [{ name: "euler", steps: 20 }],
    });
    expect(() => parseCli(["--model", "m", "--minutes", "5"])).toThrow(/--minutes: only without --model/);
    expect(() => parseCli(["--ref-count", "many"])).toThrow(/--ref-count: expected a non-negative number/);
  });
});

describe("train for a budget, then sample and measure", () => {
  let result: QualityResult;
  const out = path.join(root, "q");
  const lines: string[] = [];

  beforeAll(async () => {
    result = await runQualityBench({
      minutes: 0.001,
      classConditional: true,
      train: {
        model: TINY_UNET,
        limit: 64,
        batchSize: 8,
        validSize: 8,
        numSamples: 10,
        samplerSteps: 2,
        threads: 1,
      },
      numSamples: 12,
      ddpmSamples: 6,
      refCount: 40,
      batchSize: 8,
      samplers: parseSamplers("ddpm:3,ddim:2,heun:2"),
      threads: 1,
      out,
      log: (s) => lines.push(s),
    });
  });

  it("trains the step count of the budget (at least 10) and samples that model", () => {
    expect(result.training!.steps).toBe(10);
    expect(result.training!.secondsPerStep).toBeGreaterThan(0);
    expect(result.modelSteps).toBe(10);
    expect(result.classConditional).toBe(true);
  });

  it("counts network evaluations: one per step, two per Heun step but the last", () => {
    expect(result.rows.map((r) => [r.name, r.steps, r.nfe])).toEqual([
      ["ddpm", 3, 3],
      ["ddim", 2, 2],
      ["heun", 2, 3],
    ]);
  });

  it("uses --ddpm-samples for DDPM only and marks it", () => {
    expect(result.rows.map((r) => [r.samples, r.reduced])).toEqual([
      [6, true],
      [12, false],
      [12, false],
    ]);
    const md = readFileSync(path.join(out, "quality.md"), "utf8");
    expect(md).toMatch(/\| DDPM \| 3 \| 3 \| 6\\\* \|/);
    expect(md).toMatch(/\| Heun \| 2 \| 3 \| 12 \|/);
  });

  it("writes finite metrics to quality.json and one progress line per configuration", () => {
    const json = JSON.parse(readFileSync(path.join(out, "quality.json"), "utf8")) as QualityResult;
    expect(json.referenceCount).toBe(40);
    for (const r of json.rows) {
      for (const v of [r.fid, r.kid, r.kidStderr, r.precision, r.recall])
        expect(Number.isFinite(v)).toBe(true);
      expect(r.report.accuracy).toBeDefined();
    }
    expect(lines.filter((l) => /^\[\d\/3\] /.test(l))).toHaveLength(3);
    expect(existsSync(path.join(out, "model", "model_index.json"))).toBe(true);
  });
});

describe("--config: a named lever, its row in the JSON and the README table", () => {
  const out = path.join(root, "cfg");
  const rowsFile = path.join(root, "rows.json");
  const readme = path.join(root, "README.md");
  let result: QualityResult;

  beforeAll(async () => {
    writeFileSync(readme, `# x\n\nbefore\n${TABLE_BEGIN}\nold table\n${TABLE_END}\nafter\n`);
    result = await runQualityBench({
      config: "lr-2e-3",
      trainSteps: 4,
      weights: "raw",
      train: {
        model: TINY_UNET,
        limit: 64,
        batchSize: 8,
        validSize: 8,
        numSamples: 10,
        samplerSteps: 2,
        threads: 1,
      },
      numSamples: 6,
      refCount: 40,
      threads: 1,
      out,
      rowsFile,
      readme,
      log: () => undefined,
    });
  });

  it("trains the default run with the lever changed and evaluates at the CLI's defaults", () => {
    const t = configTraining("lr-2e-3");
    expect(t).toMatchObject({ lr: 2e-3, preset: "unet28-cond", classConditional: true, batchSize: 32 });
    expect(configTraining("baseline").lr).toBeUndefined(); // the preset's own
    expect(result.rows.map((r) => [r.name, r.steps])).toEqual([["dpmsolver++", 20]]);
    expect(result.guidanceScale).toBe(PIPELINE_DEFAULTS.guidanceScale);
    expect(() => parseCli(["--config", "nope"])).toThrow(
      /--config: unknown configuration "nope"; expected one of baseline/,
    );
    expect(() => parseCli(["--weights", "best"])).toThrow(/--weights: expected ema or raw/);
  });

  it("appends one row to the JSON and rewrites only the README's table", () => {
    const rows = JSON.parse(readFileSync(rowsFile, "utf8")) as ConfigRow[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      config: "lr-2e-3",
      steps: 4,
      weights: "raw",
      samples: 6,
      guidanceScale: PIPELINE_DEFAULTS.guidanceScale,
    });
    for (const v of [rows[0]!.fid, rows[0]!.precision, rows[0]!.recall, rows[0]!.accuracy!, rows[0]!.minutes])
      expect(Number.isFinite(v)).toBe(true);
    const text = readFileSync(readme, "utf8");
    expect(text).not.toContain("old table");
    expect(text).toMatch(
      /before\n<!-- quality-configs:begin -->\n\| config \|[\s\S]*\n\| lr-2e-3 \| learning rate 2e-3 \| 4 \|[\s\S]*<!-- quality-configs:end -->\nafter\n$/,
    );
    expect(formatConfigTable(rows).split("\n")).toHaveLength(3);
    expect(rows[0]!.seed).toBe(0);
  });

  it("--weights raw evaluates the checkpoint's raw parameters, not the EMA", async () => {
    const ema = await readSafetensorsFile(
      path.join(out, "model", "unet", "diffusion_pytorch_model.safetensors"),
    );
    const raw = await readSafetensorsFile(
      path.join(out, "model-raw", "unet", "diffusion_pytorch_model.safetensors"),
    );
    const ck = await readSafetensorsFile(path.join(out, "model", "checkpoint.safetensors"));
    expect([...raw.tensors.keys()].sort()).toEqual([...ema.tensors.keys()].sort());
    const name = "conv_in.weight";
    expect([...raw.tensors.get(name)!.data]).toEqual([...ck.tensors.get(`params.${name}`)!.data]);
    expect([...raw.tensors.get(name)!.data]).not.toEqual([...ema.tensors.get(name)!.data]);
  });

  it("a sampling lever evaluates an existing run with its sampler, guidance interval and rescale", async () => {
    const evalOnly = (config: string) =>
      runQualityBench({
        config,
        model: path.join(out, "model"),
        numSamples: 6,
        refCount: 40,
        threads: 1,
        out: path.join(root, `lever-${config}`),
        rowsFile: path.join(root, "lever-rows.json"),
        readme,
        log: () => undefined,
      });
    const plain = await evalOnly("guidance-3");
    const interval = await evalOnly("interval-3-high");
    const rescaled = await evalOnly("rescale-0.7");
    const unipc = await evalOnly("unipc-20");
    expect(unipc.rows.map((r) => [r.name, r.steps])).toEqual([["unipc", 20]]);
    expect([plain.guidanceScale, interval.guidanceScale, rescaled.guidanceScale]).toEqual([3, 3, 3]);
    // Same noise, same w: only the interval (or the rescale) changes the samples, hence the metrics.
    expect(interval.rows[0]!.fid).not.toBe(plain.rows[0]!.fid);
    expect(rescaled.rows[0]!.fid).not.toBe(plain.rows[0]!.fid);
    const rows = JSON.parse(readFileSync(path.join(root, "lever-rows.json"), "utf8")) as ConfigRow[];
    expect(rows.map((r) => r.config)).toEqual(["guidance-3", "interval-3-high", "rescale-0.7", "unipc-20"]);
  });
});
