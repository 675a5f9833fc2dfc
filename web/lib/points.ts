/**
 * A 2-D data set trained live (two moons by default, or points drawn with the mouse): an MLP denoiser (class-conditional on two moons,
 * one class per moon plus the null class that label dropout trains for classifier-free guidance;
 * unconditional on the unlabelled sets) learns the points with DDPM's L_simple
 * (Ho et al. 2020, eq. 14) through the compiled training step (loss, gradients and AdamW in one ONNX
 * graph). Browser-safe; the page, its test and the speed benchmark all run this same code.
 */
import {
  checkerboard,
  compile,
  DiffusionPipeline,
  diffusionLoss,
  drawLossInputs,
  type LossConfig,
  lossTables,
  MLPDenoiser,
  makeTrainStep,
  moons,
  NO_EMA,
  type OrtLike,
  optim,
  random,
  swissroll,
  T,
  wrapDenoiser,
} from "diffuse/core";

/** The 2-D data sets the page trains on (the library's toy sets, FFJORD's definitions). */
export const TOY_SETS = { moons, swissroll, checkerboard } as const;
export type ToySet = keyof typeof TOY_SETS;

/** Number of data points. */
export const TOY_POINTS = 1024;

export const POINTS_SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 1000,
  beta_schedule: "squaredcos_cap_v2",
  prediction_type: "epsilon",
  clip_sample: false,
};

/** A toy set's points and labels (labels: moons only, one class per moon). */
export function toyData(
  set: ToySet,
  seed: number,
): { xy: Float32Array; labels: Int32Array | null; classes: number } {
  const d = TOY_SETS[set](random.makeKey(seed), TOY_POINTS);
  return { xy: d.data, labels: d.labels ?? null, classes: d.numClasses ?? 0 };
}

/** Fewest points a drawn set may have. */
export const MIN_DRAWN_POINTS = 16;

/** A set of points drawn by hand (x, y interleaved, data units): unlabelled training data. */
export function drawnData(xy: ArrayLike<number>): { xy: Float32Array; labels: null; classes: 0 } {
  if (xy.length % 2 !== 0) throw new Error(`drawn points: ${xy.length} coordinates, expected (x, y) pairs`);
  if (xy.length / 2 < MIN_DRAWN_POINTS) {
    throw new Error(`drawn points: ${xy.length / 2} drawn, expected at least ${MIN_DRAWN_POINTS}: draw more`);
  }
  return { xy: Float32Array.from(xy), labels: null, classes: 0 };
}

/**
 * Per-coordinate mean and standard deviation (the model trains on standardised points). A drawn set
 * can be flat along one axis (a straight stroke): that axis's deviation is floored at 1% of the other's.
 */
function normalization(xy: Float32Array): { mean: number[]; std: number[] } {
  const n = xy.length / 2;
  const mean = [0, 0];
  const std = [0, 0];
  for (let i = 0; i < xy.length; i++) mean[i % 2]! += xy[i]! / n;
  for (let i = 0; i < xy.length; i++) std[i % 2]! += (xy[i]! - mean[i % 2]!) ** 2 / n;
  const s = std.map(Math.sqrt);
  const floor = Math.max(1e-2 * Math.max(s[0]!, s[1]!), 1e-6);
  return { mean, std: s.map((v) => Math.max(v, floor)) };
}

export interface PointsOptions {
  /** The data set: a toy set's name (default "moons") or drawn points (see `drawnData`). */
  data?: ToySet | { xy: ArrayLike<number> };
  seed?: number;
  batch?: number;
  learningRate?: number;
  hidden?: number;
  layers?: number;
  /** ONNX Runtime threads of the compiled step (absent: the runtime's default). */
  threads?: number;
  /** The ONNX Runtime of the compiled training step (absent: the default runtime). */
  runtime?: OrtLike;
}

/** A live training run on two moons: `step()` trains, `sample()` draws from the current weights. */
export class PointsTrainer {
  readonly data: { xy: Float32Array; labels: Int32Array | null; classes: number };
  readonly norm: { mean: number[]; std: number[] };
  readonly losses: number[] = [];
  private readonly model: MLPDenoiser;
  private readonly lossConfig: LossConfig;
  private readonly tables: ReturnType<typeof lossTables>;
  private readonly trainStep;
  private readonly scaled: Float32Array;
  private params;
  private optState;
  private readonly seed: number;
  private readonly batch: number;
  private readonly lr: T.Tensor;

  constructor(o: PointsOptions = {}) {
    this.seed = o.seed ?? 0;
    this.batch = o.batch ?? 256;
    this.lr = T.scalar(o.learningRate ?? 3e-3);
    const data = o.data ?? "moons";
    this.data = typeof data === "string" ? toyData(data, this.seed) : drawnData(data.xy);
    this.norm = normalization(this.data.xy);
    this.scaled = this.data.xy.map((v, i) => (v - this.norm.mean[i % 2]!) / this.norm.std[i % 2]!);
    this.model = new MLPDenoiser({
      in_features: 2,
      hidden_size: o.hidden ?? 128,
      num_layers: o.layers ?? 3,
      num_class_embeds: this.data.labels ? this.data.classes + 1 : null,
    });
    this.model.init(random.makeKey(this.seed + 1));
    this.lossConfig = {
      loss: "l2",
      weighting: "none",
      prediction: "epsilon",
      ...(this.data.labels ? { labelDropout: 0.1, nullClass: this.data.classes } : {}),
    };
    this.tables = lossTables(POINTS_SCHEDULER, this.lossConfig);
    const denoiser = wrapDenoiser(this.model);
    const opts = {
      ...(o.threads ? { threads: o.threads } : {}),
      ...(o.runtime ? { runtime: o.runtime } : {}),
    };
    this.trainStep = compile(makeTrainStep(diffusionLoss(denoiser.forward, this.lossConfig)), opts);
    this.params = this.model.parameters();
    this.optState = optim.initAdamW(this.params);
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.losses.length;
  }

  /** One optimizer step on a random batch; returns its loss. */
  async step(): Promise<number> {
    const B = this.batch;
    const key = random.foldIn(random.makeKey(this.seed + 2), this.steps);
    const [kPick, kLoss] = random.split(key, 2);
    const pick = random.randint(kPick!, B, 0, this.scaled.length / 2);
    const x0 = Float32Array.from({ length: 2 * B }, (_, j) => this.scaled[2 * pick[j >> 1]! + (j % 2)]!);
    const labels = this.data.labels;
    const y = labels ? Int32Array.from(pick, (i) => labels[i]!) : undefined;
    const batch = drawLossInputs(kLoss!, x0, [B, 2], this.tables, this.lossConfig, y);
    const r = await this.trainStep(this.params, this.optState, NO_EMA, batch, this.lr);
    this.params = r.params;
    this.optState = r.optState;
    const loss = r.loss.item();
    this.losses.push(loss);
    return loss;
  }

  /** A pipeline over the current weights (data units via the normalisation). */
  pipeline(): DiffusionPipeline {
    return new DiffusionPipeline({
      denoiser: wrapDenoiser(this.model),
      params: this.params,
      schedulerConfig: POINTS_SCHEDULER,
      info: {
        ...(this.data.labels ? { numClasses: this.data.classes, nullClass: this.data.classes } : {}),
        dataKind: "points",
        normalization: this.norm,
      },
    });
  }

  /** `n` samples (classes alternating, for labelled data) in data units. */
  async sample(n: number, sampler = "dpmsolver++", steps = 20, seed = 0, guidanceScale = 1) {
    const k = this.data.classes;
    const labels = this.data.labels ? Int32Array.from({ length: n }, (_, i) => i % k) : null;
    const out = await this.pipeline().generate({
      ...(labels ? { labels, guidanceScale } : { numSamples: n }),
      sampler,
      steps,
      seed,
    });
    return { xy: out.inDataUnits(), labels };
  }
}

/**
 * How well samples lie on the data: the median over samples of the distance to the nearest data point
 * (of the same class, for labelled data), in data units (FFJORD's moons have radius 2, jitter 0.2).
 */
export function medianDistanceToData(
  samples: Float32Array,
  sampleLabels: Int32Array | null,
  data: { xy: Float32Array; labels: Int32Array | null },
): number {
  const d: number[] = [];
  for (let i = 0; i < samples.length / 2; i++) {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < data.xy.length / 2; j++) {
      if (sampleLabels && data.labels && data.labels[j] !== sampleLabels[i]) continue;
      const dx = samples[2 * i]! - data.xy[2 * j]!;
      const dy = samples[2 * i + 1]! - data.xy[2 * j + 1]!;
      best = Math.min(best, dx * dx + dy * dy);
    }
    d.push(Math.sqrt(best));
  }
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}
