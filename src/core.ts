/**
 * The browser-safe core of diffuse (no Node-only API): `import ... from "diffuse/core"`, or plain
 * `"diffuse"` under a bundler's "browser" condition. `compile` needs an ONNX Runtime: pass
 * onnxruntime-web (or any object with its `InferenceSession`/`Tensor`) to `setDefaultRuntime`; eager
 * mode needs nothing. The Node entry (index.ts) re-exports all of this with onnxruntime-node set.
 */

// Layers as namespaces.
export * as diffusion from "./diffusion/index.js";
export * as metrics from "./eval/metrics.js";
// Models: the one Denoiser concept (any network as (params, x_t, t, labels?) -> output).
export { type Denoiser, type DenoiserFn, denoiserFromConfig, wrapDenoiser } from "./models/denoiser.js";
export * as models from "./models/index.js";
export { MLPDenoiser, type MLPDenoiserConfig } from "./models/mlp-denoiser.js";
export * as nn from "./nn/index.js";
// Sampling: pipelines, the guided sampling loop, schedulers by name.
export { cyclicLabels, type GenerateOptions, generate } from "./pipelines/generate.js";
export type { ModelInfo } from "./pipelines/model-info.js";
export {
  DiffusionPipeline,
  PIPELINE_DEFAULTS,
  type PipelineFiles,
  type PipelineGenerateOptions,
  PipelineOutput,
  type PipelineParts,
} from "./pipelines/pipeline.js";
export { createSchedulerByName, SAMPLER_NAMES } from "./pipelines/scheduler-names.js";
export * as random from "./random/index.js";
export * as T from "./tensor/index.js";
// Tensors, gradients, compilation.
export { compile, grad, setDefaultRuntime, Tensor, valueAndGrad } from "./tensor/index.js";
// Training: the objective (DDPM L_simple and its weightings) and the compiled step.
export {
  diffusionLoss,
  drawLossInputs,
  type LossBatch,
  type LossConfig,
  type LossTables,
  lossTables,
} from "./train/losses.js";
export * as optim from "./train/optim/index.js";
export { makeTrainStep, NO_EMA, type TrainStep, type TrainStepOptions } from "./train/step.js";

// (schedulerFromConfig, diffusers' from_config, joins here: see issue 8.)

// Metrics on features (FID, KID, precision/recall, ...), as `diffuse eval` computes them.
export { type SampleQualityReport, sampleQuality } from "./eval/metrics.js";
// Images and files that need no file system.
export { type GridOptions, imageGrid, type RawImage, toByte } from "./io/image.js";
export { scatterPlot } from "./io/plot.js";
export { encodePngAsync, encodePngWith, PngError } from "./io/png-encode.js";
export { parseSafetensors, SafetensorsError, serializeSafetensors } from "./io/safetensors.js";
