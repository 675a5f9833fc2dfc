/** The browser-safe core of diffuse (no Node-only API). */
export * as diffusion from "./diffusion/index.js";
export { InputError, InputFileError } from "./io/input-error.js";
export * as models from "./models/index.js";
export { MLPDenoiser } from "./models/mlp-denoiser.js";
export * as nn from "./nn/index.js";
export * as random from "./random/index.js";
export * as T from "./tensor/index.js";
export { compile, grad, setDefaultRuntime, Tensor, valueAndGrad } from "./tensor/index.js";
export * as optim from "./train/optim/index.js";
export { makeTrainStep } from "./train/step.js";
