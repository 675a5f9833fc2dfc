/**
 * diffuse, Node.js entry: everything of the browser-safe core (core.ts), with ONNX Runtime for Node
 * registered as the default runtime of `compile`, plus what reads and writes files.
 */
import { nodeOrt } from "./onnx/node.js";
import { setDefaultRuntime } from "./tensor/compile.js";

setDefaultRuntime(nodeOrt);

export * from "./core.js";
export * as data from "./data/index.js";
export { evaluateSamples, randomImages } from "./eval/evaluate-node.js";
export { extractFeatures } from "./eval/extract.js";
export { loadFeatureNet } from "./eval/feature-net-node.js";
export * as io from "./io/files.js";
export { decodePng, encodePng } from "./io/png.js";
export { loadPretrained, loadPretrainedAs, savePretrained } from "./models/pretrained-node.js";
export { loadModelFolder, saveModelFolder } from "./pipelines/model-folder-node.js";
export { loadPipeline } from "./pipelines/pipeline-node.js";
export { runTraining } from "./train/run-node.js";
