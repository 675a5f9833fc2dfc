/**
 * Tracing: while `compile` runs a function, its tensors are symbolic (shape and dtype, no data) and every
 * primitive applied to them is appended to a TraceGraph, later lowered to ONNX. Concrete tensors that
 * meet symbolic ones become the graph's constants.
 */
import type { Primitive } from "./primitives.js";
import type { Tensor } from "./tensor.js";

export interface TraceNode {
  readonly prim: Primitive;
  readonly inputs: readonly Tensor[];
  readonly params: unknown;
  readonly output: Tensor;
}

let nextGraphId = 0;

export class TraceGraph {
  readonly id = nextGraphId++;
  readonly inputs: Tensor[] = [];
  readonly nodes: TraceNode[] = [];
}
