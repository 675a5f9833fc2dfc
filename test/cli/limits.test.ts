/**
 * Resource bounds at the command line (issue 17): configs and flags far beyond the machine are refused
 * fast, before anything is allocated, with a named error holding the estimate. Before these bounds,
 * `layers_per_block: 1000000` ran V8 out of heap after ~100 s, `sample_size: 1e9`, `--num-samples 1e8`
 * and a scheduler with T = 1e9 gave raw RangeErrors (or hung), and `--threads 100000` was accepted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { parseMemorySize } from "../../src/models/resources-node.js";
import { saveModelFolder } from "../../src/pipelines/model-folder-node.js";

const root = mkdtempSync(path.join(tmpdir(), "diffuse-limits-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const unet = {
  _class_name: "UNet2DModel",
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8, 8],
  down_block_types: ["DownBlock2D", "DownBlock2D"],
  up_block_types: ["UpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  attention_head_dim: 4,
};

/** A pipeline folder with a tiny U-Net, then `edit` applied to its JSON files. */
async function modelFolder(
  name: string,
  edit: { unet?: Record<string, unknown>; scheduler?: Record<string, unknown> } = {},
): Promise<string> {
  const dir = path.join(root, name);
  const d = denoiserFromConfig(unet);
  await saveModelFolder(
    dir,
    d,
    d.module.parameters(),
    { _class_name: "DDPMScheduler" },
    { dataKind: "image" },
  );
  for (const [part, file] of [
    ["unet", "unet/config.json"],
    ["scheduler", "scheduler/scheduler_config.json"],
  ] as const) {
    const changes = edit[part];
    if (!changes) continue;
    const p = path.join(dir, file);
    writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, "utf8")), ...changes }));
  }
  return dir;
}

let err: string[];
beforeEach(() => {
  err = [];
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation((s: unknown) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** Runs the CLI; returns [exit code, stderr, seconds]. */
async function run(argv: string[]): Promise<[number, string, number]> {
  const t0 = performance.now();
  const code = await main(argv);
  return [code, err.join(""), (performance.now() - t0) / 1000];
}

let plain: string;
beforeAll(async () => {
  plain = await modelFolder("plain");
});

describe("model configs beyond the memory limit are refused before anything is built", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["layers_per_block: 1000000", { layers_per_block: 1_000_000 }, /describes about .* layers; the limit is/],
    [
      "sample_size: 1e9",
      { sample_size: 1e9 },
      /inference of this UNet2DModel needs about .* above the memory limit/,
    ],
    [
      "block_out_channels of 1e5",
      { block_out_channels: [100000, 100000], norm_num_groups: 32 },
      /needs about .*TB \(\d\.\d+e\+\d+ parameters/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    it(name, async () => {
      const dir = await modelFolder(name.replace(/\W+/g, "-"), { unet: edit });
      const [code, stderr, seconds] = await run([
        "sample",
        "--model",
        dir,
        "--out",
        path.join(root, "x.png"),
      ]);
      expect(code).toBe(1);
      expect(stderr).toContain(`ResourceError: ${path.join(dir, "unet", "config.json")}: `);
      expect(stderr).toMatch(message);
      expect(seconds).toBeLessThan(10);
    });
  }
});

describe("sampling", () => {
  it("--num-samples 100000000 into a PNG grid is refused with the grid's size (a RangeError before)", async () => {
    const [code, stderr] = await run([
      ...["sample", "--model", plain, "--num-samples", "100000000", "--out", path.join(root, "y.png")],
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /ResourceError: sampling 100000000 samples from .*: the PNG grid of 100000000 images needs about .* GB, above the memory limit of .*; write \.safetensors/,
    );
  });

  it("--max-memory lowers the budget; a bad size is a usage error", async () => {
    const [code, stderr] = await run([
      ...["sample", "--model", plain, "--num-samples", "64", "--max-memory", "1M"],
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/batch of 64: .* above the memory limit of 1\.00 MB/);
    const [code2, stderr2] = await run(["sample", "--model", plain, "--max-memory", "lots"]);
    expect(code2).toBe(2);
    expect(stderr2).toMatch(/UsageError: --max-memory: expected a size such as 8G/);
    expect(parseMemorySize("1.5G")).toBe(1.5e9);
    expect(parseMemorySize("512MB")).toBe(512e6);
    expect(parseMemorySize("0")).toBeNull();
  });

  it("a scheduler config with num_train_timesteps 1e9: a named error naming the file and the field", async () => {
    const dir = await modelFolder("big-T", { scheduler: { num_train_timesteps: 1e9 } });
    const [code, stderr, seconds] = await run(["sample", "--model", dir, "--out", path.join(root, "z.png")]);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `InputError: ${path.join(dir, "scheduler", "scheduler_config.json")}: num_train_timesteps 1000000000 is not an integer in [1, 1000000]`,
    );
    expect(seconds).toBeLessThan(10);
  });
});

describe("--threads is bounded by the cores unless --force-threads", () => {
  const cores = cpus().length;
  it("sample --threads 100000 is a usage error naming the core count", async () => {
    const [code, stderr] = await run(["sample", "--model", plain, "--threads", "100000"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--threads: 100000 threads is more than this machine's \d+ cores/);
    const [code2, stderr2] = await run([
      "sample",
      "--model",
      plain,
      "--threads",
      "100000",
      "--force-threads",
    ]);
    expect(code2).toBe(2);
    expect(stderr2).toMatch(/hard limit of 1024/);
  });

  it("train --threads above the cores is refused before training; eval too", async () => {
    const over = String(cores + 1);
    const [code, stderr] = await run(["train", "--dataset", "moons", "--steps", "1", "--threads", over]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--threads: .* more than this machine's/);
    const [code2] = await run([
      "eval",
      "--samples",
      "s.safetensors",
      "--dataset",
      "mnist",
      "--threads",
      over,
    ]);
    expect(code2).toBe(2);
  });
});

describe("training refuses a model or batch beyond the budget before building it", () => {
  it("--model with 1e7 layers or a huge hidden size", async () => {
    const out = path.join(root, "run");
    const base = ["train", "--dataset", "moons", "--steps", "1", "--out", out];
    const [code, stderr, seconds] = await run([...base, "--model", '{"num_layers":10000000}']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/ResourceError: MLPDenoiser config describes about .* layers/);
    const [code2, stderr2] = await run([...base, "--overwrite", "--model", '{"hidden_size":1000000}']);
    expect(code2).toBe(1);
    expect(stderr2).toMatch(
      /ResourceError: training with batch size \d+: training of this MLPDenoiser needs about/,
    );
    expect(seconds).toBeLessThan(30);
  });
});
