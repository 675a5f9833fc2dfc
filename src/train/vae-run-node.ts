import { appendFile } from "node:fs/promises";
import path from "node:path";
import { loadDataset } from "../data/registry.js";
import { type Dataset, datasetSize, exampleShape, type ImageDataset } from "../data/types.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { encodePng, imageGrid } from "../io/png.js";
import { AutoencoderKL } from "../models/autoencoder-kl.js";
import { savePretrained } from "../models/pretrained-node.js";
import type { Params } from "../nn/module.js";
import { foldIn, makeKey } from "../random/index.js";
import * as T from "../tensor/index.js";
import { loadCheckpoint, readCheckpointMeta, removeStaleTemporaries } from "./checkpoint-node.js";
import { ConfigFieldError, type TrainConfig } from "./config.js";
import { holdOut } from "./data-split.js";
import { Progress, type ProgressSink } from "./progress.js";
import { LOG_FILE, truncateLog } from "./run-log-node.js";
import { RunLoop } from "./run-loop-node.js";
import { claimRunFolder, RunError } from "./run-node.js";
import { initialState } from "./trainer.js";
import {
  DEFAULT_VAE_BETA,
  latentShapeOf,
  RECONSTRUCTION_LOSSES,
  type ReconstructionLoss,
  scalingFactorOf,
} from "./vae-objective.js";
import { perceptualNetworkFor } from "./vae-perceptual-node.js";
import { vaePresetConfig } from "./vae-presets.js";
import { type ReconstructionReport, type VaeLoopConfig, VaeTrainer } from "./vae-trainer.js";

export const VALIDATION_FILE = "validation.json";
export const RECONSTRUCTIONS_FILE = "reconstructions.png";

export interface VaeRunConfig extends VaeLoopConfig {
  dataset: string;
  limit: number;
  validSize: number;
  out: string;
  resume: boolean;
  /** "" picks by shape (vae-presets.ts). */
  preset: string;
  /** AutoencoderKL config fields overriding the preset's. */
  model: Record<string, unknown>;
  logEvery: number;
  validEvery: number;
  sampleEvery: number;
  checkpointEvery: number;
  maxBadSteps: number;
  /** Images in the reconstruction grid. */
  numSamples: number;
  /** Training images whose latents set `scaling_factor`. */
  scaleSamples: number;
  /** Weight of the perceptual term (0: off; > 0 needs a feature net for the dataset). */
  perceptualWeight: number;
}

export const VAE_RUN_DEFAULTS: Omit<VaeRunConfig, "dataset" | "out"> = {
  reconstruction: "l1",
  beta: DEFAULT_VAE_BETA,
  perceptualWeight: 0,
  steps: 1000,
  batchSize: 32,
  lr: 1e-3,
  warmupSteps: 50,
  weightDecay: 0,
  maxGradNorm: 1,
  emaDecay: 0.999,
  seed: 0,
  threads: 0,
  limit: 0,
  validSize: 256,
  resume: false,
  preset: "",
  model: {},
  logEvery: 10,
  validEvery: 0,
  sampleEvery: 0,
  checkpointEvery: 200,
  maxBadSteps: 3,
  numSamples: 16,
  scaleSamples: 1024,
};

/** Fields that may change on --resume (they do not change the trajectory). */
const RESUME_OVERRIDABLE = [
  "steps",
  "out",
  "resume",
  "logEvery",
  "validEvery",
  "sampleEvery",
  "checkpointEvery",
  "threads",
  "maxBadSteps",
  "numSamples",
  "scaleSamples",
];

const INIT_DOMAIN = 0x7661655f;

export interface VaeRunResult {
  out: string;
  step: number;
  halted: boolean;
  loss: number;
  validation: ReconstructionReport | null;
  scalingFactor: number | null;
  elapsed: number;
}

/** Training and held-out images (mnist/fashion-mnist: the test split; others: a held-out part). */
export function loadVaeData(
  dataset: string,
  limit: number,
  validSize: number,
  seed: number,
): { train: ImageDataset; valid: ImageDataset } {
  const lim = limit > 0 ? limit : undefined;
  let train: Dataset;
  let valid: Dataset | null;
  if (dataset === "mnist" || dataset === "fashion-mnist") {
    train = loadDataset(dataset, { split: "train", limit: lim, seed });
    valid = loadDataset(dataset, { split: "test", limit: validSize });
  } else {
    ({ train, valid } = holdOut(loadDataset(dataset, { limit: lim, seed }), validSize, seed));
  }
  if (train.kind !== "image")
    throw new RunError(
      `train-vae: dataset "${dataset}" holds ${train.kind} data; an autoencoder needs images`,
    );
  if (valid?.kind !== "image")
    throw new RunError("train-vae: --valid-size must be > 0 (validation needs held-out images)");
  return { train, valid };
}

function checkConfig(c: VaeRunConfig): void {
  const bad = (field: string, expected: string) =>
    new ConfigFieldError(
      `train-vae: field "${field}" is ${JSON.stringify((c as unknown as Record<string, unknown>)[field])}; expected ${expected}`,
    );
  if (!(RECONSTRUCTION_LOSSES as readonly string[]).includes(c.reconstruction))
    throw bad("reconstruction", RECONSTRUCTION_LOSSES.join(" or "));
  if (!(Number.isFinite(c.beta) && c.beta >= 0)) throw bad("beta", "a number >= 0");
  if (!(Number.isFinite(c.perceptualWeight) && c.perceptualWeight >= 0))
    throw bad("perceptualWeight", "a number >= 0 (0: no perceptual term)");
  if (!(Number.isFinite(c.lr) && c.lr > 0)) throw bad("lr", "a number > 0");
  for (const f of ["steps", "batchSize", "logEvery", "numSamples", "scaleSamples"] as const) {
    if (!(Number.isInteger(c[f]) && c[f] > 0)) throw bad(f, "a positive integer");
  }
}

/** Encodes up to `n` images of `data` with the posterior mean; returns the flat latents. */
async function posteriorMeans(
  vae: AutoencoderKL,
  params: Params,
  data: ImageDataset,
  n: number,
  batch: number,
  threads: number,
): Promise<Float32Array> {
  const encode = T.compile((p: Params, x: T.Tensor) => vae.encode(p, x).mean, threads > 0 ? { threads } : {});
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const count = Math.min(n, datasetSize(data));
  const parts: Float32Array[] = [];
  for (let i = 0; i < count; i += batch) {
    const b = Math.min(batch, count - i);
    const x = T.tensor(data.images.subarray(i * per, (i + b) * per), [b, ...data.shape]);
    parts.push(Float32Array.from((await encode(params, x)).values() as Float32Array));
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Originals (odd rows) above their reconstructions, 8 per row. */
async function writeReconstructions(
  trainer: VaeTrainer,
  valid: ImageDataset,
  n: number,
  files: string[],
): Promise<void> {
  const count = Math.min(n, datasetSize(valid));
  const [c, h, w] = valid.shape;
  const per = c * h * w;
  const x = valid.images.slice(0, count * per);
  const y = (await trainer.reconstruct(T.tensor(x, [count, c, h, w]))).values() as Float32Array;
  const cols = Math.min(8, count);
  const grid = new Float32Array(2 * Math.ceil(count / cols) * cols * per);
  let k = 0;
  for (let r = 0; r < count; r += cols) {
    const m = Math.min(cols, count - r);
    for (const src of [x, y]) {
      for (let j = 0; j < cols; j++) {
        if (j < m) grid.set(src.subarray((r + j) * per, (r + j + 1) * per), k * per);
        else grid.fill(-1, k * per, (k + 1) * per);
        k++;
      }
    }
  }
  const png = encodePng(imageGrid(grid.subarray(0, k * per), [k, c, h, w], { nrow: cols }));
  for (const f of files) {
    await makeDir(path.dirname(f), "reconstructions folder");
    await writeFileAtomic(f, png);
  }
}

/** Trains (or resumes) an autoencoder into `partial.out`; see the file comment. */
export async function runVaeTraining(
  partial: Partial<VaeRunConfig> & { out: string },
  options: { progress?: ProgressSink; haltAfter?: number; signal?: AbortSignal; overwrite?: boolean } = {},
): Promise<VaeRunResult> {
  const out = partial.out;
  await makeDir(out, "--out");
  await removeStaleTemporaries(out);
  const meta = (await claimRunFolder(out, partial.resume, options.overwrite))
    ? await readCheckpointMeta(out)
    : null;
  const given = Object.fromEntries(
    Object.entries(partial).filter(([, v]) => v !== undefined),
  ) as Partial<VaeRunConfig>;
  let cfg: VaeRunConfig;
  if (meta) {
    const saved = meta.config as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(given)) {
      if (RESUME_OVERRIDABLE.includes(k)) continue;
      const was = k === "perceptualWeight" ? (saved[k] ?? 0) : saved[k];
      if (JSON.stringify(was) !== JSON.stringify(v)) {
        throw new RunError(
          `resume: field "${k}" is ${JSON.stringify(v)} but the checkpoint's run has ${JSON.stringify(was)}; only ${RESUME_OVERRIDABLE.join(", ")} may change on --resume`,
        );
      }
    }
    const over = Object.fromEntries(Object.entries(given).filter(([k]) => RESUME_OVERRIDABLE.includes(k)));
    // Runs saved before the perceptual term existed trained without it.
    const old = saved as unknown as Partial<VaeRunConfig>;
    cfg = {
      ...(old as VaeRunConfig),
      perceptualWeight: old.perceptualWeight ?? 0,
      ...over,
      out,
      resume: true,
    };
  } else {
    if (!given.dataset) throw new RunError("train-vae: --dataset is required");
    cfg = { ...VAE_RUN_DEFAULTS, ...given, dataset: given.dataset, out } as VaeRunConfig;
  }
  checkConfig(cfg);
  const data = loadVaeData(cfg.dataset, cfg.limit, cfg.validSize, cfg.seed);
  const shape = exampleShape(data.train);
  const modelConfig = meta ? meta.model : modelConfigFor(cfg, shape);
  const widths = modelConfig.block_out_channels as number[];
  const f = 2 ** (widths.length - 1);
  if (shape[1]! % f !== 0 || shape[2]! % f !== 0) {
    throw new ConfigFieldError(
      `train-vae: the autoencoder downsamples by ${f} (block_out_channels ${JSON.stringify(widths)}) but ${cfg.dataset} images are [${shape.join(", ")}]; height and width must be multiples of ${f}`,
    );
  }
  const vae = new AutoencoderKL(modelConfig, { key: foldIn(makeKey(cfg.seed), INIT_DOMAIN) });
  if (vae.config.in_channels !== shape[0]) {
    throw new ConfigFieldError(
      `train-vae: the model has in_channels ${vae.config.in_channels} but ${cfg.dataset} images are [${shape.join(", ")}]`,
    );
  }
  const names = vae.parameterSpecs().map((s) => s.name);
  const state = meta ? (await loadCheckpoint(out, names)).state : initialState(vae.parameters(), cfg.seed);
  if (state.step > cfg.steps) {
    throw new RunError(
      `resume: the checkpoint in ${out} is at step ${state.step}, past --steps ${cfg.steps}; pass --steps above ${state.step} to train further (nothing was changed)`,
    );
  }
  const perceptual =
    cfg.perceptualWeight > 0 ? await perceptualNetworkFor(cfg.dataset, shape, cfg.perceptualWeight) : null;
  const trainer = new VaeTrainer(vae, cfg, data.train, state, perceptual?.phi);
  const logFile = path.join(out, LOG_FILE);
  if (meta) await truncateLog(logFile, state.step, state.step >= cfg.steps);
  else await writeFileAtomic(logFile, "");
  const progress = new Progress(options.progress ?? process.stderr, cfg.steps, trainer.step);
  const started = performance.now() / 1000;
  const elapsed = () => (meta?.elapsed ?? 0) + performance.now() / 1000 - started;
  const logValidation = async (step: number): Promise<ReconstructionReport> => {
    const r = await trainer.reconstructionReport(data.valid);
    await appendFile(
      logFile,
      `${JSON.stringify({ step, validLoss: r.l1, validMse: r.mse, validPsnr: r.psnr, time: elapsed() })}\n`,
    );
    progress.message(
      `step ${step}: held-out reconstruction MSE ${r.mse.toPrecision(4)}, PSNR ${r.psnr.toFixed(2)} dB (EMA weights)`,
    );
    return r;
  };
  const gridFile = path.join(out, RECONSTRUCTIONS_FILE);
  const loop = new RunLoop(trainer, cfg, {
    out,
    logFile,
    progress,
    checkpointInfo: () => ({ config: cfg as unknown as TrainConfig, model: vae.toConfig() }),
    elapsed,
    resumeCommand: `diffuse train-vae --out ${out} --resume`,
    resumedAt: meta ? state.step : null,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.haltAfter !== undefined ? { haltAfter: options.haltAfter } : {}),
    validate: async (step) => {
      await logValidation(step);
    },
    sample: (step) =>
      writeReconstructions(trainer, data.valid, cfg.numSamples, [
        path.join(out, "reconstructions", `step-${String(step).padStart(6, "0")}.png`),
        gridFile,
      ]),
  });
  progress.message(
    `${meta ? `resuming ${out} at step ${trainer.step}` : `training autoencoder ${out}`}: ${cfg.dataset} (${datasetSize(data.train)} examples, [${shape.join(", ")}] -> latents [${latentShapeOf(vae, shape).join(", ")}]), ${vae.parameterCount()} parameters, ${cfg.reconstruction} + ${cfg.beta} KL${perceptual ? ` + ${cfg.perceptualWeight} perceptual (frozen feature net ${perceptual.dir}, stages ${perceptual.stageShapes.join(", ")})` : ""}`,
  );
  const halted = await loop.run();
  if (halted) {
    return {
      out,
      step: trainer.step,
      halted: true,
      loss: loop.loss,
      validation: null,
      scalingFactor: null,
      elapsed: elapsed(),
    };
  }
  // Final phase (idempotent): validation, scaling factor, model files, grid.
  const validation = await logValidation(trainer.step);
  await loop.stopIfAborted();
  const z = await posteriorMeans(
    vae,
    trainer.emaParams,
    data.train,
    cfg.scaleSamples,
    cfg.batchSize,
    cfg.threads,
  );
  const scalingFactor = scalingFactorOf(z);
  await saveAutoencoder(out, vae, trainer.emaParams, scalingFactor);
  await writeFileAtomic(
    path.join(out, VALIDATION_FILE),
    `${JSON.stringify({ dataset: cfg.dataset, steps: trainer.step, weights: "EMA", encode: "posterior mean", ...validation, scalingFactor, scaleSamples: Math.min(cfg.scaleSamples, datasetSize(data.train)), latentShape: latentShapeOf(vae, shape) }, null, 2)}\n`,
  );
  await writeReconstructions(trainer, data.valid, cfg.numSamples, [gridFile]);
  progress.message(
    `done: ${trainer.step} steps in ${elapsed().toFixed(0)} s; held-out PSNR ${validation.psnr.toFixed(2)} dB; scaling_factor ${scalingFactor.toPrecision(5)}; autoencoder in ${out}`,
  );
  return {
    out,
    step: trainer.step,
    halted: false,
    loss: loop.loss,
    validation,
    scalingFactor,
    elapsed: elapsed(),
  };
}

/**
 * The preset's config with the run's overrides; overriding `block_out_channels` alone gives plain
 * (attention-free) encoder and decoder blocks, one per width.
 */
function modelConfigFor(cfg: VaeRunConfig, shape: number[]): Record<string, unknown> {
  const m = cfg.model;
  const widths = m.block_out_channels;
  const blocks =
    Array.isArray(widths) && m.down_block_types === undefined && m.up_block_types === undefined
      ? {
          down_block_types: widths.map(() => "DownEncoderBlock2D"),
          up_block_types: widths.map(() => "UpDecoderBlock2D"),
        }
      : {};
  return { ...vaePresetConfig(cfg.preset, shape).config, ...blocks, ...m };
}

/** Writes the diffusers AutoencoderKL folder with `scaling_factor` set. */
export async function saveAutoencoder(
  dir: string,
  vae: AutoencoderKL,
  params: Params,
  scalingFactor: number,
): Promise<void> {
  const scaled = new AutoencoderKL({ ...vae.toConfig(), scaling_factor: scalingFactor });
  await savePretrained(scaled, params, dir);
}

export type { ReconstructionLoss };
