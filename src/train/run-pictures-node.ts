/**
 * The pictures of a training run (Node): sample grids (or scatter plots) drawn from the EMA weights,
 * and the loss curve from log.jsonl.
 */
import path from "node:path";
import type { Dataset } from "../data/types.js";
import { makeDir } from "../io/dirs.js";
import { writeFileAtomic } from "../io/files.js";
import { lineChart, scatterPlot } from "../io/plot.js";
import { encodePng, imageGrid } from "../io/png.js";
import type { Denoiser } from "../models/denoiser.js";
import { cyclicLabels, generate } from "../pipelines/generate.js";
import type { LatentDecoder } from "../pipelines/latent.js";
import type { ConsistencyModelInfo } from "../pipelines/model-info.js";
import { createSchedulerByName } from "../pipelines/samplers.js";
import type { TrainConfig } from "./config.js";
import { readLog } from "./run-log-node.js";
import { schedulerConfigFor, type Trainer } from "./trainer.js";

/** What the sample grids of a run need. */
export interface GridRun {
  config: TrainConfig;
  trainer: Trainer;
  denoiser: Denoiser;
  train: Dataset;
  nullClass: number | null;
  out: string;
  /** A consistency student's grid: the grids use the VP consistency sampler (consistency-generate.ts). */
  consistency?: ConsistencyModelInfo;
  /** Latent diffusion: decodes the sampled latents to images for the grid. */
  decoder?: LatentDecoder;
}

/** Samples from the EMA weights -> PNG at `file` and at `<out>/samples.png`. */
export async function writeSamples(run: GridRun, file: string | null): Promise<void> {
  const { config, denoiser, nullClass, train } = run;
  const n = config.numSamples;
  const labels = nullClass !== null ? cyclicLabels(n, nullClass) : undefined;
  const drawn = await generate({
    denoiser,
    params: run.trainer.emaParams,
    ...(run.consistency
      ? {
          sampler: "consistency",
          schedulerConfig: schedulerConfigFor(config, train.kind === "image"),
          consistency: run.consistency,
        }
      : {
          scheduler: createSchedulerByName(
            config.sampler,
            schedulerConfigFor(config, train.kind === "image"),
          ),
        }),
    steps: config.samplerSteps,
    numSamples: n,
    seed: config.seed,
    ...(labels ? { labels, guidanceScale: run.consistency ? 1 : config.guidanceScale, nullClass } : {}),
    threads: config.threads,
  });
  const { samples, shape } = run.decoder
    ? await run.decoder.decode(drawn.samples, drawn.shape, config.threads)
    : drawn;
  const png = encodePng(
    shape.length === 4
      ? imageGrid(...firstChannels(samples, shape as [number, number, number, number]), {
          nrow: nullClass ?? 8,
        })
      : scatterPlot(samples, shape[1]!, {
          background: train.kind === "image" ? undefined : train.data,
          size: 512,
        }),
  );
  if (file) {
    await makeDir(path.dirname(file), "samples folder");
    await writeFileAtomic(file, png);
  }
  await writeFileAtomic(path.join(run.out, "samples.png"), png);
}

/**
 * Images with more than 4 channels (a joint (image, label) model, data/joint-image.ts) show their
 * first channel as grey; others are returned unchanged.
 */
function firstChannels(
  x: Float32Array,
  shape: [number, number, number, number],
): [Float32Array, [number, number, number, number]] {
  const [n, c, h, w] = shape;
  if (c <= 4) return [x, shape];
  const out = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) out.set(x.subarray(i * c * h * w, i * c * h * w + h * w), i * h * w);
  return [out, [n, 1, h, w]];
}

/** loss.png from log.jsonl: training loss (blue) and validation loss (orange) against step. */
export async function writeLossCurve(out: string): Promise<void> {
  const records = await readLog(out);
  const train = records.filter((r) => r.loss !== undefined);
  const valid = records.filter((r) => r.validLoss !== undefined);
  const series = [
    { x: train.map((r) => r.step!), y: train.map((r) => r.loss!), color: [31, 119, 180] as const },
    { x: valid.map((r) => r.step!), y: valid.map((r) => r.validLoss!), color: [255, 127, 14] as const },
  ];
  await writeFileAtomic(path.join(out, "loss.png"), encodePng(lineChart(series)));
}
