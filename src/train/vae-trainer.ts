/**
 * The autoencoder's training loop core over the COMPILED step (browser-safe; files in
 * vae-run-node.ts). The same machinery as the diffusion Trainer (trainer.ts): `makeTrainStep`
 * (grad -> clip -> AdamW -> EMA), batches from the DataLoader, posterior noise from the RngStream,
 * all resumable state in one `TrainState`; only the objective differs (vae-objective.ts).
 *
 *   objective:       L1/L2 + beta KL [+ w_perc * perceptual term of a frozen feature net]
 *   for each step s: batch x, key -> eps;  (params, Adam, EMA) <- compiled step(..., lr_s)
 *   validation:      reconstruction error of the EMA weights through the posterior MEAN (no noise),
 *                    MSE, L1 and PSNR on held-out images
 */
import { DataLoader } from "../data/loader.js";
import type { Dataset } from "../data/types.js";
import type { AutoencoderKL } from "../models/autoencoder-kl.js";
import type { Params } from "../nn/module.js";
import { RngStream } from "../random/index.js";
import * as T from "../tensor/index.js";
import type { EmaSchedule } from "./ema.js";
import { lrSchedule, validateLrSchedule } from "./optim/lr-schedule.js";
import type { FeatureStages } from "./perceptual-loss.js";
import { makeTrainStep } from "./step.js";
import { applyStepResult, type StepRecord, type TrainState } from "./trainer.js";
import { drawVaeInputs, psnr, type VaeLossConfig, vaeLoss } from "./vae-objective.js";

/** Settings of the loop (a subset of the run config). */
export interface VaeLoopConfig extends VaeLossConfig {
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  emaDecay: number;
  seed: number;
  threads: number;
}

/** Held-out reconstruction quality. */
export interface ReconstructionReport {
  /** Mean squared error per pixel (images in [-1, 1]). */
  mse: number;
  /** Mean absolute error per pixel. */
  l1: number;
  /** PSNR in dB (peak-to-peak 2, = PSNR of the images mapped to [0, 1]). */
  psnr: number;
  examples: number;
}

export class VaeTrainer {
  private state: TrainState;
  private readonly loader: DataLoader;
  private readonly rng: RngStream;
  private readonly compiledStep;
  private readonly compiledReconstruct;
  readonly lrAt: (step: number) => number;

  constructor(
    readonly vae: AutoencoderKL,
    readonly config: VaeLoopConfig,
    train: Dataset,
    state: TrainState,
    /** The frozen feature network's stages; required when `config.perceptualWeight` > 0. */
    perceptual?: FeatureStages,
  ) {
    this.state = state;
    this.loader = new DataLoader(train, { seed: config.seed, position: state.loader });
    this.rng = RngStream.fromState(state.rng);
    this.lrAt = lrSchedule(
      validateLrSchedule({
        kind: "cosine",
        lr: config.lr,
        warmupSteps: config.warmupSteps,
        totalSteps: config.steps,
      }),
    );
    const ema: EmaSchedule = { kind: "diffusers-warmup", decay: config.emaDecay, invGamma: 1, power: 3 / 4 };
    const step = makeTrainStep(vaeLoss(vae, config, perceptual), {
      optimizer: { weightDecay: config.weightDecay },
      ...(config.maxGradNorm > 0 ? { maxGradNorm: config.maxGradNorm } : {}),
      ema,
    });
    const opts = config.threads > 0 ? { threads: config.threads } : {};
    this.compiledStep = T.compile(step, opts);
    this.compiledReconstruct = T.compile((p: Params, x: T.Tensor) => vae.forward(p, x), opts);
  }

  get step(): number {
    return this.state.step;
  }

  get emaParams(): Params {
    return this.state.ema.params;
  }

  snapshot(): TrainState {
    return { ...this.state, loader: this.loader.position(), rng: this.rng.state() };
  }

  async trainOneStep(): Promise<StepRecord> {
    const s = this.state;
    const lrValue = this.lrAt(s.step);
    const b = this.loader.next(this.config.batchSize);
    const batch = drawVaeInputs(this.rng.next(), b.x, b.shape, this.vae);
    const out = await this.compiledStep(s.params, s.optState, s.ema, batch, T.scalar(lrValue));
    const r = applyStepResult(s, out, lrValue, this.loader.position().epoch);
    this.state = r.state;
    return r.record;
  }

  /** Reconstructions D(mu(x)) of images x [B, C, H, W] (default: the EMA weights). */
  async reconstruct(x: T.Tensor, params = this.emaParams): Promise<T.Tensor> {
    return this.compiledReconstruct(params, x);
  }

  /** Reconstruction error of `params` (default EMA) over every example of `data`. */
  async reconstructionReport(data: Dataset, params = this.emaParams): Promise<ReconstructionReport> {
    const loader = new DataLoader(data, { shuffle: false, dropLast: false });
    const batchSize = Math.min(this.config.batchSize, loader.size);
    let sq = 0;
    let ab = 0;
    let n = 0;
    for (const b of loader.batches(batchSize)) {
      const y = (await this.reconstruct(T.tensor(b.x, b.shape), params)).values() as Float32Array;
      for (let i = 0; i < y.length; i++) {
        const d = b.x[i]! - y[i]!;
        sq += d * d;
        ab += Math.abs(d);
      }
      n += y.length;
    }
    const mse = sq / n;
    return { mse, l1: ab / n, psnr: psnr(mse), examples: loader.size };
  }
}
