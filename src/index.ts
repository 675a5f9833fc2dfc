/**
 * diffuse, Node.js entry: everything of the browser-safe core (core.ts), with ONNX Runtime for Node
 * registered as the default runtime of `compile`, plus what reads and writes files.
 */
import { nodeOrt } from "./onnx/node.js";
import { setDefaultRuntime } from "./tensor/compile.js";

setDefaultRuntime(nodeOrt);

export * from "./core.js";
export * as data from "./data/index.js";
// Types that the signatures above mention.
export type {
  EvaluateOptions,
  EvaluateResult,
  MemorizationSpace,
  SamplesInput,
} from "./eval/evaluate-node.js";
export { evaluateSamples, randomImages } from "./eval/evaluate-node.js";
export type { LoadedFeatureNet } from "./eval/feature-net-node.js";
export { loadFeatureNet } from "./eval/feature-net-node.js";
export * as io from "./io/files.js";
export { decodePng, encodePng } from "./io/png.js";
export type { PretrainedModel } from "./models/pretrained-node.js";
export { loadPretrained, loadPretrainedAs, savePretrained } from "./models/pretrained-node.js";
export {
  type ClassifierExpectation,
  type LoadedClassifier,
  loadClassifierFolder,
  saveClassifierFolder,
} from "./pipelines/classifier-folder-node.js";
export { exportModelFolder, MANIFEST_FILE } from "./pipelines/export-node.js";
export {
  JOINT_PIPELINE_CLASS,
  type JointFolder,
  loadJointFolder,
  saveJointFolder,
} from "./pipelines/joint-folder-node.js";
export type { LoadedModel, LoadLimits } from "./pipelines/model-folder-node.js";
export { loadModelFolder, saveModelFolder } from "./pipelines/model-folder-node.js";
export { loadPipeline } from "./pipelines/pipeline-node.js";
export {
  type ClassifierRunConfig,
  type ClassifierRunResult,
  runClassifierTraining,
} from "./train/classifier-run-node.js";
export { type WarmStart, warmStart, warmStartFromFolder } from "./train/init-from-node.js";
export {
  generateReflowPairs,
  loadReflowPairs,
  type PairsSpec,
  type PairsTeacher,
} from "./train/reflow-pairs-node.js";
export type { RunOptions, RunResult } from "./train/run-node.js";
export { runTraining } from "./train/run-node.js";
export { type BudgetSteps, stepsForMinutes } from "./train/time-budget-node.js";
