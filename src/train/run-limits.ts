/**
 * The memory a training run plans to use, checked before the model is built: the training step on a
 * micro-batch of `batchSize` (parameters, gradients, AdamW moments, EMA, stored activations), and the
 * sample grids drawn from the EMA weights (`numSamples` at once, doubled with guidance). A run beyond
 * the budget is refused with the estimate (ResourceError) instead of dying of an out-of-memory kill.
 */
import { checkMemory, estimateModel } from "../models/estimate.js";
import type { TrainConfig } from "./config.js";

const HINT = "pass --max-memory SIZE to allow more, or reduce --batch-size / --num-samples / the model";

/** Throws a ResourceError when training or the sample grids of `model` would exceed `limitBytes`. */
export function checkRunMemory(
  config: TrainConfig,
  model: Record<string, unknown>,
  guided: boolean,
  limitBytes: number,
): void {
  const e = estimateModel(model);
  checkMemory(e, {
    batch: config.batchSize,
    workload: "training",
    limitBytes,
    source: `training with batch size ${config.batchSize}`,
    hint: HINT,
  });
  const n = config.numSamples * (guided && config.guidanceScale !== 1 ? 2 : 1);
  checkMemory(e, {
    batch: n,
    workload: "inference",
    limitBytes,
    source: `sample grids of ${config.numSamples} samples`,
    hint: HINT,
  });
}
