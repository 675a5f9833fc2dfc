/**
 * The classifier's training loop core over the COMPILED step (browser-safe; files in
 * classifier-run-node.ts). The same machinery as the diffusion Trainer (trainer.ts): `makeTrainStep`
 * (grad -> clip -> AdamW -> EMA), batches from the DataLoader, randomness from the RngStream through
 * `drawLossInputs`, all resumable state in one `TrainState`; only the objective differs
 * (classifier-objective.ts).
 *
 *   for each step s: batch, key -> (x0, eps, t, labels)
 *                    (params, Adam, EMA) <- compiled step(..., lr_s)     CE on x_t
 *   at the end:      accuracy of the EMA weights on held-out data at fixed t (fixed noise keys)
 */
import { DataLoader } from "../data/loader.js";
import type { Dataset } from "../data/types.js";
import type { NoiseConditionedClassifier } from "../models/noise-classifier.js";
import type { Params } from "../nn/module.js";
import { foldIn, makeKey, RngStream } from "../random/index.js";
import * as T from "../tensor/index.js";
import { accuracy, CLASSIFIER_LOSS_CONFIG, classifierLoss, noisedInput } from "./classifier-objective.js";
import type { EmaSchedule } from "./ema.js";
import { drawLossInputs, type LossBatch, type LossTables } from "./losses.js";
import { lrSchedule, validateLrSchedule } from "./optim/lr-schedule.js";
import { makeTrainStep } from "./step.js";
import { applyStepResult, type StepRecord, type TrainState } from "./trainer.js";

/** Settings of the loop (a subset of the run config). */
export interface ClassifierLoopConfig {
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

/** Fold-in constant of the held-out accuracy noise keys (independent of the training stream). */
const ACCURACY_KEY_DOMAIN = 0x61636375;

export class ClassifierTrainer {
  private state: TrainState;
  private readonly loader: DataLoader;
  private readonly rng: RngStream;
  private readonly compiledStep;
  private readonly compiledLogits;
  readonly lrAt: (step: number) => number;

  constructor(
    readonly classifier: NoiseConditionedClassifier,
    readonly config: ClassifierLoopConfig,
    readonly tables: LossTables,
    train: Dataset,
    state: TrainState,
  ) {
    if (!train.labels) throw new Error(`train-classifier: dataset has no labels; a classifier needs them`);
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
    const forward = (p: Params, x: T.Tensor, t: T.Tensor) => classifier.forward(p, x, t);
    const step = makeTrainStep(classifierLoss(forward), {
      optimizer: { weightDecay: config.weightDecay },
      ...(config.maxGradNorm > 0 ? { maxGradNorm: config.maxGradNorm } : {}),
      ema,
    });
    const opts = config.threads > 0 ? { threads: config.threads } : {};
    this.compiledStep = T.compile(step, opts);
    this.compiledLogits = T.compile(
      (p: Params, b: LossBatch) => forward(p, noisedInput(b), b.timesteps),
      opts,
    );
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
    const batch = drawLossInputs(
      this.rng.next(),
      b.x,
      b.shape,
      this.tables,
      CLASSIFIER_LOSS_CONFIG,
      b.labels,
    );
    const out = await this.compiledStep(s.params, s.optState, s.ema, batch, T.scalar(lrValue));
    const r = applyStepResult(s, out, lrValue, this.loader.position().epoch);
    this.state = r.state;
    return r.record;
  }

  /**
   * Accuracy of `params` (default: the EMA weights) on `data` at each timestep of `levels`, with noise
   * from fixed keys (comparable across runs; the training stream is untouched).
   */
  async accuracyAt(data: Dataset, levels: readonly number[], params = this.emaParams): Promise<number[]> {
    const base = foldIn(makeKey(this.config.seed), ACCURACY_KEY_DOMAIN);
    const batchSize = Math.min(this.config.batchSize, new DataLoader(data).size);
    const out: number[] = [];
    for (const t of levels) {
      const loader = new DataLoader(data, { shuffle: false, dropLast: false });
      let right = 0;
      let n = 0;
      let i = 0;
      for (const b of loader.batches(batchSize)) {
        const batch = drawLossInputs(foldIn(base, i++), b.x, b.shape, this.tables, CLASSIFIER_LOSS_CONFIG);
        const B = b.shape[0]!;
        const fixed: LossBatch = {
          ...batch,
          timesteps: T.full([B], t),
          alpha: T.full([B], this.tables.alpha[t]!),
          sigma: T.full([B], this.tables.sigma[t]!),
        };
        right += accuracy(await this.compiledLogits(params, fixed), b.labels!) * B;
        n += B;
      }
      out.push(right / n);
    }
    return out;
  }
}
