/**
 * diffuse, Node.js entry: everything of the browser-safe core, with ONNX Runtime for Node registered
 * as the default runtime of `compile`.
 */
import { nodeOrt } from "./onnx/node.js";
import { setDefaultRuntime } from "./tensor/compile.js";

setDefaultRuntime(nodeOrt);

export * from "./core.js";
export * as data from "./data/index.js";
export * as io from "./io/files.js";
export { loadPretrained, savePretrained } from "./models/pretrained-node.js";
export { loadModelFolder, saveModelFolder } from "./pipelines/model-folder-node.js";
export { runTraining } from "./train/run-node.js";
