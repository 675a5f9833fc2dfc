/**
 * Two moons, trained live: a class-conditional MLP denoiser (one class per moon, plus the null class
 * that label dropout trains for classifier-free guidance) learns the points with DDPM's L_simple
 * (Ho et al. 2020, eq. 14) through the compiled training step (loss, gradients and AdamW in one ONNX
 * graph). Browser-safe; the page, its test and the speed benchmark all run this same code.
 */
import {
  compile,
  DiffusionPipeline,
  diffusionLoss,
  drawLossInputs,
  type LossConfig,
  lossTables,
  MLPDenoiser,
  makeTrainStep,
  NO_EMA,
  optim,
  random,
  T,
  wrapDenoiser,
} from "diffuse/core";

/** Number of data points, and the two classes (moon 0 upper, moon 1 lower). */
export const MOONS = { points: 1024, classes: 2, noise: 0.06 } as const;

export const MOONS_SCHEDULER = {
  _class_name: "DDPMScheduler",
  num_train_timesteps: 1000,
  beta_schedule: "squaredcos_cap_v2",
  prediction_type: "epsilon",
  clip_sample: false,
};

/**
 * The two-moons data in data units (scikit-learn's make_moons layout): moon 0 is the upper half circle
 * of radius 1 around (0, 0), moon 1 the lower one around (1, 0.5); Gaussian jitter `MOONS.noise`.
 */
export function twoMoons(seed: number, n: number = MOONS.points): { xy: Float32Array; labels: Int32Array } {
  const [kAngle, kJitter] = random.split(random.makeKey(seed), 2);
  const u = random.uniform(kAngle!, n);
  const e = random.normal(kJitter!, 2 * n);
  const xy = new Float32Array(2 * n);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++) {
    const a = Math.PI * u[i]!;
    const [x, y] = labels[i] === 0 ? [Math.cos(a), Math.sin(a)] : [1 - Math.cos(a), 0.5 - Math.sin(a)];
    xy[2 * i] = x + MOONS.noise * e[2 * i]!;
    xy[2 * i + 1] = y + MOONS.noise * e[2 * i + 1]!;
  }
  return { xy, labels };
}

/** Per-coordinate mean and standard deviation (the model trains on standardised points). */
function normalization(xy: Float32Array): { mean: number[]; std: number[] } {
  const n = xy.length / 2;
  const mean = [0, 0];
  const std = [0, 0];
  for (let i = 0; i < xy.length; i++) mean[i % 2]! += xy[i]! / n;
  for (let i = 0; i < xy.length; i++) std[i % 2]! += (xy[i]! - mean[i % 2]!) ** 2 / n;
  return { mean, std: std.map(Math.sqrt) };
}

export interface MoonsOptions {
  seed?: number;
  batch?: number;
  learningRate?: number;
  hidden?: number;
  layers?: number;
  /** ONNX Runtime threads of the compiled step (absent: the runtime's default). */
  threads?: number;
}

/** A live training run on two moons: `step()` trains, `sample()` draws from the current weights. */
export class MoonsTrainer {
  readonly data: { xy: Float32Array; labels: Int32Array };
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

  constructor(o: MoonsOptions = {}) {
    this.seed = o.seed ?? 0;
    this.batch = o.batch ?? 256;
    this.lr = T.scalar(o.learningRate ?? 3e-3);
    this.data = twoMoons(this.seed);
    this.norm = normalization(this.data.xy);
    this.scaled = this.data.xy.map((v, i) => (v - this.norm.mean[i % 2]!) / this.norm.std[i % 2]!);
    this.model = new MLPDenoiser({
      in_features: 2,
      hidden_size: o.hidden ?? 128,
      num_layers: o.layers ?? 3,
      num_class_embeds: MOONS.classes + 1,
    });
    this.model.init(random.makeKey(this.seed + 1));
    this.lossConfig = {
      loss: "l2",
      weighting: "none",
      prediction: "epsilon",
      labelDropout: 0.1,
      nullClass: MOONS.classes,
    };
    this.tables = lossTables(MOONS_SCHEDULER, this.lossConfig);
    const denoiser = wrapDenoiser(this.model);
    const opts = o.threads ? { threads: o.threads } : {};
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
    const pick = random.randint(kPick!, B, 0, this.data.labels.length);
    const x0 = Float32Array.from({ length: 2 * B }, (_, j) => this.scaled[2 * pick[j >> 1]! + (j % 2)]!);
    const y = Int32Array.from(pick, (i) => this.data.labels[i]!);
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
      schedulerConfig: MOONS_SCHEDULER,
      info: {
        numClasses: MOONS.classes,
        nullClass: MOONS.classes,
        dataKind: "points",
        normalization: this.norm,
      },
    });
  }

  /** `n` samples (classes alternating) in data units. */
  async sample(n: number, sampler = "dpmsolver++", steps = 20, seed = 0, guidanceScale = 1) {
    const labels = Int32Array.from({ length: n }, (_, i) => i % MOONS.classes);
    const out = await this.pipeline().generate({ labels, sampler, steps, seed, guidanceScale });
    return { xy: out.inDataUnits(), labels };
  }
}

/**
 * How well samples lie on the data: the median over samples of the distance to the nearest data point
 * of the same class (data units; the moons have radius 1 and jitter `MOONS.noise`).
 */
export function medianDistanceToData(
  samples: Float32Array,
  sampleLabels: Int32Array,
  data: { xy: Float32Array; labels: Int32Array },
): number {
  const d: number[] = [];
  for (let i = 0; i < sampleLabels.length; i++) {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < data.labels.length; j++) {
      if (data.labels[j] !== sampleLabels[i]) continue;
      const dx = samples[2 * i]! - data.xy[2 * j]!;
      const dy = samples[2 * i + 1]! - data.xy[2 * j + 1]!;
      best = Math.min(best, dx * dx + dy * dy);
    }
    d.push(Math.sqrt(best));
  }
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}
