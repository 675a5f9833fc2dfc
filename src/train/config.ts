/**
 * The training run's configuration: one flat, JSON-serialisable object (the `--config` file and the
 * CLI flags use the same camelCase keys), resolved against a preset's defaults and validated at the
 * boundary. Errors name the field, the value and what was expected. Browser-safe.
 */
import { PREDICTION_TYPES, type PredictionType } from "../diffusion/loss-weights.js";
import { BETA_SCHEDULES } from "../diffusion/schedules.js";
import { FLOW_TIME_DISTRIBUTIONS } from "./flow-loss.js";
import { getPreset, PRESET_NAMES, type Preset } from "./presets.js";

/** "huber" is diffusers' pseudo-Huber (c), "torch-huber" torch's F.huber_loss (delta): see losses.ts. */
export const LOSS_KINDS = ["l2", "l1", "huber", "torch-huber"] as const;
export const WEIGHTINGS = ["none", "min-snr", "vlb"] as const;
export const LR_SCHEDULES = ["cosine", "constant"] as const;
/**
 * What the network learns: VP diffusion (prediction type), flow matching (flow-loss.ts), consistency
 * training (consistency-training.ts), or, with a teacher (`diffuse distill`, the `distill` field),
 * consistency distillation (consistency-loss.ts) and reflow (reflow.ts).
 */
export const OBJECTIVES = [
  "diffusion",
  "flow",
  "consistency",
  "consistency-distill",
  "reflow",
  "joint",
] as const;
export type Objective = (typeof OBJECTIVES)[number];
/** Every noise schedule of diffusion/schedules.ts: diffusers' and the tutorial's (tutorial_cosine, ...). */
export { BETA_SCHEDULES };

export interface TrainConfig {
  /** Dataset name for `loadDataset` ("mnist", "swissroll", "folder:/path", ...). */
  dataset: string;
  /** Latent diffusion: an AutoencoderKL folder (diffuse train-vae); "" or absent = pixel space. */
  vae?: string;
  /**
   * Warm start (objective "joint"): a trained diffusers UNet2DModel folder whose weights the new run's
   * U-Net starts from, by name (train/init-from-node.ts); "" or absent = the preset's random init. Read
   * only when the run starts, never on --resume (the checkpoint holds the weights).
   */
  initFrom?: string;
  /** Keep only the first N training examples (small runs, tests); 0 = all. */
  limit: number;
  /** Preset name; "" picks one from the data shape. */
  preset: string;
  /** diffusers config fields that override the preset's model config. */
  model: Record<string, unknown>;
  classConditional: boolean;
  /** Probability of replacing a label by the null class (classifier-free guidance training). */
  labelDropout: number;
  betaSchedule: (typeof BETA_SCHEDULES)[number];
  numTrainTimesteps: number;
  predictionType: PredictionType;
  /** The training objective: VP diffusion (`predictionType`) or flow matching (velocity eps - x0). */
  objective: (typeof OBJECTIVES)[number];
  /** Few-step objectives (consistency, consistency-distill, reflow): their settings (distill-config.ts). */
  distill: Record<string, unknown>;
  /** Flow matching: how t is drawn (uniform, or logit-normal of Esser et al. 2024). */
  flowT: (typeof FLOW_TIME_DISTRIBUTIONS)[number];
  /** Flow matching, logit-normal t: the mean m of logit(t). */
  flowLogitMean: number;
  /** Flow matching, logit-normal t: the std s of logit(t). */
  flowLogitStd: number;
  loss: (typeof LOSS_KINDS)[number];
  /** c of the pseudo-Huber loss ("huber"). */
  huberC: number;
  /** delta of torch's Huber loss ("torch-huber"). */
  huberDelta: number;
  weighting: (typeof WEIGHTINGS)[number];
  /** gamma of min-SNR-gamma weighting. */
  snrGamma: number;
  /** Offset-noise strength (0 = off). */
  offsetNoise: number;
  /** Per-channel loss weights of image data (one per channel; losses.ts); [] = uniform. */
  channelWeights: number[];
  /** objective "joint" (joint-objective.ts): lambda, the weight of the label's noise-prediction term. */
  jointLabelWeight: number;
  /** objective "joint": the probability of a clean label (p(x | y)) and, as much, of a clean image (p(y | x)). */
  jointCleanProb: number;
  steps: number;
  batchSize: number;
  /** Micro-batches per optimizer step (each of `batchSize` examples). */
  gradAccum: number;
  lr: number;
  lrSchedule: (typeof LR_SCHEDULES)[number];
  warmupSteps: number;
  /** Floor of the cosine schedule (torch's CosineAnnealingLR `eta_min`); 0: decays to zero. */
  lrMin: number;
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  /** Global-norm clipping threshold (0 = off). */
  maxGradNorm: number;
  emaDecay: number;
  seed: number;
  out: string;
  resume: boolean;
  /** Write a log line (and update the progress) every N steps. */
  logEvery: number;
  /** Validation loss (EMA weights) every N steps; 0 = only at the end. */
  validEvery: number;
  /** Number of held-out examples for the validation loss. */
  validSize: number;
  /** Sample grid (EMA weights) every N steps; 0 = only at the end. */
  sampleEvery: number;
  /** Checkpoint every N steps; 0 = only at the end. */
  checkpointEvery: number;
  numSamples: number;
  sampler: string;
  samplerSteps: number;
  /** Guidance scale of the sample grids of a class-conditional run. */
  guidanceScale: number;
  /** ONNX Runtime intra-op threads; 0 = ORT's default. */
  threads: number;
  /**
   * Stop the run after this many CONSECUTIVE steps with a non-finite loss or gradient norm (each one
   * skips its update); 0 = never stop (skip them all). Default 3: a single overflow can be a fluke
   * of one batch, three in a row mean the run has diverged.
   */
  maxBadSteps: number;
}

/** Defaults that do not come from the preset. */
export const TRAIN_DEFAULTS: Omit<
  TrainConfig,
  | "lr"
  | "batchSize"
  | "steps"
  | "warmupSteps"
  | "lrSchedule"
  | "betaSchedule"
  | "numTrainTimesteps"
  | "emaDecay"
  | "sampler"
  | "samplerSteps"
  | "numSamples"
  | "classConditional"
> = {
  dataset: "mnist",
  vae: "",
  initFrom: "",
  limit: 0,
  preset: "",
  model: {},
  labelDropout: 0.1,
  predictionType: "epsilon",
  objective: "diffusion",
  distill: {},
  flowT: "uniform",
  flowLogitMean: 0,
  flowLogitStd: 1,
  loss: "l2",
  huberC: 0.1,
  huberDelta: 1,
  lrMin: 0,
  weighting: "min-snr",
  snrGamma: 5,
  offsetNoise: 0,
  channelWeights: [],
  jointLabelWeight: 4,
  jointCleanProb: 0.25,
  gradAccum: 1,
  weightDecay: 0.01,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEps: 1e-8,
  maxGradNorm: 1,
  seed: 0,
  out: "runs/mnist",
  resume: false,
  logEvery: 10,
  validEvery: 0,
  validSize: 256,
  sampleEvery: 0,
  checkpointEvery: 500,
  /** The grids' guidance: the pipeline's default (PIPELINE_DEFAULTS.guidanceScale). */
  guidanceScale: 2,
  threads: 0,
  maxBadSteps: 3,
};

export class ConfigFieldError extends Error {
  override name = "ConfigError";
}

type Kind =
  | "string"
  | "string-or-empty"
  | "boolean"
  | "int"
  | "posint"
  | "number"
  | "real"
  | "posnumber"
  | "prob"
  | "object"
  | "numbers"
  | readonly string[];

const FIELDS: Record<keyof TrainConfig, Kind> = {
  dataset: "string",
  vae: "string-or-empty",
  initFrom: "string-or-empty",
  limit: "int",
  preset: ["", ...PRESET_NAMES],
  model: "object",
  classConditional: "boolean",
  labelDropout: "prob",
  betaSchedule: BETA_SCHEDULES,
  numTrainTimesteps: "posint",
  predictionType: PREDICTION_TYPES,
  objective: OBJECTIVES,
  distill: "object",
  flowT: FLOW_TIME_DISTRIBUTIONS,
  flowLogitMean: "real",
  flowLogitStd: "posnumber",
  loss: LOSS_KINDS,
  huberC: "posnumber",
  huberDelta: "posnumber",
  weighting: WEIGHTINGS,
  snrGamma: "number",
  offsetNoise: "number",
  channelWeights: "numbers",
  jointLabelWeight: "posnumber",
  jointCleanProb: "prob",
  steps: "posint",
  batchSize: "posint",
  gradAccum: "posint",
  lr: "number",
  lrSchedule: LR_SCHEDULES,
  warmupSteps: "int",
  lrMin: "number",
  weightDecay: "number",
  adamBeta1: "prob",
  adamBeta2: "prob",
  adamEps: "number",
  maxGradNorm: "number",
  emaDecay: "prob",
  seed: "int",
  out: "string",
  resume: "boolean",
  logEvery: "posint",
  validEvery: "int",
  validSize: "int",
  sampleEvery: "int",
  checkpointEvery: "int",
  numSamples: "posint",
  sampler: "string",
  samplerSteps: "posint",
  guidanceScale: "number",
  threads: "int",
  maxBadSteps: "int",
};

/** The keys a config file may hold. */
export const TRAIN_CONFIG_KEYS = Object.keys(FIELDS) as (keyof TrainConfig)[];

function expected(kind: Kind): string {
  if (Array.isArray(kind)) return `one of ${kind.map((k) => JSON.stringify(k)).join(", ")}`;
  return {
    string: "a string",
    "string-or-empty": "a string (a folder path, or empty)",
    boolean: "true or false",
    int: "a non-negative integer",
    posint: "a positive integer",
    number: "a finite number >= 0",
    real: "a finite number",
    posnumber: "a finite number > 0",
    prob: "a number in [0, 1]",
    object: "a JSON object",
    numbers: "a list of finite numbers >= 0",
  }[kind as string]!;
}

function valid(kind: Kind, v: unknown): boolean {
  if (Array.isArray(kind)) return typeof v === "string" && kind.includes(v);
  switch (kind) {
    case "string":
      return typeof v === "string" && v.length > 0;
    case "string-or-empty":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "int":
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case "posint":
      return Number.isSafeInteger(v) && (v as number) >= 1;
    case "number":
      return typeof v === "number" && Number.isFinite(v) && v >= 0;
    case "real":
      return typeof v === "number" && Number.isFinite(v);
    case "posnumber":
      return typeof v === "number" && Number.isFinite(v) && v > 0;
    case "prob":
      return typeof v === "number" && v >= 0 && v <= 1;
    case "numbers":
      return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0);
    default:
      return typeof v === "object" && v !== null && !Array.isArray(v);
  }
}

/** Checks the fields present in `partial` (unknown keys are errors); returns it typed. */
export function checkTrainConfigFields(
  partial: Record<string, unknown>,
  source = "config",
): Partial<TrainConfig> {
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    const kind = FIELDS[key as keyof TrainConfig];
    if (!kind) {
      throw new ConfigFieldError(
        `${source}: unknown field ${JSON.stringify(key)}; expected one of ${TRAIN_CONFIG_KEYS.join(", ")}`,
      );
    }
    if (!valid(kind, value)) {
      throw new ConfigFieldError(
        `${source}: field "${key}" is ${JSON.stringify(value)}; expected ${expected(kind)}`,
      );
    }
  }
  return partial as Partial<TrainConfig>;
}

/**
 * The full config: `TRAIN_DEFAULTS`, then the preset's training defaults (the preset named in
 * `partial`, else `fallbackPreset(classConditional)`), then `partial`.
 */
export function resolveTrainConfig(
  partial: Partial<TrainConfig>,
  fallbackPreset: (classConditional: boolean) => Preset,
): { config: TrainConfig; preset: Preset } {
  checkTrainConfigFields(partial as Record<string, unknown>);
  let preset = partial.preset ? getPreset(partial.preset) : fallbackPreset(partial.classConditional ?? false);
  if (partial.classConditional !== undefined && partial.classConditional !== preset.classConditional) {
    // --preset unet28 --class-conditional means unet28-cond (and the reverse).
    preset = getPreset(partial.classConditional ? `${preset.name}-cond` : preset.name.replace(/-cond$/, ""));
  }
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const config: TrainConfig = {
    ...TRAIN_DEFAULTS,
    ...preset.training,
    ...objectiveDefaults(partial.objective),
    ...defined,
    classConditional: preset.classConditional,
    preset: preset.name,
  };
  // A preset's warm-up longer than a short run shrinks to a tenth of the run.
  if (config.warmupSteps > config.steps) config.warmupSteps = Math.floor(config.steps / 10);
  checkTrainConfigRelations(config);
  return { config, preset };
}

/**
 * Checks between fields of a resolved config, so that a run fails before training instead of at its
 * end (the sample grid): the sampler cannot take more steps than the training schedule has timesteps.
 */
export function checkTrainConfigRelations(config: TrainConfig, source = "config"): void {
  checkObjectiveFields(config, source);
  if (config.samplerSteps > config.numTrainTimesteps) {
    throw new ConfigFieldError(
      `${source}: field "samplerSteps" is ${config.samplerSteps} but "numTrainTimesteps" is ${config.numTrainTimesteps}; expected samplerSteps <= numTrainTimesteps (a sampler cannot take more steps than the schedule has timesteps)`,
    );
  }
}

/**
 * What the flow objective changes in the defaults: no SNR weighting (the VP SNR means nothing on the
 * flow path) and the flow-matching Euler sampler for the run's sample grids.
 */
const FLOW_DEFAULTS: Partial<TrainConfig> = { weighting: "none", sampler: "flow_match_euler" };

/**
 * The consistency objectives: no SNR weighting (their own weights), the VP consistency sampler for the
 * grids; consistency training learns x0 ("sample": an epsilon net's x0 blows up from scratch).
 */
const CONSISTENCY_DEFAULTS: Partial<TrainConfig> = {
  weighting: "none",
  sampler: "consistency",
  samplerSteps: 1,
};

/** The defaults an objective changes (beyond TRAIN_DEFAULTS and the preset's). */
export function objectiveDefaults(objective: Objective | undefined): Partial<TrainConfig> {
  if (objective === "flow" || objective === "reflow") return FLOW_DEFAULTS;
  if (objective === "consistency") return { ...CONSISTENCY_DEFAULTS, predictionType: "sample" };
  if (objective === "consistency-distill") return CONSISTENCY_DEFAULTS;
  // joint-objective.ts: plain means of both noise terms
  if (objective === "joint") return { weighting: "none" };
  return {};
}

/** Objectives whose network predicts a flow velocity (saved with a flow-matching scheduler config). */
export function isFlowObjective(objective: Objective): boolean {
  return objective === "flow" || objective === "reflow";
}

/** Fields that one objective does not use must keep their defaults (a set value would be ignored). */
function checkObjectiveFields(config: TrainConfig, source: string): void {
  const unused = (key: keyof TrainConfig, why: string) => {
    const def = { ...TRAIN_DEFAULTS, ...objectiveDefaults(config.objective) }[
      key as keyof typeof TRAIN_DEFAULTS
    ];
    if (JSON.stringify(config[key]) !== JSON.stringify(def)) {
      throw new ConfigFieldError(
        `${source}: field "${key}" is ${JSON.stringify(config[key])} but "objective" is ${JSON.stringify(config.objective)}; ${why}`,
      );
    }
  };
  if (config.objective !== "diffusion") {
    unused("weighting", 'the SNR weightings are for VP diffusion; expected "none" (or drop it)');
  }
  if (isFlowObjective(config.objective)) {
    unused("predictionType", "a flow model predicts the velocity eps - x0; drop predictionType");
  } else {
    for (const key of ["flowT", "flowLogitMean", "flowLogitStd"] as const) {
      unused(key, 'it applies only to "objective": "flow"');
    }
  }
  if (config.objective !== "joint") {
    for (const key of ["jointLabelWeight", "jointCleanProb"] as const) {
      unused(key, 'it applies only to "objective": "joint"');
    }
    if (config.initFrom) {
      throw new ConfigFieldError(
        `${source}: field "initFrom" is ${JSON.stringify(config.initFrom)} but "objective" is ${JSON.stringify(config.objective)}; warm starts are implemented for "objective": "joint" only`,
      );
    }
  } else if (config.jointCleanProb > 0.5) {
    throw new ConfigFieldError(
      `${source}: field "jointCleanProb" is ${config.jointCleanProb}; expected at most 0.5 (it is drawn twice: a clean label, then a clean image)`,
    );
  }
  if (config.objective === "diffusion" || config.objective === "flow" || config.objective === "joint") {
    unused(
      "distill",
      "it applies only to the few-step objectives (consistency, consistency-distill, reflow)",
    );
  }
}
