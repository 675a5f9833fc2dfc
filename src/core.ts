/**
 * The browser-safe core of diffuse (no Node-only API): `import ... from "diffuse/core"`, or plain
 * `"diffuse"` under a bundler's "browser" condition. `compile` needs an ONNX Runtime: pass
 * onnxruntime-web (or any object with its `InferenceSession`/`Tensor`) to `setDefaultRuntime`; eager
 * mode needs nothing. The Node entry (index.ts) re-exports all of this with onnxruntime-node set.
 */

export { jointImages, splitJointImages } from "./data/joint-image.js";
// Joint diffusion (tutorial 8.3): mixed tables and (image, label) pairs in one model.
export * as table from "./data/table-schema.js";
export {
  alphaBarAtTimestep,
  type ClassifierGuidanceOptions,
  classifierGuided,
  guidedEps,
  type LogProbGradient,
} from "./diffusion/classifier-guidance.js";
// Few-step generation: flow matching (objective, samplers, straightness) and consistency distillation.
export { consistencyStepIndices, gridAlphasCumprod } from "./diffusion/consistency-grid.js";
// Layers as namespaces.
export * as diffusion from "./diffusion/index.js";
export { createScheduler, schedulerFromConfig } from "./diffusion/index.js";
export { type GridConsistencyFn, sampleConsistencyVp } from "./diffusion/samplers/consistency-vp.js";
export {
  flowModelVelocity,
  flowStraightness,
  flowTimeGrid,
  type Straightness,
  sampleFlowEuler,
  sampleFlowHeun,
  type VelocityFn,
} from "./diffusion/samplers/flow.js";
export {
  type ImputeScore,
  imputeKnn,
  imputeMeanMode,
  type MaskedRows,
  scoreImputation,
} from "./eval/impute-baselines.js";
export * as metrics from "./eval/metrics.js";
export { InputError, type InputErrorWhere, InputFileError } from "./io/input-error.js";
// Models: the one Denoiser concept (any network as (params, x_t, t, labels?) -> output).
export { type Denoiser, type DenoiserFn, denoiserFromConfig, wrapDenoiser } from "./models/denoiser.js";
export * as models from "./models/index.js";
export { type JointOutput, JointUNet, LABEL_PREFIX } from "./models/joint-unet.js";
export {
  JOINT_UNET_CLASS,
  type JointUNetConfig,
  LABEL_HEADS,
  LABEL_PREDICTIONS,
  type LabelHead,
  type LabelPrediction,
  parseJointUNetConfig,
} from "./models/joint-unet-config.js";
export { MLPDenoiser, type MLPDenoiserConfig } from "./models/mlp-denoiser.js";
export { NoiseConditionedClassifier } from "./models/noise-classifier.js";
export type { NoiseClassifierConfig } from "./models/noise-classifier-config.js";
export * as nn from "./nn/index.js";
export { type ClassifierGuidance, classifierGradient } from "./pipelines/classifier-gradient.js";
export {
  checkConsistencySteps,
  type Forward as ConsistencyForward,
  generateConsistency,
} from "./pipelines/consistency-generate.js";
export type {
  DecodeOptions,
  EditOptions,
  InterpolateOptions,
  InversionMethod,
  InvertOptions,
} from "./pipelines/edit.js";
export {
  EXPORT_FILES,
  EXPORT_NAMES,
  type ExportedDenoiser,
  type ExportedValue,
  type ExportManifest,
  exportDenoiser,
} from "./pipelines/export-onnx.js";
// Sampling: pipelines, the guided sampling loop, schedulers by name.
export { cyclicLabels, type GenerateOptions, type GenerateResult, generate } from "./pipelines/generate.js";
export {
  type BatchedGenerateOptions,
  batchRanges,
  DEFAULT_SAMPLE_BATCH,
  generateBatches,
  type SampleBatch,
  startNoiseRows,
} from "./pipelines/generate-batches.js";
export { checkTableModel, type ImputeOptions, imputeEncoded } from "./pipelines/impute.js";
export {
  type InferClassOptions,
  type InferredClasses,
  type InpaintOptions,
  inferClasses,
  inpaint,
} from "./pipelines/inpaint.js";
export {
  argmaxRows,
  classifyOneShot,
  type JointForward,
  type JointSampleOptions,
  type JointSampler,
  jointSampler,
  jointTimesteps,
  labelEps,
  sampleImagesGivenLabels,
  sampleLabelsGivenImages,
  samplePairs,
} from "./pipelines/joint-sample.js";
export { LatentDecoder } from "./pipelines/latent.js";
export type { ConsistencyModelInfo, ModelInfo, ReflowModelInfo } from "./pipelines/model-info.js";
export {
  DiffusionPipeline,
  PIPELINE_DEFAULTS,
  type PipelineFiles,
  type PipelineGenerateOptions,
  PipelineOutput,
  type PipelineParts,
} from "./pipelines/pipeline.js";
export {
  canonicalSamplerName,
  createSchedulerByName,
  type FlowKind,
  type ResolvedSampler,
  resolveSampler,
  SAMPLER_NAMES,
  type SamplerSpec,
} from "./pipelines/samplers.js";
export {
  pipelineStraightness,
  type StraightnessOptions,
  type StraightnessReport,
} from "./pipelines/straightness.js";
export * as random from "./random/index.js";
export * as T from "./tensor/index.js";
// Tensors, gradients, compilation.
export { compile, grad, setDefaultRuntime, Tensor, valueAndGrad } from "./tensor/index.js";
export {
  type ConsistencyBatch,
  type ConsistencyConfig,
  type ConsistencyTables,
  consistencyDistillationLoss,
  consistencyFunction,
  consistencyTables,
  drawConsistencyInputs,
  type GridPoint,
} from "./train/consistency-loss.js";
export {
  type ConsistencyTrainingBatch,
  consistencyTrainingLoss,
  drawConsistencyTrainingInputs,
  ictScales,
  lognormalPairWeights,
} from "./train/consistency-training.js";
export { type DistillSettings, resolveDistillSettings } from "./train/distill-config.js";
export { type FewStepParts, fewStepObjective } from "./train/few-step-objectives.js";
export {
  drawFlowInputs,
  drawFlowTimes,
  type FlowTimeConfig,
  flowMatchingLoss,
  flowSchedulerConfig,
} from "./train/flow-loss.js";
export {
  drawCleanKinds,
  drawJointInputs,
  JOINT_DEFAULTS,
  type JointBatch,
  type JointObjectiveSettings,
  jointLoss,
  jointObjective,
  oneHotPm,
} from "./train/joint-objective.js";
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
export { type FeatureStages, perceptualDistance } from "./train/perceptual-loss.js";
export { drawReflowInputs, type ReflowPairs, reflowPairs } from "./train/reflow.js";
export { makeTrainStep, NO_EMA, type TrainStep, type TrainStepOptions } from "./train/step.js";
export type { CustomObjective, TrainState } from "./train/trainer.js";

// (schedulerFromConfig, diffusers' from_config, joins here: see issue 8.)

// Types that the signatures above mention.
export type { CsvOptions, CsvRecord } from "./data/csv.js";
export type { FolderOptions } from "./data/folder.js";
export type { IdxArray } from "./data/idx.js";
export type { IdxDatasetOptions } from "./data/mnist.js";
// 2-D toy data sets (FFJORD's), generated from a key.
export { checkerboard, gaussians, moons, swissroll } from "./data/points.js";
export type { TwemojiOptions } from "./data/twemoji.js";
export type { ZipcodesOptions } from "./data/zipcodes.js";
export type { ScoreWithSpread } from "./eval/classifier.js";
export type { Extracted, ExtractOptions } from "./eval/extract.js";
export { extractFeatures } from "./eval/extract.js";
export { FeatureNet, type FeatureNetConfig, type FeatureNetOutput } from "./eval/feature-net.js";
export type { NearestTwo } from "./eval/knn.js";
export type { Eigen, Square } from "./eval/linalg.js";
// Metrics on features (FID, KID, precision/recall, ...), as `diffuse eval` computes them.
export { type SampleQualityReport, sampleQuality } from "./eval/metrics.js";
// Images and files that need no file system.
export { type GridOptions, imageGrid, type RawImage, toByte } from "./io/image.js";
export type { Bounds, ScatterOptions } from "./io/plot.js";
export { scatterPlot } from "./io/plot.js";
export type { Deflate } from "./io/png-encode.js";
export { encodePngAsync, encodePngWith, PngError } from "./io/png-encode.js";
export type { ParsedSafetensors, StArrayFor, StDType, StTensor, StTensors } from "./io/safetensors.js";
export {
  parseSafetensors,
  SafetensorsError,
  type SafetensorsLayout,
  safetensorsLayout,
  serializeSafetensors,
} from "./io/safetensors.js";
export type {
  OnnxOptimizationLevel,
  OrtLike,
  OrtSessionLike,
  OrtSessionOptions,
  OrtTensorLike,
} from "./onnx/runtime.js";
export type { Aval } from "./tensor/aval.js";
export type { LoweredModel } from "./tensor/graph-to-onnx.js";
export type { Pair } from "./tensor/primitives.js";
export type { TraceGraph, TraceNode } from "./tensor/trace.js";
export type { TrainConfig } from "./train/config.js";
export type { LossKind, Weighting } from "./train/losses.js";
export type { ProgressSink } from "./train/progress.js";
export type { GradAccumulator, LossFn, MaybeEma, TrainStepResult } from "./train/step.js";
export { setWarn, type WarnFn } from "./util/warn.js";
