export * from "./autodiff.js";
export * from "./compile.js";
export type { DType, TypedArray } from "./dtype.js";
export * from "./ops.js";
export { rand, randint, randn } from "./random.js";
export type { Shape } from "./shape.js";
export { ShapeError } from "./shape-rules.js";
export { fromArray, Tensor } from "./tensor.js";
export { flatten as flattenTree, leaves, mapTree, signature, type Tree, unflatten } from "./tree.js";
