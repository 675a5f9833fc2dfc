/**
 * The few-step objectives as the trainer's `CustomObjective` (trainer.ts), so they run through the same
 * compiled step, EMA, checkpoints and resume as `diffuse train`:
 *
 *   consistency          consistency training, iCT recipe (consistency-training.ts): x0 data, no
 *                        teacher; the grid grows by the curriculum N(k) (capped at distill.numScales
 *                        when that is set above the default), pairs drawn log-normally
 *   consistency-distill  consistency distillation (consistency-loss.ts): a VP teacher's one DDIM or Heun
 *                        step between adjacent points of an N-point grid; the target is the run's EMA
 *                        weights (distill.target "ema") or stopgrad(online) ("online")
 *   reflow               flow matching on fixed couplings (z, x) of a flow teacher (reflow.ts); stage 2
 *                        trains at t = 1 only (Liu et al. 2022, Sec. 2.3: one-step distillation)
 *
 * The grid of the consistency objectives spans the VP schedule's timesteps 0..distill.maxTimestep
 * (distill-config.ts). Browser-safe.
 */
import { gridAlphasCumprod } from "../diffusion/consistency-grid.js";
import type { Denoiser } from "../models/denoiser.js";
import type { Params } from "../nn/module.js";
import { type Key, randint, split } from "../random/index.js";
import * as T from "../tensor/index.js";
import type { TrainConfig } from "./config.js";
import { consistencyDistillationLoss, consistencyTables, drawConsistencyInputs } from "./consistency-loss.js";
import {
  consistencyTrainingLoss,
  drawConsistencyTrainingInputs,
  ictScales,
  lognormalPairWeights,
} from "./consistency-training.js";
import type { DistillSettings } from "./distill-config.js";
import { flowMatchingLoss } from "./flow-loss.js";
import type { LossBatch } from "./losses.js";
import { drawReflowInputs, type ReflowPairs } from "./reflow.js";
import type { CustomObjective } from "./trainer.js";

/**
 * Number of grid points of consistency training at step k of K: iCT's curriculum (s0 = 10, s1 = 1280)
 * capped at the timesteps of the grid.
 */
export function ctScales(step: number, totalSteps: number, maxTimestep: number): number {
  return Math.min(ictScales(step, totalSteps), maxTimestep + 1);
}

export interface FewStepParts {
  config: TrainConfig;
  settings: DistillSettings;
  denoiser: Denoiser;
  /** The student's VP scheduler config (consistency objectives). */
  schedulerConfig: Record<string, unknown>;
  /** consistency-distill: the teacher's parameters (same architecture as the student). */
  teacherParams?: Params;
  /** reflow: the couplings. */
  pairs?: ReflowPairs & { labels?: Int32Array };
}

/** The objective of `parts.config.objective` (one of the few-step objectives). */
export function fewStepObjective(parts: FewStepParts): CustomObjective {
  const { config, settings, denoiser } = parts;
  const model = denoiser.forward;
  const cfg = {
    prediction: config.predictionType,
    distance: settings.distance,
    solver: settings.solver,
  };
  if (config.objective === "consistency") {
    const abar = gridAlphasCumprod(parts.schedulerConfig, settings.maxTimestep);
    const cache = new Map<number, ReturnType<typeof tablesAndWeights>>();
    const tablesAndWeights = (n: number) => {
      const tables = consistencyTables(abar, n);
      const s = Array.from(tables.alpha, (a, i) => tables.sigma[i]! / a);
      return { tables, weights: lognormalPairWeights(s) };
    };
    return {
      loss: consistencyTrainingLoss(model, cfg) as CustomObjective["loss"],
      draw: (key, data, state) => {
        const n = ctScales(state.step, config.steps, settings.maxTimestep);
        let tw = cache.get(n);
        if (!tw) {
          tw = tablesAndWeights(n);
          cache.set(n, tw);
        }
        return drawConsistencyTrainingInputs(key, data.x, data.shape, tw.tables, tw.weights, data.labels);
      },
    };
  }
  if (config.objective === "consistency-distill") {
    const teacher = parts.teacherParams;
    if (!teacher) throw new Error("consistency-distill: the teacher's parameters are missing");
    const tables = consistencyTables(
      gridAlphasCumprod(parts.schedulerConfig, settings.maxTimestep),
      settings.numScales,
    );
    return {
      loss: consistencyDistillationLoss(model, cfg) as CustomObjective["loss"],
      draw: (key, data, state) =>
        drawConsistencyInputs(
          key,
          data.x,
          data.shape,
          tables,
          teacher,
          settings.target === "ema" ? state.ema.params : undefined,
          data.labels,
        ),
    };
  }
  if (config.objective === "reflow") {
    const pairs = parts.pairs;
    if (!pairs) throw new Error("reflow: the couplings are missing");
    const times = {
      distribution: config.flowT,
      logitMean: config.flowLogitMean,
      logitStd: config.flowLogitStd,
    };
    const lossCfg = { loss: config.loss, weighting: "none" as const, prediction: config.predictionType };
    const flowLoss = flowMatchingLoss(model, lossCfg);
    return {
      loss: flowLoss as CustomObjective["loss"],
      draw: (key: Key, data) => {
        const b = drawReflowInputs(key, pairs, data.shape[0]!, times, config.numTrainTimesteps, lossCfg);
        const batch = settings.stage === 2 ? atTimeOne(b, config.numTrainTimesteps) : b;
        return pairs.labels ? { ...batch, labels: pickLabels(key, pairs, data.shape[0]!) } : batch;
      },
    };
  }
  throw new Error(
    `few-step objective: "${config.objective}" is not one (consistency, consistency-distill, reflow)`,
  );
}

/** Stage 2 (one-step distillation): every example at t = 1, x_t = z, target z - x. */
function atTimeOne(b: LossBatch, numTrainTimesteps: number): LossBatch {
  const B = b.x0.shape[0]!;
  return {
    ...b,
    timesteps: T.tensor(new Float32Array(B).fill(numTrainTimesteps), [B]),
    alpha: T.tensor(new Float32Array(B), [B]),
    sigma: T.tensor(new Float32Array(B).fill(1), [B]),
  };
}

/** The labels of the pairs `drawReflowInputs` picked with `key` (the same draw). */
function pickLabels(key: Key, pairs: ReflowPairs & { labels?: Int32Array }, batchSize: number): T.Tensor {
  const [kPick] = split(key, 2);
  const pick = randint(kPick!, batchSize, 0, pairs.shape[0]!);
  return T.tensor(
    Int32Array.from(pick, (i) => pairs.labels![i]!),
    [batchSize],
    "int32",
  );
}
