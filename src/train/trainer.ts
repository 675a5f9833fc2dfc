/**
 * The training loop's core over the COMPILED training step (browser-safe; files, progress and
 * checkpoints are wired in run-node.ts):
 *
 *   for each optimizer step s:
 *     lr_s = schedule(s)                                        cosine with warm-up, or constant
 *     k micro-batches: batch from the loader, key from the RNG stream -> noise, t, offset, drop
 *                      (the objective's draw: VP diffusion, losses.ts, or flow matching, flow-loss.ts),
 *                      dropout masks (host; dropout-masks.ts)
 *     (params, Adam state, EMA) <- compiled step(..., batch(es), lr_s)      grad -> clip -> AdamW -> EMA
 *     if the step's loss or gradient norm is not finite: keep the old (params, Adam state, EMA)
 *
 * All state that the next step depends on is in `TrainState` (params, optimizer, EMA, step, loader
 * position, RNG stream position), so restoring a snapshot continues bit-exactly.
 */
import { DataLoader, type LoaderPosition } from "../data/loader.js";
import type { Dataset } from "../data/types.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { foldIn, type Key, makeKey, RngStream, type RngStreamState } from "../random/index.js";
import * as T from "../tensor/index.js";
import { isFlowObjective, type TrainConfig } from "./config.js";
import { type DropoutSite, drawDropoutMasks, dropoutSites } from "./dropout-masks.js";
import { type EmaSchedule, type EmaState, initEma } from "./ema.js";
import { drawFlowInputs, type FlowTimeConfig, flowMatchingLoss, flowSchedulerConfig } from "./flow-loss.js";
import {
  diffusionLoss,
  drawLossInputs,
  type LossBatch,
  type LossConfig,
  type LossTables,
  lossTables,
} from "./losses.js";
import { type AdamWState, initAdamW } from "./optim/adamw.js";
import { lrSchedule, validateLrSchedule } from "./optim/lr-schedule.js";
import { makeTrainStep, type TrainStep } from "./step.js";

/** Everything a resumed run needs to continue exactly. */
export interface TrainState {
  /** Optimizer steps done. */
  step: number;
  params: Params;
  optState: AdamWState<Params>;
  ema: EmaState<Params>;
  loader: LoaderPosition;
  rng: RngStreamState;
}

/** What one optimizer step reports. */
export interface StepRecord {
  /** 1-based number of the step just taken. */
  step: number;
  /** Mean loss over the step's micro-batches, at the parameters before the update. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  epoch: number;
  /**
   * The loss or the gradient norm was not finite (NaN or +-Inf): the update was discarded, so
   * parameters, Adam moments and EMA are those before the step (the step counter, data order and
   * noise stream still advance, as torch's GradScaler skips `optimizer.step()`).
   */
  skipped: boolean;
}

/** Fold-in constant of a batch's dropout-mask key (independent of its noise and timestep draws). */
const DROPOUT_KEY_DOMAIN = 0x64726f70;

/** Fold-in constant of the validation noise keys (independent of the training stream). */
const VALID_KEY_DOMAIN = 0x76616c2;

/**
 * The diffusers scheduler config (DDPMScheduler) of a run: the noise schedule and prediction type; a
 * flow-matching run's is a FlowMatchEulerDiscreteScheduler (flow-loss.ts).
 * `clipSample`: clamp x0-hat to [-1, 1] while sampling (right for images in [-1, 1], wrong for
 * vectors, which may lie anywhere).
 */
export function schedulerConfigFor(config: TrainConfig, clipSample = true): Record<string, unknown> {
  if (isFlowObjective(config.objective)) return flowSchedulerConfig(config.numTrainTimesteps);
  return vpSchedulerConfig(config, clipSample);
}

/** The DDPMScheduler config of a diffusion run (also the VP tables' source). */
export function vpSchedulerConfig(config: TrainConfig, clipSample: boolean): Record<string, unknown> {
  return {
    _class_name: "DDPMScheduler",
    _diffusers_version: "0.30.3",
    num_train_timesteps: config.numTrainTimesteps,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: config.betaSchedule,
    trained_betas: null,
    variance_type: "fixed_small",
    // Latents (a --vae run) are not confined to [-1, 1]: never clip them.
    clip_sample: clipSample && !config.vae,
    clip_sample_range: 1.0,
    prediction_type: config.predictionType,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    timestep_spacing: "leading",
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  };
}

/** The loss settings of a run. */
export function lossConfigFor(config: TrainConfig, nullClass: number | null): LossConfig {
  return {
    loss: config.loss,
    huberC: config.huberC,
    huberDelta: config.huberDelta,
    weighting: config.weighting,
    snrGamma: config.snrGamma,
    prediction: config.predictionType,
    offsetNoise: config.offsetNoise,
    ...(config.channelWeights?.length ? { channelWeights: config.channelWeights } : {}),
    labelDropout: nullClass === null ? 0 : config.labelDropout,
    ...(nullClass === null ? {} : { nullClass }),
  };
}

/** EMA with diffusers' warm-up (`use_ema_warmup=True, inv_gamma=1, power=3/4`, train_unconditional.py). */
export function emaScheduleFor(config: TrainConfig): EmaSchedule {
  return { kind: "diffusers-warmup", decay: config.emaDecay, invGamma: 1, power: 3 / 4 };
}

/** The state of a fresh run: the model's initial parameters, zero moments, EMA = params. */
export function initialState(params: Params, seed: number): TrainState {
  return {
    step: 0,
    params,
    optState: initAdamW(params),
    ema: initEma(params),
    loader: { epoch: 0, index: 0 },
    rng: new RngStream(makeKey(seed)).state(),
  };
}

/**
 * An objective beyond the built-in ones (few-step-objectives.ts: consistency training and distillation,
 * reflow): its traced loss, and its host-side batch from one key, the data batch and the state before
 * the step (the consistency target reads the EMA weights; the curriculum reads the step).
 */
export interface CustomObjective {
  loss: (params: Params, batch: unknown) => T.Tensor;
  draw(
    key: Key,
    data: { x: Float32Array; shape: readonly number[]; labels: Int32Array | undefined },
    state: Pick<TrainState, "step" | "params" | "ema">,
  ): unknown;
}

export interface TrainerOptions {
  /** Replaces the objective that `config.objective` names (required for the few-step objectives). */
  objective?: CustomObjective;
  config: TrainConfig;
  /** The network of the built-in objectives (a custom objective holds its own network and may omit it). */
  denoiser?: Denoiser;
  train: Dataset;
  valid: Dataset | null;
  /** The null class (= number of classes) of a class-conditional model, else null. */
  nullClass: number | null;
}

export class Trainer {
  readonly config: TrainConfig;
  readonly denoiser: Denoiser | null;
  readonly lossConfig: LossConfig;
  readonly tables: LossTables;
  readonly lrAt: (step: number) => number;
  private state: TrainState;
  private readonly loader: DataLoader;
  private readonly rng: RngStream;
  private readonly trainStep: TrainStep<Params, unknown>;
  private readonly custom: CustomObjective | null;
  private readonly compiledStep;
  private readonly compiledAccumulate;
  private readonly compiledApply;
  private readonly compiledLoss;
  private readonly valid: Dataset | null;
  private readonly conditional: boolean;
  private readonly dropoutSiteCache = new Map<string, DropoutSite[]>();

  constructor(options: TrainerOptions, state: TrainState) {
    const { config, denoiser } = options;
    this.config = config;
    this.denoiser = denoiser ?? null;
    this.valid = options.valid;
    this.conditional = options.nullClass !== null;
    this.lossConfig = lossConfigFor(config, options.nullClass);
    this.tables = lossTables(vpSchedulerConfig(config, true), this.lossConfig);
    this.lrAt = lrSchedule(
      validateLrSchedule(
        config.lrSchedule === "cosine"
          ? {
              kind: "cosine",
              lr: config.lr,
              warmupSteps: config.warmupSteps,
              totalSteps: config.steps,
              minLr: config.lrMin,
            }
          : { kind: "constant_with_warmup", lr: config.lr, warmupSteps: config.warmupSteps },
      ),
    );
    this.state = state;
    this.loader = new DataLoader(options.train, { seed: config.seed, position: state.loader });
    this.rng = RngStream.fromState(state.rng);
    this.custom = options.objective ?? null;
    if (!this.custom && config.objective !== "diffusion" && config.objective !== "flow") {
      throw new Error(
        `trainer: objective "${config.objective}" needs options.objective (few-step-objectives.ts)`,
      );
    }
    if (!this.custom && !denoiser) throw new Error("trainer: options.denoiser is missing");
    const lossFn =
      this.custom?.loss ??
      ((config.objective === "flow" ? flowMatchingLoss : diffusionLoss)(
        denoiser!.forward,
        this.lossConfig,
      ) as (params: Params, batch: unknown) => T.Tensor);
    this.trainStep = makeTrainStep(lossFn, {
      optimizer: {
        betas: [config.adamBeta1, config.adamBeta2],
        eps: config.adamEps,
        weightDecay: config.weightDecay,
      },
      ...(config.maxGradNorm > 0 ? { maxGradNorm: config.maxGradNorm } : {}),
      ema: emaScheduleFor(config),
    });
    const opts = config.threads > 0 ? { threads: config.threads } : {};
    this.compiledStep = T.compile(this.trainStep, opts);
    this.compiledAccumulate = T.compile(this.trainStep.accumulate, opts);
    this.compiledApply = T.compile(this.trainStep.applyAccumulated, opts);
    this.compiledLoss = T.compile(lossFn, opts);
  }

  /** Optimizer steps done so far. */
  get step(): number {
    return this.state.step;
  }

  /** The EMA parameters (what validation and sampling use). */
  get emaParams(): Params {
    return this.state.ema.params;
  }

  /** A snapshot of the full state (tensors are immutable, so no copy is needed). */
  snapshot(): TrainState {
    return { ...this.state, loader: this.loader.position(), rng: this.rng.state() };
  }

  /**
   * The next micro-batch's loss inputs: data from the loader, randomness from the stream; dropout
   * masks (training mode) from the same key, when the model has dropout.
   */
  private nextBatch(): unknown {
    const b = this.loader.next(this.config.batchSize);
    const labels = this.conditional ? b.labels : undefined;
    const key = this.rng.next();
    if (this.custom) return this.custom.draw(key, { x: b.x, shape: b.shape, labels }, this.state);
    const batch = this.drawInputs(key, b.x, b.shape, this.lossConfig, labels);
    const sites = this.dropoutSitesFor(b.shape);
    if (sites.length > 0) batch.dropout = drawDropoutMasks(foldIn(key, DROPOUT_KEY_DOMAIN), sites);
    return batch;
  }

  /** The objective's random inputs of one batch (losses.ts for diffusion, flow-loss.ts for flow). */
  private drawInputs(
    key: Key,
    x: Float32Array,
    shape: readonly number[],
    cfg: LossConfig,
    labels: Int32Array | undefined,
  ): LossBatch {
    const c = this.config;
    if (c.objective !== "flow") return drawLossInputs(key, x, shape, this.tables, cfg, labels);
    const times: FlowTimeConfig = {
      distribution: c.flowT,
      logitMean: c.flowLogitMean,
      logitStd: c.flowLogitStd,
    };
    return drawFlowInputs(key, x, shape, times, c.numTrainTimesteps, cfg, labels);
  }

  /** The model's dropout layers at a batch shape (traced once per shape). */
  private dropoutSitesFor(shape: readonly number[]): DropoutSite[] {
    const id = shape.join("x");
    let sites = this.dropoutSiteCache.get(id);
    if (!sites) {
      sites = dropoutSites(this.denoiser!, this.state.params, shape, this.conditional);
      this.dropoutSiteCache.set(id, sites);
    }
    return sites;
  }

  /** One optimizer step (over `gradAccum` micro-batches). */
  async trainOneStep(): Promise<StepRecord> {
    const s = this.state;
    const lrValue = this.lrAt(s.step);
    const lr = T.scalar(lrValue);
    let out: Awaited<ReturnType<typeof this.compiledStep>>;
    if (this.config.gradAccum === 1) {
      out = await this.compiledStep(s.params, s.optState, s.ema, this.nextBatch(), lr);
    } else {
      let acc = this.trainStep.initAccumulator(s.params);
      for (let i = 0; i < this.config.gradAccum; i++) {
        acc = await this.compiledAccumulate(s.params, acc, this.nextBatch());
      }
      out = await this.compiledApply(s.params, s.optState, s.ema, acc, lr);
    }
    const r = applyStepResult(s, out, lrValue, this.loader.position().epoch);
    this.state = r.state;
    return r.record;
  }

  /**
   * Mean loss of the EMA weights on the held-out data (null without a validation set), with noise
   * from fixed keys, so the numbers are comparable across evaluations and do not touch the training
   * stream. Labels are never dropped.
   */
  async validationLoss(): Promise<number | null> {
    if (!this.valid) return null;
    const batchSize = Math.min(this.config.batchSize, new DataLoader(this.valid).size);
    const loader = new DataLoader(this.valid, { shuffle: false });
    const base = foldIn(makeKey(this.config.seed), VALID_KEY_DOMAIN);
    const cfg = { ...this.lossConfig, labelDropout: 0 };
    let total = 0;
    let count = 0;
    for (const b of loader.batches(batchSize)) {
      const labels = this.conditional ? b.labels : undefined;
      const key = foldIn(base, count);
      const batch = this.custom
        ? this.custom.draw(key, { x: b.x, shape: b.shape, labels }, this.state)
        : this.drawInputs(key, b.x, b.shape, cfg, labels);
      total += (await this.compiledLoss(this.state.ema.params, batch)).item();
      count++;
    }
    return total / count;
  }
}

/**
 * The state after one compiled step's output `out` on state `s`, and its log record. A step whose
 * loss or gradient norm is NaN/Inf keeps the previous parameters, optimizer state and EMA (the
 * compiled step returns new tensors and never writes its inputs, so discarding the update costs
 * nothing) and is marked `skipped`; the step counter moves on either way.
 */
export function applyStepResult(
  s: TrainState,
  out: {
    params: Params;
    optState: TrainState["optState"];
    ema: TrainState["ema"];
    loss: T.Tensor;
    gradNorm: T.Tensor;
  },
  lr: number,
  epoch: number,
): { state: TrainState; record: StepRecord } {
  const loss = out.loss.item();
  const gradNorm = out.gradNorm.item();
  const skipped = !(Number.isFinite(loss) && Number.isFinite(gradNorm));
  const state = skipped
    ? { ...s, step: s.step + 1 }
    : { ...s, step: s.step + 1, params: out.params, optState: out.optState, ema: out.ema };
  return { state, record: { step: state.step, loss, lr, gradNorm, epoch, skipped } };
}
