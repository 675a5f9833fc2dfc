/**
 * Fuzz targets: every parser that reads user files, each with a generator of inputs (mutations of
 * valid files: byte flips, truncation, insertions, header edits; and structured generators: JSON with
 * wrong types and huge numbers, PNG chunks with valid CRCs, safetensors headers). The property: each
 * input either parses or throws the project's named error (`InputError`, naming the file for
 * file-level readers); never a RangeError/TypeError, a hang or a crash.
 *
 * Used by test/fuzz/parsers.test.ts (about 15,000 cases in CI) and scripts/fuzz.ts (`npm run fuzz
 * -- --runs N`, nightly-style).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { encode as encodeJpeg } from "jpeg-js";
import { csvTable } from "../../src/data/csv.js";
import { decodeImageBytes } from "../../src/data/folder.js";
import { parseIdx } from "../../src/data/idx.js";
import { createScheduler, SCHEDULER_NAMES } from "../../src/diffusion/registry.js";
import { InputError } from "../../src/io/input-error.js";
import { decodeJpeg } from "../../src/io/jpeg.js";
import { decodePng, encodePng } from "../../src/io/png.js";
import { parseSafetensors, type StTensor, serializeSafetensors } from "../../src/io/safetensors.js";
import { AutoencoderKL } from "../../src/models/autoencoder-kl.js";
import { denoiserFromConfig } from "../../src/models/denoiser.js";
import { checkMemory, estimateModel } from "../../src/models/estimate.js";
import { loadModelFolder, saveModelFolder } from "../../src/pipelines/model-folder-node.js";
import { createSchedulerByName, SCHEDULER_SAMPLER_NAMES } from "../../src/pipelines/samplers.js";
import { checkpointPath, loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint-node.js";
import { initialState } from "../../src/train/trainer.js";
import { csvText, editedObject, mutated, structuredPng, structuredSafetensors } from "./generators.js";

/** A parser under test: inputs from `input`, `run` parses one (sync or async). */
export interface FuzzTarget<I = unknown> {
  name: string;
  input: fc.Arbitrary<I>;
  run: (input: I) => unknown;
  /** For file-level readers: the path an InputError must name. */
  file?: (input: I) => string;
}

/** What a target threw, judged: null when acceptable (no error, or the named error). */
export function judge(target: FuzzTarget, input: unknown, error: unknown): string | null {
  if (error === undefined) return null;
  if (!(error instanceof InputError)) {
    const e = error as Error;
    return `${e?.name ?? typeof error}: ${e?.message ?? String(error)}`;
  }
  const file = target.file?.(input);
  if (file !== undefined && !error.message.includes(file)) {
    return `${error.name} does not name the file ${file}: ${error.message}`;
  }
  if (error.message.length === 0) return `${error.name} with an empty message`;
  return null;
}

/** Runs one case; returns null (fine) or a description of the crash. */
export async function runCase(target: FuzzTarget, input: unknown): Promise<string | null> {
  let error: unknown;
  try {
    await target.run(input);
  } catch (e) {
    error = e;
  }
  return judge(target, input, error);
}

// ---------------------------------------------------------------------------------------------------
// Seeds

const TINY_UNET = {
  _class_name: "UNet2DModel",
  sample_size: 8,
  in_channels: 1,
  out_channels: 1,
  block_out_channels: [8, 8],
  down_block_types: ["DownBlock2D", "AttnDownBlock2D"],
  up_block_types: ["AttnUpBlock2D", "UpBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  attention_head_dim: 4,
  num_class_embeds: 3,
};
const TINY_VAE = {
  _class_name: "AutoencoderKL",
  block_out_channels: [8, 8],
  down_block_types: ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
  up_block_types: ["AttnUpDecoderBlock2D", "UpDecoderBlock2D"],
  layers_per_block: 1,
  norm_num_groups: 4,
  latent_channels: 2,
  sample_size: 8,
};
const TINY_MLP = {
  _class_name: "MLPDenoiser",
  in_features: 2,
  hidden_size: 8,
  num_layers: 2,
  num_class_embeds: 4,
};
const SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "squaredcos_cap_v2",
  prediction_type: "epsilon",
  clip_sample: true,
  timestep_spacing: "leading",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};
const MODEL_INDEX = {
  _class_name: "DDPMPipeline",
  _diffusers_version: "0.30.3",
  _diffuse: { numClasses: 3, nullClass: 3, dataKind: "points", dataset: "moons" },
  scheduler: ["diffusers", "DDPMScheduler"],
  unet: ["diffuse", "MLPDenoiser"],
};

function safetensorsSeeds(): Uint8Array[] {
  const f32 = (shape: number[]): StTensor => ({
    dtype: "F32",
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 7),
  });
  return [
    serializeSafetensors({ w: f32([2, 3]), b: f32([3]) }, { format: "pt" }),
    serializeSafetensors({
      a: { dtype: "I64", shape: [2], data: BigInt64Array.from([1n, -2n]) },
      h: { dtype: "BF16", shape: [1, 2], data: Uint16Array.from([0x3f80, 0xc000]) },
      u: { dtype: "U8", shape: [3], data: Uint8Array.from([1, 2, 3]) },
      s: f32([]),
      z: f32([0, 4]),
    }),
  ];
}

function pngSeeds(): Uint8Array[] {
  const image = (w: number, h: number, c: 1 | 2 | 3 | 4) => ({
    width: w,
    height: h,
    channels: c,
    data: Uint8Array.from({ length: w * h * c }, (_, i) => (i * 37) & 0xff),
  });
  return [
    encodePng(image(3, 2, 1)),
    encodePng(image(4, 4, 3)),
    encodePng(image(5, 3, 4)),
    encodePng(image(2, 2, 2)),
  ];
}

function jpegSeeds(): Uint8Array[] {
  const rgba = (w: number, h: number) => Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 53) & 0xff);
  return [
    Uint8Array.from(encodeJpeg({ width: 8, height: 8, data: rgba(8, 8) }, 90).data),
    Uint8Array.from(encodeJpeg({ width: 17, height: 9, data: rgba(17, 9) }, 50).data),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Targets

const LIMIT = { batch: 1, workload: "inference" as const, limitBytes: 2e9 };

/** The model-config pipeline a config.json goes through: estimate, memory check, build. */
function buildModel(config: unknown): void {
  checkMemory(estimateModel(config), LIMIT);
  const name = (config as { _class_name?: unknown })._class_name;
  if (name === "AutoencoderKL") new AutoencoderKL(config).parameterSpecs();
  else denoiserFromConfig(config as Record<string, unknown>).module.parameterSpecs();
}

let scratch: string | undefined;
/** A fresh directory under one temporary root per process. */
function tempDir(name: string): string {
  scratch ??= mkdtempSync(path.join(tmpdir(), "diffuse-fuzz-"));
  const dir = mkdtempSync(path.join(scratch, `${name}-`));
  return dir;
}

/** The temporary root (remove it when done). */
export function scratchRoot(): string | undefined {
  return scratch;
}

export async function makeTargets(): Promise<FuzzTarget[]> {
  const st = safetensorsSeeds();
  const png = pngSeeds();
  const jpeg = jpegSeeds();
  const idx = [Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])];

  // A model folder and a checkpoint of a tiny MLP, written once; each case rewrites one file.
  const mlp = denoiserFromConfig(TINY_MLP);
  const params = mlp.module.parameters();
  const folderBase = tempDir("folder");
  await saveModelFolder(folderBase, mlp, params, SCHEDULER, MODEL_INDEX._diffuse as never);
  const { readFileSync } = await import("node:fs");
  const weights = readFileSync(path.join(folderBase, "unet", "diffusion_pytorch_model.safetensors"));
  const ckptBase = tempDir("ckpt");
  await saveCheckpoint(ckptBase, initialState(params, 1), {
    config: { dataset: "moons", steps: 10 } as never,
    model: mlp.toConfig(),
    elapsed: 1,
  });
  const ckptBytes = readFileSync(checkpointPath(ckptBase));
  const names = mlp.module.parameterSpecs().map((s) => s.name);
  const meta = JSON.parse(
    (parseSafetensors(ckptBytes).metadata as Record<string, string>).diffuse_checkpoint!,
  ) as Record<string, unknown>;

  const folderInput = fc.record({
    index: fc.option(editedObject(MODEL_INDEX), { freq: 2 }),
    unet: fc.option(editedObject(TINY_MLP), { freq: 2 }),
    scheduler: fc.option(editedObject(SCHEDULER), { freq: 2 }),
    weights: fc.option(mutated([weights]), { freq: 3 }),
    sampler: fc.constantFrom(...SCHEDULER_SAMPLER_NAMES),
  });

  const ckptInput = fc.oneof(
    mutated([ckptBytes]),
    editedObject(meta).map((m) => {
      const tensors = parseSafetensors(ckptBytes).tensors;
      return serializeSafetensors(tensors, { diffuse_checkpoint: JSON.stringify(m) });
    }),
  );

  return [
    {
      name: "safetensors",
      input: fc.oneof(mutated(st), structuredSafetensors),
      run: (b: Uint8Array) => parseSafetensors(b),
    },
    {
      name: "png",
      input: fc.oneof(
        mutated(png),
        structuredPng,
        structuredPng.chain((p) => mutated([p])),
      ),
      run: (b: Uint8Array) => decodePng(b),
    },
    { name: "jpeg", input: mutated(jpeg), run: (b: Uint8Array) => decodeJpeg(b) },
    {
      name: "image file",
      input: fc.oneof(mutated(png), mutated(jpeg), fc.uint8Array({ maxLength: 16 })),
      run: (b: Uint8Array) => decodeImageBytes(b, "/data/img/cat.png"),
      file: () => "/data/img/cat.png",
    },
    {
      name: "csv",
      input: csvText,
      run: (c: { text: string; label?: string }) =>
        csvTable(c.text, "t.csv", c.label ? { label: c.label } : {}),
      file: () => "t.csv",
    },
    {
      name: "idx",
      input: mutated(idx),
      run: (b: Uint8Array) => parseIdx(b, "x.idx", 10),
      file: () => "x.idx",
    },
    {
      name: "config.json",
      input: fc.oneof(editedObject(TINY_UNET), editedObject(TINY_VAE), editedObject(TINY_MLP)),
      run: buildModel,
    },
    {
      name: "scheduler config",
      input: fc.tuple(
        fc.constantFrom(...SCHEDULER_NAMES),
        editedObject(SCHEDULER),
        fc.integer({ min: 1, max: 30 }),
      ),
      run: ([name, config, steps]: [string, unknown, number]) => {
        createScheduler(name, config as Record<string, unknown>).setTimesteps(steps);
      },
    },
    {
      name: "model folder (model_index.json, config.json, scheduler, weights)",
      input: folderInput,
      run: async (r: typeof folderInput extends fc.Arbitrary<infer T> ? T : never) => {
        const dir = tempDir("m");
        mkdirSync(path.join(dir, "unet"));
        mkdirSync(path.join(dir, "scheduler"));
        writeFileSync(path.join(dir, "model_index.json"), JSON.stringify(r.index ?? MODEL_INDEX));
        writeFileSync(path.join(dir, "unet", "config.json"), JSON.stringify(r.unet ?? TINY_MLP));
        writeFileSync(path.join(dir, "unet", "diffusion_pytorch_model.safetensors"), r.weights ?? weights);
        writeFileSync(
          path.join(dir, "scheduler", "scheduler_config.json"),
          JSON.stringify(r.scheduler ?? SCHEDULER),
        );
        const m = await loadModelFolder(dir, { maxMemory: 2e9 });
        createSchedulerByName(r.sampler, { ...m.schedulerConfig }).setTimesteps(5);
      },
    },
    {
      name: "checkpoint",
      input: ckptInput,
      run: async (bytes: Uint8Array) => {
        const dir = tempDir("c");
        writeFileSync(checkpointPath(dir), bytes);
        await loadCheckpoint(dir, names);
      },
      file: () => "checkpoint.safetensors",
    },
  ] as FuzzTarget[];
}
