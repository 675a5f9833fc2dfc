/**
 * Named training configurations ("levers") of `npm run bench:quality -- --config NAME`: each is the
 * README's default run (`diffuse train` without flags: unet28-cond on MNIST, DEFAULT_RUN of
 * src/cli/train.ts) with one thing changed, so that each lever of issue 14 is one command:
 *
 *   npm run bench:quality -- --config NAME (--train-steps N | --minutes M) [--num-samples N]
 *
 * A run appends one row per sampler (config, training steps, minutes, FID, KID, precision, recall,
 * classifier accuracy, samples) to docs/quality-configs.json and rewrites the table between the
 * markers in README.md from all rows (`--rows FILE` / `--readme FILE` elsewhere).
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_RUN } from "../src/cli/train.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../src/io/files.js";
import type { StTensor } from "../src/io/safetensors.js";
import type { TrainConfig } from "../src/train/config.js";
import { readJsonRows, writeRowsAndTable } from "./table-rows.js";

export interface QualityConfig {
  description: string;
  /** Training settings on top of the default run. */
  train: Partial<TrainConfig>;
  /** Guidance scale of the evaluation (default: the CLI's, PIPELINE_DEFAULTS.guidanceScale). */
  guidanceScale?: number;
  /** Guide only at model timesteps lo <= t <= hi (sampling lever; default: every step). */
  guidanceInterval?: readonly [number, number];
  /** Guidance rescale phi (sampling lever; default 0). */
  guidanceRescale?: number;
  /** Sampler and steps of the evaluation (default CONFIG_SAMPLERS of quality.ts, the CLI's default). */
  samplers?: string;
}

/** The lever configurations; `baseline` is the default run itself. */
export const QUALITY_CONFIGS: Record<string, QualityConfig> = {
  baseline: {
    description: "the default run (lr 1e-3, batch 32, EMA 0.999 with warm-up, eps, min-SNR 5)",
    train: {},
  },
  "guidance-3": {
    description: "baseline, evaluated at guidance 3 (the default before)",
    train: {},
    guidanceScale: 3,
  },
  "guidance-2": { description: "baseline, evaluated at guidance 2", train: {}, guidanceScale: 2 },
  "guidance-1.5": { description: "baseline, evaluated at guidance 1.5", train: {}, guidanceScale: 1.5 },
  "guidance-1": { description: "baseline, evaluated without guidance", train: {}, guidanceScale: 1 },
  // Guidance in a limited interval (Kynkaenniemi et al. 2024): their EDM interval sigma in (0.28, 5.42]
  // is timesteps ~170..880 of the 1000-step cosine schedule (sigma = sqrt((1 - abar) / abar)).
  "interval-2": {
    description: "baseline, guidance 2 only at timesteps 170..880",
    train: {},
    guidanceScale: 2,
    guidanceInterval: [170, 880],
  },
  "interval-3": {
    description: "baseline, guidance 3 only at timesteps 170..880",
    train: {},
    guidanceScale: 3,
    guidanceInterval: [170, 880],
  },
  "interval-3-high": {
    description: "baseline, guidance 3 only at timesteps 400..999",
    train: {},
    guidanceScale: 3,
    guidanceInterval: [400, 999],
  },
  "rescale-0.7": {
    description: "baseline, guidance 3 with rescale 0.7",
    train: {},
    guidanceScale: 3,
    guidanceRescale: 0.7,
  },
  "unipc-20": { description: "baseline, sampled with UniPC 20", train: {}, samplers: "unipc:20" },
  "dpm-50": { description: "baseline, sampled with DPM-Solver++ 50", train: {}, samplers: "dpmsolver++:50" },
  "ema-0.995": { description: "EMA decay capped at 0.995", train: { emaDecay: 0.995 } },
  "ema-0.9999": { description: "EMA decay capped at 0.9999", train: { emaDecay: 0.9999 } },
  "lr-2e-3": { description: "learning rate 2e-3", train: { lr: 2e-3 } },
  "lr-5e-4": { description: "learning rate 5e-4", train: { lr: 5e-4 } },
  "batch-64": { description: "batch 64", train: { batchSize: 64 } },
  "batch-16": { description: "batch 16", train: { batchSize: 16 } },
  "v-prediction": { description: "v-prediction", train: { predictionType: "v_prediction" } },
  "no-min-snr": { description: "plain eps loss (no min-SNR weighting)", train: { weighting: "none" } },
  "label-dropout-0.2": { description: "label dropout 0.2", train: { labelDropout: 0.2 } },
  "width-48": {
    description: "channels 48/96/96 (2.4M parameters)",
    train: { model: { block_out_channels: [48, 96, 96] } },
  },
  "layers-2": { description: "2 residual blocks per level", train: { model: { layers_per_block: 2 } } },
};

export function qualityConfig(name: string): QualityConfig {
  const c = QUALITY_CONFIGS[name];
  if (!c) {
    throw new Error(
      `--config: unknown configuration ${JSON.stringify(name)}; expected one of ${Object.keys(QUALITY_CONFIGS).join(", ")}`,
    );
  }
  return c;
}

/** The training settings of a configuration: the default run's, then the lever's. */
export function configTraining(name: string): Partial<TrainConfig> {
  const { out: _out, steps: _steps, ...run } = DEFAULT_RUN;
  return { ...run, classConditional: true, ...qualityConfig(name).train };
}

export interface ConfigRow {
  config: string;
  description: string;
  /** Training steps and the wall-clock minutes they took (the machine may have been shared). */
  steps: number;
  minutes: number;
  /** Seconds per step of the 30-step timing (--minutes) or of the whole run. */
  secondsPerStep: number;
  weights: "ema" | "raw";
  sampler: string;
  samplerSteps: number;
  guidanceScale: number;
  samples: number;
  /** --seed: the samples' noise and the reference subsets of precision/recall and KID. */
  seed: number;
  fid: number;
  kid: number;
  kidStderr: number;
  precision: number;
  recall: number;
  accuracy: number | null;
  date: string;
}

export function readRows(file: string): ConfigRow[] {
  return readJsonRows<ConfigRow>(file);
}

export const TABLE_BEGIN = "<!-- quality-configs:begin -->";
export const TABLE_END = "<!-- quality-configs:end -->";

export function formatConfigTable(rows: readonly ConfigRow[]): string {
  const f = (x: number, d: number) => x.toFixed(d);
  return [
    "| config | what changes | steps | minutes | weights | sampler | w | samples | seed | FID | KID | precision | recall | accuracy |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.config} | ${r.description} | ${r.steps} | ${f(r.minutes, 1)} | ${r.weights} | ${r.sampler} ${r.samplerSteps} | ${r.guidanceScale} | ${r.samples} | ${r.seed ?? 0} | ${f(r.fid, 2)} | ${f(r.kid, 3)} ± ${f(r.kidStderr, 3)} | ${f(r.precision, 3)} | ${f(r.recall, 3)} | ${r.accuracy === null ? "-" : f(r.accuracy, 3)} |`,
    ),
  ].join("\n");
}

/** Appends rows to the JSON file and rewrites the README table between the markers (if present). */
export function recordRows(rows: readonly ConfigRow[], rowsFile: string, readme: string): void {
  writeRowsAndTable(
    [...readRows(rowsFile), ...rows],
    rowsFile,
    readme,
    { begin: TABLE_BEGIN, end: TABLE_END },
    formatConfigTable,
  );
}

/**
 * A copy of a trained model folder whose weights are the raw (not EMA) parameters of the run's
 * checkpoint (`params.<name>`, checkpoint-node.ts): the EMA-vs-raw lever.
 */
export async function rawWeightsFolder(modelDir: string, checkpoint: string, out: string): Promise<string> {
  cpSync(modelDir, out, { recursive: true });
  const ck = await readSafetensorsFile(checkpoint);
  const tensors: Record<string, StTensor> = {};
  for (const [name, t] of ck.tensors) if (name.startsWith("params.")) tensors[name.slice(7)] = t;
  if (Object.keys(tensors).length === 0) throw new Error(`${checkpoint}: no params.* tensors`);
  const file = join(out, "unet", "diffusion_pytorch_model.safetensors");
  const ema = await readSafetensorsFile(file);
  for (const name of ema.tensors.keys()) {
    if (!(name in tensors)) throw new Error(`${checkpoint}: no params.${name} for ${file}`);
  }
  await writeSafetensorsFile(file, tensors, { format: "pt" });
  return out;
}
