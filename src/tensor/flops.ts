/**
 * Floating-point operation counts of a traced computation, for benchmarks that report achieved
 * GFLOP/s against the machine's GEMM rate. Convention (as in most papers' FLOP tables, and as
 * PyTorch's FlopCounterMode counts): only the contractions count, 2 FLOPs per multiply-accumulate
 * (matmul, conv2d, convTranspose2d and convWeightGrad, the backward's weight gradient); elementwise
 * ops, reductions and layout ops are left out, so the figure measures the GEMM-shaped work the
 * engine must do at the machine's sgemm rate.
 */

import { trace } from "./compile.js";
import type { ConvParams, Primitive } from "./primitives.js";
import type { TraceNode } from "./trace.js";

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Multiply-accumulates of one node (0 for every primitive that is not a contraction). */
export function nodeMacs(node: Pick<TraceNode, "prim" | "inputs" | "params" | "output">): number {
  const out = node.output.shape;
  switch (node.prim) {
    case "matmul":
      // Every output entry is a dot product over the shared inner dimension.
      return prod(out) * node.inputs[0].shape[node.inputs[0].shape.length - 1];
    case "conv2d": {
      const w = node.inputs[1].shape; // [Co, Ci/g, kh, kw]
      return prod(out) * w[1] * w[2] * w[3];
    }
    case "convTranspose2d": {
      // Each input entry scatters into Co/g output channels over the kernel window.
      const w = node.inputs[1].shape; // [Ci, Co/g, kh, kw]
      return prod(node.inputs[0].shape) * w[1] * w[2] * w[3];
    }
    case "convWeightGrad": {
      // dW[co, ci, i, j] sums x * dy over batch and output positions: dy's entries times Ci/g kh kw.
      const p = node.params as ConvParams & { kernel: readonly [number, number] };
      const ciPerGroup = node.inputs[0].shape[1] / p.groups;
      return prod(node.inputs[1].shape) * ciPerGroup * p.kernel[0] * p.kernel[1];
    }
    default:
      return 0;
  }
}

export interface FlopCount {
  /** 2 x multiply-accumulates of all contractions. */
  readonly flops: number;
  /** The same, per primitive that contributed. */
  readonly byPrimitive: Partial<Record<Primitive, number>>;
}

/** Counts the FLOPs of `fn` at the signature of `args` by tracing it (nothing is computed). */
export function countFlops<A extends unknown[]>(fn: (...args: A) => unknown, args: A): FlopCount {
  const { graph } = trace(fn, args);
  const byPrimitive: Partial<Record<Primitive, number>> = {};
  let flops = 0;
  for (const node of graph.nodes) {
    const f = 2 * nodeMacs(node);
    if (f === 0) continue;
    byPrimitive[node.prim] = (byPrimitive[node.prim] ?? 0) + f;
    flops += f;
  }
  return { flops, byPrimitive };
}
