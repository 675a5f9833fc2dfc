/**
 * diffuse, Node.js entry: everything of the browser-safe core, with ONNX Runtime for Node registered
 * as the default runtime of `compile`.
 */
import { nodeOrt } from "./onnx/node.js";
import { setDefaultRuntime } from "./tensor/compile.js";

setDefaultRuntime(nodeOrt);

export * from "./core.js";
