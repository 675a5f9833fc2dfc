/** The browser-safe core of diffuse (no Node-only API): tensors, autodiff, compile. */
export * as random from "./random/index.js";
export * as T from "./tensor/index.js";
export { compile, grad, setDefaultRuntime, Tensor, valueAndGrad } from "./tensor/index.js";
