/** The neural-network layer: Module (named parameter trees with diffusers names) and layers. */
export * from "./activation.js";
export * from "./attention.js";
export { expectDim, expectFloat, expectMinRank, expectRank, fmtShape, LayerError } from "./check.js";
export * from "./conv.js";
export * from "./conv-transpose.js";
export * from "./dropout.js";
export * from "./embeddings.js";
export * from "./init.js";
export * from "./linear.js";
export * from "./module.js";
export * from "./norm.js";
export * from "./resnet.js";
export * from "./sampling.js";
